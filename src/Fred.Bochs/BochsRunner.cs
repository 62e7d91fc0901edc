using System.Diagnostics;
using System.Text;
using Fred.Image;

namespace Fred.Bochs;

/// <summary>How to start Bochs.</summary>
/// <param name="Binary">The bochs executable.</param>
/// <param name="Bios">The system BIOS image (romimage).</param>
/// <param name="VgaBios">The VGA BIOS image.</param>
/// <param name="CpuModel">A <c>cpu: model=</c> value, or null for Bochs's default CPU.</param>
/// <param name="Display">The display library: <c>nogui</c>, or <c>term</c> for builds without nogui.</param>
/// <param name="DebuggerRc">Pass <c>-rc</c> with a file that says <c>c</c> (builds with the internal debugger stop at start).</param>
/// <param name="TimeoutMs">Wall-clock limit for one boot.</param>
/// <param name="KeepDir">Keep each boot's image, bochsrc, console output and log here.</param>
public sealed record BochsSettings(string Binary, string Bios, string VgaBios, string? CpuModel, string Display, bool DebuggerRc, int TimeoutMs, string? KeepDir);

/// <summary>Boots an image in Bochs, headless, and collects what the harness printed on port 0xE9.</summary>
public static class BochsRunner
{
    /// <summary>The bochsrc for an image (spec/image-format.md, "Booting an image").</summary>
    public static string Config(BochsSettings b, string imagePath, int cylinders, string logPath) => string.Join("\n",
        $"megs: {Layout.GuestMegabytes}",
        $"romimage: file=\"{b.Bios}\"",
        $"vgaromimage: file=\"{b.VgaBios}\"",
        b.CpuModel is null ? "cpu: reset_on_triple_fault=1" : $"cpu: model={b.CpuModel}, reset_on_triple_fault=1",
        "ata0: enabled=1, ioaddr1=0x1f0, ioaddr2=0x3f0, irq=14",
        $"ata0-master: type=disk, path=\"{imagePath}\", mode=flat, cylinders={cylinders}, heads={Layout.Heads}, spt={Layout.SectorsPerTrack}",
        "boot: disk",
        $"display_library: {b.Display}",
        "port_e9_hack: enabled=1",
        $"log: \"{logPath}\"",
        "panic: action=fatal",
        "error: action=report",
        "info: action=report",
        "debug: action=ignore",
        "clock: sync=none",
        "") ;

    /// <summary>Boots the image once.</summary>
    public static BootRun Boot(BochsSettings b, BootImage image)
    {
        string dir = ImageDut.BootDirectory(b.KeepDir, "fred-bochs-");
        try
        {
            string img = Path.Combine(dir, "fred.img"), rc = Path.Combine(dir, "bochsrc"), log = Path.Combine(dir, "bochs.log");
            File.WriteAllBytes(img, image.Bytes);
            File.WriteAllText(rc, Config(b, img, image.Cylinders, log));
            var psi = new ProcessStartInfo(b.Binary)
            {
                RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true,
                UseShellExecute = false, WorkingDirectory = dir,
            };
            if (b.Display == "term") psi.Environment["TERM"] = "dumb";   // the term display needs a terminal type, not a terminal
            psi.ArgumentList.Add("-q");
            psi.ArgumentList.Add("-f");
            psi.ArgumentList.Add(rc);
            if (b.DebuggerRc)
            {
                string cont = Path.Combine(dir, "continue.rc");
                File.WriteAllText(cont, "c\n");
                psi.ArgumentList.Add("-rc");
                psi.ArgumentList.Add(cont);
            }
            var sw = Stopwatch.StartNew();
            using var p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {b.Binary}");
            p.StandardInput.Close();
            var stdout = new StringBuilder();
            var stderr = new StringBuilder();
            var outTask = Task.Run(() => ImageDut.Pump(p.StandardOutput, stdout));
            var errTask = Task.Run(() => ImageDut.Pump(p.StandardError, stderr));
            bool timedOut = !p.WaitForExit(b.TimeoutMs);
            if (timedOut) { try { p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { } p.WaitForExit(); }
            Task.WaitAll([outTask, errTask], 5000);
            string console = stdout.ToString();
            string logText = File.Exists(log) ? File.ReadAllText(log) : "";
            if (b.KeepDir is not null) File.WriteAllText(Path.Combine(dir, "console.txt"), console + stderr);
            var output = ImageOutput.Parse(console);
            return new BootRun(output, console + stderr, logText, timedOut, timedOut ? -1 : p.ExitCode, sw.Elapsed.TotalSeconds, Shutdown(output, logText));
        }
        finally
        {
            ImageDut.Discard(b.KeepDir, dir);
        }
    }

    /// <summary>The adapter's emulator: boots with these settings.</summary>
    public static ImageEmulator Emulator(BochsSettings b) => new("fred-bochs-dut", "Bochs", image => Boot(b, image));

    /// <summary>Bochs's log, or the image's RESET line, says that the processor shut down (a triple fault).</summary>
    static bool Shutdown(ImageOutput output, string log) => output.Reset || log.Contains("triple fault", StringComparison.OrdinalIgnoreCase)
        || log.Contains("3rd (", StringComparison.Ordinal) || log.Contains("shutdown state", StringComparison.OrdinalIgnoreCase);
}
