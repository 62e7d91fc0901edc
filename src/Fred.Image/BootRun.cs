namespace Fred.Image;

/// <summary>What one boot printed and how it ended, whatever the emulator.</summary>
/// <param name="Output">The harness's output, parsed.</param>
/// <param name="Console">The emulator's console output (standard output and error).</param>
/// <param name="Log">The emulator's log file, if it writes one.</param>
/// <param name="TimedOut">The emulator was killed after the time limit.</param>
/// <param name="ExitCode">The emulator's exit status (-1 when it was killed).</param>
/// <param name="Seconds">Wall time of the boot.</param>
/// <param name="Shutdown">The processor shut down (a triple fault), as the emulator reports it.</param>
public sealed record BootRun(ImageOutput Output, string Console, string Log, bool TimedOut, int ExitCode, double Seconds, bool Shutdown)
{
    /// <summary>The last line of the console or log that says why the emulator stopped, for messages.</summary>
    public string Why()
    {
        var lines = (Console + "\n" + Log).Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0).ToArray();
        return lines.LastOrDefault(l => l.Contains("PANIC", StringComparison.Ordinal)
            || l.Contains("exiting", StringComparison.OrdinalIgnoreCase) || l.Contains("shutdown", StringComparison.OrdinalIgnoreCase)) ?? lines.LastOrDefault() ?? "";
    }

    /// <summary>How the emulator stopped, for messages: timed out, or its exit status and last word.</summary>
    public string Stop(string emulator) => TimedOut ? $"{emulator} timed out" : $"{emulator} exited with status {ExitCode}: {Why()}";
}

/// <summary>An emulator that boots images.</summary>
/// <param name="Adapter">The adapter's program name, which starts its log lines (<c>fred-bochs-dut</c>).</param>
/// <param name="Name">The emulator's name in messages (<c>Bochs</c>, <c>QEMU</c>).</param>
/// <param name="Boot">Boots one image and reports what it printed.</param>
public sealed record ImageEmulator(string Adapter, string Name, Func<BootImage, BootRun> Boot);
