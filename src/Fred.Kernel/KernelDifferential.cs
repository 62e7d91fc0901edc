using System.Diagnostics;
using Fred.Reference;

namespace Fred.Kernel;

/// <summary>What the compiled C did for one input: fate, trace, and the pt_regs fields dispatch may change.</summary>
public sealed record CResult(string Fate, IReadOnlyList<KernelCall> Trace, ulong OrigAx, ulong Ip, ulong Ax, int Type, int Vector)
{
    /// <summary>The trace in the reference's notation (functions of the file itself with "*" for their arguments).</summary>
    public string TraceText => string.Join(" -> ", Trace);
}

/// <summary>One disagreement between the compiled dispatch and the reference.</summary>
public sealed record KernelDisagreement(DispatchInput Input, string Aspect, string Reference, string Kernel, DispatchResult ReferenceResult, CResult KernelResult)
{
    /// <summary>The class the disagreement belongs to: what differs, and at which call.</summary>
    public string Class => Aspect;
}

/// <summary>The result of comparing one dispatch file with one profile over the grid.</summary>
public sealed record KernelReport(Profile Profile, long Compared, IReadOnlyList<(string Class, long Count, KernelDisagreement Smallest)> Classes,
    IReadOnlyList<string> Errors, IReadOnlyList<string> Skipped)
{
    /// <summary>No disagreement and no error.</summary>
    public bool Agreed => Classes.Count == 0 && Errors.Count == 0;
}

