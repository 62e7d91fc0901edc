using System.Diagnostics;
using System.Text.RegularExpressions;
using Fred.Reference;

namespace Fred.Kernel;

/// <summary>One compiled dispatch: the program for a compile-time configuration and its function names by address.</summary>
public sealed record KernelProgram(string Executable, IReadOnlyDictionary<ulong, string> Functions);

/// <summary>
/// Compiles the dispatch file against the stub kernel with the system C compiler (FRED-KDIFF-02): the file with
/// -finstrument-functions (so its own functions appear in the trace), the recording runtime without, -no-pie so
/// addresses are stable, and `nm` to name them.
/// </summary>
public static partial class KernelBuild
{
    /// <summary>The compile-time part of a configuration (the rest, ia32_enabled() and the die notifier, is input).</summary>
    public static KernelConfig CompileTimePart(KernelConfig c) => c with { Ia32Enabled = c.Ia32Emulation, DieNotifierStops = false };

    /// <summary>The C compiler: $CC, else cc, else gcc, or null.</summary>
    public static string? FindCompiler()
    {
        string? env = Environment.GetEnvironmentVariable("CC");
        foreach (var name in new[] { env, "cc", "gcc" })
            if (!string.IsNullOrWhiteSpace(name) && Which(name) is { } p) return p;
        return null;
    }

    static string? Which(string name)
    {
        if (name.Contains('/')) return File.Exists(name) ? name : null;
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            string p = System.IO.Path.Combine(dir, name);
            if (File.Exists(p)) return p;
        }
        return null;
    }

    /// <summary>Builds the program for one configuration in <paramref name="dir"/>; an error says what failed.</summary>
    public static (KernelProgram? Program, string? Error) Build(KernelSource source, KernelConfig config, string dir, string compiler, Declarations? declarations = null)
    {
        Directory.CreateDirectory(dir);
        var inc = System.IO.Path.Combine(dir, "include");
        Directory.CreateDirectory(inc);
        foreach (Match m in IncludeLine().Matches(source.Text))
        {
            string header = System.IO.Path.Combine(inc, m.Groups[1].Value);
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(header)!);
            if (!File.Exists(header)) File.WriteAllText(header, "/* empty: the stub kernel declares everything in fred_stub_kernel.h */\n");
        }
        declarations ??= Declarations.None;
        File.WriteAllText(System.IO.Path.Combine(inc, "fred_stub_kernel.h"), StubKernel.Header(config, declarations.HeaderText));
        string file = System.IO.Path.Combine(dir, "entry_fred.c");
        File.WriteAllText(file, source.Text);
        string runtime = System.IO.Path.Combine(dir, "fred_stub_runtime.c");
        File.WriteAllText(runtime, StubKernel.Runtime(config) + declarations.RuntimeText);
        string exe = System.IO.Path.Combine(dir, "dispatch");
        var (code, output) = Run(compiler, ["-std=gnu11", "-O0", "-g0", "-w", "-no-pie", "-fno-pie", "-I", inc, "-include", "fred_stub_kernel.h",
            "-c", "-finstrument-functions", "-o", System.IO.Path.Combine(dir, "entry_fred.o"), file]);
        // Compiler messages name the user's file and the stub header, not Fred's scratch directory.
        output = output.Replace(file, source.Path, StringComparison.Ordinal).Replace(inc + "/", "stub-kernel/", StringComparison.Ordinal);
        if (code != 0)
        {
            var undeclared = Implicit().Matches(output).Select(m => m.Groups[1].Value).Distinct().ToList();
            if (undeclared.Count > 0) return (null, MissingMessage(source, undeclared));
            string first = output.Split('\n').FirstOrDefault(l => l.Contains("error:", StringComparison.Ordinal))?.Trim() ?? "";
            return (null, $"{source.Path}: does not compile against the stub kernel ({config}): {first}\n{Tail(output)}");
        }
        (code, output) = Run(compiler, ["-std=gnu2x", "-O1", "-w", "-no-pie", "-fno-pie", "-I", inc, "-o", exe, runtime, System.IO.Path.Combine(dir, "entry_fred.o")]);
        if (code != 0)
        {
            var missing = Undefined().Matches(output).Select(m => m.Groups[1].Value).Distinct().ToList();
            if (missing.Count > 0)
                return (null, MissingMessage(source, missing));
            return (null, $"{source.Path}: linking against the stub kernel failed:\n{Tail(output)}");
        }
        (code, output) = Run("nm", ["--defined-only", exe]);
        if (code != 0) return (null, $"nm failed on {exe}: {Tail(output)}");
        var names = new Dictionary<ulong, string>();
        foreach (var line in output.Split('\n'))
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 3 && parts[1] is "t" or "T" && ulong.TryParse(parts[0], System.Globalization.NumberStyles.HexNumber, null, out ulong a))
                names.TryAdd(a, parts[2]);
        }
        return (new KernelProgram(exe, names), null);
    }

    static string MissingMessage(KernelSource source, IReadOnlyList<string> missing) =>
        $"{source.Path}: calls {string.Join(", ", missing)}, which the stub kernel lacks. Declare each in a declarations file " +
        "and pass it with --declarations FILE, one C prototype a line, e.g. `void " + missing[0] + "(struct pt_regs *regs);` " +
        "(the stub records the call as name(regs) and returns 0)";

    static string Tail(string s)
    {
        var lines = s.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        return string.Join('\n', lines.TakeLast(12));
    }

    static (int Code, string Output) Run(string program, IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        try
        {
            using var p = Process.Start(psi)!;
            var err = p.StandardError.ReadToEndAsync();
            string o = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            return (p.ExitCode, o + err.Result);
        }
        catch (System.ComponentModel.Win32Exception ex) { return (127, $"cannot run {program}: {ex.Message}"); }
    }

    [GeneratedRegex(@"^\s*#\s*include\s*[<""]([^>""]+)[>""]", RegexOptions.Multiline)]
    private static partial Regex IncludeLine();

    [GeneratedRegex(@"implicit declaration of function [‘'`]([A-Za-z_0-9]+)[’'`]")]
    private static partial Regex Implicit();

    [GeneratedRegex(@"undefined reference to [`‘']([^'’]+)['’]")]
    private static partial Regex Undefined();
}
