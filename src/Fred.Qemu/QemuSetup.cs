using System.Diagnostics;
using Fred.Image;

namespace Fred.Qemu;

/// <summary>Finds QEMU and works out the CPU to ask for.</summary>
public static class QemuSetup
{
    /// <summary>The executable looked for on PATH.</summary>
    public const string DefaultBinary = "qemu-system-x86_64";

    /// <summary>Resolves the settings, failing with a message naming what is missing.</summary>
    public static QemuSettings Resolve(string? qemu, string accel, string? cpu, int timeoutMs, string? keep, Func<string, int, QemuSettings> fail)
    {
        string? binary = qemu is { Length: > 0 } ? qemu : ImageDut.FindOnPath(DefaultBinary);
        if (binary is null) return fail($"no QEMU: give --qemu PATH or set FRED_QEMU (no {DefaultBinary} on PATH either)", 2);
        if (!File.Exists(binary)) return fail($"--qemu: {binary} does not exist", 2);
        binary = Path.GetFullPath(binary);
        if (cpu is { Length: > 0 }) return new QemuSettings(binary, accel, cpu, null, timeoutMs, keep);
        if (accel == "kvm") return new QemuSettings(binary, accel, "host", null, timeoutMs, keep);
        bool knowsFred = KnowsFred(CpuHelp(binary));
        return new QemuSettings(binary, accel, knowsFred ? "max,+fred" : "max", knowsFred, timeoutMs, keep);
    }

    /// <summary>QEMU's <c>-cpu help</c> lists a CPUID flag named <c>fred</c>.</summary>
    public static bool KnowsFred(string cpuHelp) =>
        cpuHelp.Split((char[])[' ', '\t', '\n', '\r'], StringSplitOptions.RemoveEmptyEntries).Contains("fred");

    /// <summary>What <c>QEMU -cpu help</c> prints (empty when it does not answer within 10 s).</summary>
    static string CpuHelp(string binary)
    {
        var psi = new ProcessStartInfo(binary) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        psi.ArgumentList.Add("-cpu");
        psi.ArgumentList.Add("help");
        using var p = Process.Start(psi);
        if (p is null) return "";
        p.StandardInput.Close();
        var text = p.StandardOutput.ReadToEndAsync();
        _ = p.StandardError.ReadToEndAsync();
        if (p.WaitForExit(10_000)) return text.Result;
        try { p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
        return "";
    }
}