/// <summary>
/// Runs a kernel's dispatch file, compiled against the stub kernel, over the grid and compares every input with the
/// reference profile (FRED-KDIFF-04): the same calls in the same order (services with their arguments, the file's own
/// functions by name), the same fate, and the same orig_ax, ip, ax, type and vector after dispatch.
/// </summary>
public static partial class KernelDifferential
{
    /// <summary>Compares; configurations default to every one the reference knows.</summary>
    public static KernelReport Run(KernelSource source, Profile profile, IEnumerable<KernelConfig>? configs = null, Declarations? declarations = null,
        string? workDir = null, TimeSpan? timeoutPerConfig = null)
    {
        var errors = new List<string>();
        string? cc = KernelBuild.FindCompiler();
        if (cc is null) return new(profile, 0, [], ["no C compiler: install gcc (or set CC) to compile the dispatch file"], []);
        var all = (configs ?? KernelConfig.All()).ToList();
        string root = workDir ?? Path.Combine(Path.GetTempPath(), "fred-kernel-" + Environment.ProcessId + "-" + Guid.NewGuid().ToString("N")[..8]);
        var classes = new Dictionary<string, (long Count, KernelDisagreement Smallest)>();
        long compared = 0;
        var groups = all.GroupBy(KernelBuild.CompileTimePart).ToList();
        var builds = new (KernelProgram? Program, string? Error)[groups.Count];
        Parallel.For(0, groups.Count, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, i =>
            builds[i] = KernelBuild.Build(source, groups[i].Key, Path.Combine(root, $"config{i}"), cc, declarations));
        var sync = new object();
        var skipped = new List<string>();
        // A configuration the file cannot be built for (mainline's table names POSTED_MSI_NOTIFICATION_VECTOR, so it
        // needs FIRST_SYSTEM_VECTOR 0xEB) is skipped with its reason when another one builds; when none builds, it is an error.
        bool anyBuilt = builds.Any(b => b.Program is not null);
        Parallel.For(0, groups.Count, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, i =>
        {
            var (program, error) = builds[i];
            if (program is null)
            {
                lock (sync)
                    if (anyBuilt && !error!.Contains("which the stub kernel lacks", StringComparison.Ordinal))
                        skipped.Add($"{groups[i].Key}: {FirstErrorLine(error).Replace(root, "", StringComparison.Ordinal)}");
                    else if (!errors.Contains(error!)) errors.Add(error!);
                return;
            }
            foreach (var config in groups[i])
            {
                var inputs = KernelGrid.For(config).ToList();
                var (results, runError) = Execute(program, inputs, timeoutPerConfig ?? TimeSpan.FromMinutes(2));
                if (results is null) { lock (sync) errors.Add($"{config}: {runError}"); continue; }
                var local = new List<KernelDisagreement>();
                for (int k = 0; k < inputs.Count; k++)
                    if (Compare(profile, inputs[k], results[k]) is { } d) local.Add(d);
                lock (sync)
                {
                    compared += inputs.Count;
                    foreach (var d in local)
                    {
                        if (classes.TryGetValue(d.Class, out var c))
                            classes[d.Class] = (c.Count + 1, Smaller(d, c.Smallest));
                        else classes[d.Class] = (1, d);
                    }
                }
            }
        });
        if (workDir is null) try { Directory.Delete(root, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        return new(profile, compared, classes.OrderByDescending(c => c.Value.Count).ThenBy(c => c.Key, StringComparer.Ordinal)
            .Select(c => (c.Key, c.Value.Count, c.Value.Smallest)).ToList(), errors, skipped.Order(StringComparer.Ordinal).ToList());
    }

    static string FirstErrorLine(string error)
    {
        string head = error.Split('\n')[0];
        int at = head.IndexOf("): ", StringComparison.Ordinal);
        return at >= 0 ? head[(at + 3)..] : head;
    }

    /// <summary>Of two disagreements of a class, the one with the simpler input (the shrunk example the report shows).</summary>
    static KernelDisagreement Smaller(KernelDisagreement a, KernelDisagreement b) => Weight(a.Input).CompareTo(Weight(b.Input)) <= 0 ? a : b;

    static (int, int, int, int, int, int) Weight(DispatchInput i) =>
        (ConfigWeight(i.Config), i.User ? 0 : 1, i.StackLevel, i.Type, i.Vector, i.L ? 0 : 1);

    static int ConfigWeight(KernelConfig c)
    {
        var d = KernelConfig.Default;
        return (c.Ia32Emulation != d.Ia32Emulation ? 1 : 0) + (c.Ia32Enabled != d.Ia32Enabled ? 1 : 0) + (c.MachineCheck != d.MachineCheck ? 1 : 0) +
               (c.Cet != d.Cet ? 1 : 0) + (c.TdxGuest != d.TdxGuest ? 1 : 0) + (c.FirstSystemVector != d.FirstSystemVector ? 1 : 0) +
               (c.DieNotifierStops != d.DieNotifierStops ? 1 : 0);
    }

    /// <summary>The first difference between the reference and the C for one input, or null.</summary>
    public static KernelDisagreement? Compare(Profile profile, DispatchInput input, CResult c)
    {
        var r = Dispatcher.Dispatch(profile, input.Regs, input.User, input.Config);
        int n = Math.Min(r.Trace.Length, c.Trace.Count);
        for (int k = 0; k < n; k++)
        {
            var (a, b) = (r.Trace[k], c.Trace[k]);
            bool sameName = a.Function == b.Function;
            bool sameArgs = b.Arguments == "*" || a.Arguments == b.Arguments;
            if (!sameName || !sameArgs)
                return new(input, sameName ? $"{a.Function}: different arguments" : $"reference calls {a.Function}, C calls {b.Function}",
                    $"call {k + 1}: {a}", $"call {k + 1}: {b}", r, c);
        }
        if (r.Trace.Length != c.Trace.Count)
        {
            string extra = r.Trace.Length > n ? $"reference goes on with {r.Trace[n].Function}" : $"C goes on with {c.Trace[n].Function}";
            return new(input, $"trace length after {(n == 0 ? "nothing" : r.Trace[n - 1].Function)}: {extra}", r.TraceText, c.TraceText, r, c);
        }
        if (r.Fate.ToString() != c.Fate) return new(input, $"fate {r.Fate} vs {c.Fate}", r.Fate.ToString(), c.Fate, r, c);
        foreach (var (name, exp, got) in new (string, ulong, ulong)[]
                 {
                     ("orig_ax", r.Regs.OrigAx, c.OrigAx), ("ip", r.Regs.Ip, c.Ip), ("ax", r.Regs.Ax, c.Ax),
                     ("type", (ulong)r.Regs.Type, (ulong)c.Type), ("vector", r.Regs.Vector, (ulong)c.Vector),
                 })
            if (r.Fate is not (Fate.Oops or Fate.Panic) && exp != got)
                return new(input, $"pt_regs {name} after dispatch", $"0x{exp:x}", $"0x{got:x}", r, c);
        return null;
    }

    /// <summary>Runs the program over the inputs in a child process; a crash or hang is an error, not a crash of Fred.</summary>
    public static (IReadOnlyList<CResult>? Results, string? Error) Execute(KernelProgram program, IReadOnlyList<DispatchInput> inputs, TimeSpan timeout)
    {
        var psi = new ProcessStartInfo(program.Executable) { ArgumentList = { ((int)Math.Max(1, timeout.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture) }, RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        using var p = Process.Start(psi)!;
        var writer = Task.Run(() =>
        {
            try
            {
                foreach (var i in inputs) p.StandardInput.WriteLine(i.ToDriverLine());
                p.StandardInput.Close();
            }
            catch (IOException) { }                                       // the child died: its exit says why
        });
        var stderr = p.StandardError.ReadToEndAsync();
        var results = new List<CResult>(inputs.Count);
        string? marker = null;
        var traces = new Dictionary<string, IReadOnlyList<KernelCall>?>(StringComparer.Ordinal);   // traces repeat: read each once
        var read = Task.Run(() =>
        {
            string? line;
            while ((line = p.StandardOutput.ReadLine()) is not null)
            {
                if (line.StartsWith('!')) { marker = line; continue; }
                results.Add(Parse(line, program.Functions, traces) ?? throw new FormatException(line));
            }
        });
        try
        {
            if (!read.Wait(timeout + TimeSpan.FromSeconds(inputs.Count / 5000.0 + 10))) { try { p.Kill(true); } catch (InvalidOperationException) { } return (null, $"the compiled dispatch hung (no answer within {timeout.TotalSeconds:F0} s)"); }
        }
        catch (AggregateException ex) when (ex.InnerException is FormatException fe)
        {
            try { p.Kill(true); } catch (InvalidOperationException) { }
            return (null, $"the compiled dispatch printed a line Fred cannot read: {Short(fe.Message)}");
        }
        p.WaitForExit();
        if (marker is not null && SignalMarker().Match(marker) is { Success: true } m && int.TryParse(m.Groups[2].Value, out int where) && where >= 0 && where < inputs.Count)
        {
            int sig = int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            string what = sig == 14 ? $"hung (no answer within {timeout.TotalSeconds:F0} s)" : $"was killed by signal {sig}";
            return (null, $"the compiled dispatch {what} at input {where + 1} of {inputs.Count}: {inputs[where]}");
        }
        if (marker is not null) return (null, $"the compiled dispatch said: {Short(marker)}");
        if (results.Count < inputs.Count)
        {
            string why = p.ExitCode < 0 || p.ExitCode > 128 ? $"it was killed by signal {(p.ExitCode > 128 ? p.ExitCode - 128 : -p.ExitCode)}" : $"it exited with {p.ExitCode}";
            var at = inputs[results.Count];
            return (null, $"the compiled dispatch stopped after {results.Count} of {inputs.Count} inputs ({why}) at input: {at}{(stderr.Result.Length > 0 ? "; stderr: " + Short(stderr.Result) : "")}");
        }
        return (results, null);
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^!signal (\d+) at input (-?\d+)$")]
    private static partial System.Text.RegularExpressions.Regex SignalMarker();

    static string Short(string s) => s.Length <= 300 ? s.Trim() : s[..300] + "...";

    /// <summary>Reads one driver line: fate|trace|orig_ax ip ax type vector.</summary>
    public static CResult? Parse(string line, IReadOnlyDictionary<ulong, string> functions, Dictionary<string, IReadOnlyList<KernelCall>?>? cache = null)
    {
        var parts = line.Split('|');
        if (parts.Length != 3) return null;
        IReadOnlyList<KernelCall>? calls;
        if (cache is null || !cache.TryGetValue(parts[1], out calls))
        {
            calls = ParseTrace(parts[1], functions);
            cache?.Add(parts[1], calls);
        }
        if (calls is null) return null;
        var regs = parts[2].Split(' ');
        if (regs.Length != 5) return null;
        static bool H(string s, out ulong v) => ulong.TryParse(s, System.Globalization.NumberStyles.HexNumber, null, out v);
        if (!H(regs[0], out ulong origAx) || !H(regs[1], out ulong ip) || !H(regs[2], out ulong ax) || !H(regs[3], out ulong type) || !H(regs[4], out ulong vector))
            return null;
        return new(parts[0], calls, origAx, ip, ax, (int)type, (int)vector);
    }

    static IReadOnlyList<KernelCall>? ParseTrace(string trace, IReadOnlyDictionary<ulong, string> functions)
    {
        var calls = new List<KernelCall>();
        if (trace.Length == 0) return calls;
        foreach (var call in SplitCalls(trace))
        {
            int open = call.IndexOf('(');
            if (open <= 0 || !call.EndsWith(')')) return null;
            string name = call[..open], args = call[(open + 1)..^1];
            if (name.StartsWith('@'))
                name = ulong.TryParse(name[1..], System.Globalization.NumberStyles.HexNumber, null, out ulong a) && functions.TryGetValue(a, out var f) ? f : name;
            calls.Add(new(name, args));
        }
        return calls;
    }

    /// <summary>Splits "a(x) -> b(\"s -> t\")" at the arrows outside string literals.</summary>
    static IEnumerable<string> SplitCalls(string trace)
    {
        int start = 0; bool inString = false;
        for (int i = 0; i < trace.Length; i++)
        {
            char ch = trace[i];
            if (inString) { if (ch == '\\') i++; else if (ch == '"') inString = false; continue; }
            if (ch == '"') inString = true;
            else if (ch == ' ' && string.CompareOrdinal(trace, i, " -> ", 0, 4) == 0) { yield return trace[start..i]; start = i + 4; i += 3; }
        }
        yield return trace[start..];
    }
}
