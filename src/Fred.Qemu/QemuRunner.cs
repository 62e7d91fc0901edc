using System.Diagnostics;
using System.Text;
using Fred.Image;

namespace Fred.Qemu;

/// <summary>How to start QEMU.</summary>
/// <param name="Binary">The qemu-system-x86_64 executable.</param>
/// <param name="Accel">The accelerator: <c>tcg</c> (QEMU's own CPU) or <c>kvm</c> (the host's, through KVM).</param>
/// <param name="Cpu">The <c>-cpu</c> value: <c>max</c> (with <c>+fred</c> when QEMU knows the flag) under TCG, <c>host</c> under KVM, or the user's.</param>
/// <param name="KnowsFred">QEMU lists a <c>fred</c> CPU flag in <c>-cpu help</c>; null when not asked (the user named the CPU).</param>
/// <param name="TimeoutMs">Wall-clock limit for one boot.</param>
/// <param name="KeepDir">Keep each boot's image, command line and console output here.</param>
public sealed record QemuSettings(string Binary, string Accel, string Cpu, bool? KnowsFred, int TimeoutMs, string? KeepDir)
{
    /// <summary>The emulated processor, for messages.</summary>
    public string Processor => Accel == "kvm" ? $"-cpu {Cpu} under KVM" : $"cpu model {Cpu} under TCG";

    /// <summary>What to do when the processor has no FRED, for messages.</summary>
    public string Advice => (Accel, KnowsFred) switch
    {
        ("kvm", _) => "KVM gives this guest no FRED: it needs a processor with FRED and a kernel whose KVM virtualizes it",
        (_, false) => "this QEMU knows no \"fred\" CPU flag; use one that does, or --accel kvm on a host with FRED",
        (_, true) => "this QEMU knows the \"fred\" flag but its TCG does not provide FRED; try --accel kvm on a host with FRED",
        _ => "name a CPU model with FRED (--cpu), or use --accel kvm on a host with FRED",
    };
}

/// <summary>
/// Boots an image in QEMU, headless, with port 0xE9 as its debug console (spec/image-format.md, FRED-IMG-06). QEMU
/// ignores the image's shutdown port, so a boot ends when the harness prints its last line; with <c>-no-reboot</c> a
/// triple fault makes QEMU exit, which is how a shutdown is seen.
/// </summary>
public static class QemuRunner
{
    /// <summary>Guest memory: the image's 64 MiB and as much again, so that the BIOS's tables at the top of memory lie above the case data.</summary>
    public const int GuestMegabytes = 2 * Layout.GuestMegabytes;

    /// <summary>QEMU's arguments for an image.</summary>
    public static IReadOnlyList<string> Arguments(QemuSettings q, string imagePath) =>
    [
        "-machine", "pc", "-accel", q.Accel, "-cpu", q.Cpu, "-m", $"{GuestMegabytes}",
        "-drive", $"file={imagePath.Replace(",", ",,")},format=raw,if=ide",
        "-debugcon", "stdio", "-global", $"isa-debugcon.iobase=0x{Layout.DebugPort:x}",
        "-display", "none", "-nodefaults", "-serial", "none", "-no-reboot",
    ];

    /// <summary>The adapter's emulator: boots with these settings.</summary>
    public static ImageEmulator Emulator(QemuSettings q) => new("fred-qemu-dut", "QEMU", image => Boot(q, image));

    /// <summary>Boots the image once.</summary>
    public static BootRun Boot(QemuSettings q, BootImage image)
    {
        string dir = ImageDut.BootDirectory(q.KeepDir, "fred-qemu-");
        try
        {
            string img = Path.Combine(dir, "fred.img");
            File.WriteAllBytes(img, image.Bytes);
            var args = Arguments(q, img);
            if (q.KeepDir is not null) File.WriteAllText(Path.Combine(dir, "command.txt"), string.Join(' ', [q.Binary, .. args]) + "\n");
            var psi = new ProcessStartInfo(q.Binary)
            {
                RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true,
                UseShellExecute = false, WorkingDirectory = dir,
            };
            foreach (var a in args) psi.ArgumentList.Add(a);
            var sw = Stopwatch.StartNew();
            using var p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {q.Binary}");
            p.StandardInput.Close();
            var stdout = new StringBuilder();
            var stderr = new StringBuilder();
            var last = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var outTask = Task.Run(() => PumpLines(p.StandardOutput, stdout, last));
            var errTask = Task.Run(() => ImageDut.Pump(p.StandardError, stderr));
            var exit = p.WaitForExitAsync();
            Task.WhenAny(last.Task, exit, Task.Delay(q.TimeoutMs)).Wait();
            bool killed = !exit.IsCompleted, timedOut = killed && !last.Task.IsCompleted;
            if (killed) { try { p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { } p.WaitForExit(); }
            Task.WaitAll([outTask, errTask], 5000);
            string console = stdout.ToString();
            if (q.KeepDir is not null) File.WriteAllText(Path.Combine(dir, "console.txt"), console + stderr);
            var output = ImageOutput.Parse(console);
            int code = killed ? -1 : p.ExitCode;
            return new BootRun(output, console + stderr, "", timedOut, code, sw.Elapsed.TotalSeconds, Shutdown(output, killed, code, last.Task.IsCompleted));
        }
        finally
        {
            ImageDut.Discard(q.KeepDir, dir);
        }
    }

    /// <summary>
    /// The processor shut down: QEMU exited by itself with status 0 before the harness's last line, which under
    /// <c>-no-reboot</c> is how it ends a guest reset (a triple fault); or the image says RESET.
    /// </summary>
    public static bool Shutdown(ImageOutput output, bool killed, int exitCode, bool sawLastLine) =>
        output.Reset || (!killed && exitCode == 0 && !sawLastLine);

    static void PumpLines(StreamReader r, StringBuilder sb, TaskCompletionSource last)
    {
        while (r.ReadLine() is { } line)
        {
            lock (sb) sb.Append(line).Append('\n');
            if (ImageOutput.IsLast(line)) last.TrySetResult();
        }
    }
}
