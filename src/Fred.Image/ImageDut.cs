using System.Collections.Concurrent;
using System.CommandLine;
using System.Text;
using Fred.Dut;
using Fred.Model;

namespace Fred.Image;

/// <summary>The options every image adapter takes (spec/image-format.md, FRED-IMG-05).</summary>
/// <param name="BootTimeoutMs">Wall-clock limit for one boot.</param>
/// <param name="MaxBatch">Most cases in one image.</param>
/// <param name="IdleMs">Gather cases until none arrives for this long, then boot.</param>
/// <param name="Keep">Keep every boot's files under this directory.</param>
/// <param name="Probe">Only boot an empty image and say whether the processor has FRED.</param>
public sealed record AdapterOptions(int BootTimeoutMs = 300_000, int MaxBatch = 2000, int IdleMs = 30, string? Keep = null, bool Probe = false);

/// <summary>The command line every image adapter shares: the options of <see cref="AdapterOptions"/> and the exit statuses.</summary>
public sealed class AdapterCommandLine
{
    /// <summary>The exit statuses of an image adapter.</summary>
    public const string ExitStatus = """
        0  the protocol ended (bye or end of input); with --probe, the processor has FRED
        2  bad usage, the emulator or the image did not run, or a protocol line it cannot use
        3  the processor has no FRED (before the hello, or with --probe)
        """;

    readonly Option<int> bootTimeoutMs = CommandLines.Int("--boot-timeout-ms", "wall-clock limit for one boot", 300_000, 1000);
    readonly Option<int> maxBatch = CommandLines.Int("--max-batch", "most cases in one image", 2000, 1);
    readonly Option<int> idleMs = CommandLines.Int("--idle-ms", "gather cases until none arrives for this long, then boot", 30, 0);
    readonly Option<string?> keep = CommandLines.Text("--keep", "DIR", "keep every boot's files (image, command, console output, log) under DIR");
    readonly Option<bool> probe = CommandLines.Flag("--probe", "boot an image with no case and say whether the processor has FRED (exit 0 yes, 3 no, 2 error)");

    /// <summary>Adds the shared options to an adapter's command.</summary>
    public void AddTo(Command command)
    {
        foreach (var o in new Option[] { bootTimeoutMs, maxBatch, idleMs, keep, probe }) command.Options.Add(o);
    }

    /// <summary>The shared options as parsed.</summary>
    public AdapterOptions Read(ParseResult p) => new(p.GetValue(bootTimeoutMs), p.GetValue(maxBatch), p.GetValue(idleMs), p.GetValue(keep), p.GetValue(probe));
}

/// <summary>
/// What every image adapter does around its emulator: parse the common options, boot an empty image before the
/// hello (the FRED probe), then speak the DUT protocol, one boot per batch.
/// </summary>
public static class ImageDut
{
    /// <summary>The verdict of a boot with no case: status 0 (FRED present), 3 (no FRED) or 2 (the image did not run), and why.</summary>
    /// <param name="first">The boot.</param>
    /// <param name="emulator">The emulator.</param>
    /// <param name="binary">The emulator's executable, for messages.</param>
    /// <param name="processor">The processor it emulated, for messages (<c>cpu model max under TCG</c>).</param>
    /// <param name="advice">What to do about a missing FRED.</param>
    /// <param name="timeoutMs">The boot's time limit, for messages.</param>
    public static (int Status, string Message) FirstBoot(BootRun first, ImageEmulator emulator, string binary, string processor, string advice, int timeoutMs)
    {
        var o = first.Output;
        string name = emulator.Name;
        if (!o.Started) return (2, $"{name} did not run the image (exit {first.ExitCode}{(first.TimedOut ? ", timed out" : "")}): {first.Why()}");
        if (o.NoFred) return (3, $"this {name} has no FRED: CPUID.(EAX=7,ECX=1):EAX[17] is 0 for {processor} ({binary}); {advice}");
        if (!o.Finished)
            return (2, $"the empty image did not finish ({(first.TimedOut ? $"{name} timed out after {timeoutMs} ms" : $"{name} exited with status {first.ExitCode}")}): {first.Why()}");
        return (0, $"FRED present: {binary} ({processor}); an empty image booted in {first.Seconds:0.00} s");
    }

    /// <summary>
    /// The adapter's life after its options: the FRED probe, then (unless <see cref="AdapterOptions.Probe"/>) the hello
    /// and one boot per batch until bye. Returns the exit status; errors go to standard error under the adapter's name.
    /// </summary>
    public static int Run(ImageEmulator emulator, AdapterOptions options, DutHello hello, string binary, string processor, string advice)
    {
        var (status, message) = FirstBoot(emulator.Boot(ImageBuilder.Build([])), emulator, binary, processor, advice, options.BootTimeoutMs);
        if (options.Probe && status is 0 or 3)
        {
            Console.WriteLine(status == 3 ? $"no FRED: {message}" : message);
            return status;
        }
        if (status != 0) return Fail(emulator, message, status);

        var stdout = new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false), 1 << 16) { AutoFlush = false };
        stdout.WriteLine(Wire.Hello(hello));
        stdout.Flush();
        var lines = StartReader();
        int lineNo = 0;
        bool bye = false;
        while (!bye)
        {
            var batch = new List<DutCase>();
            string? line = lines.Take();
            while (true)
            {
                if (line is null) { bye = true; break; }
                lineNo++;
                if (line.Length > 0)
                {
                    Message m;
                    try { m = Wire.Decode(line); }
                    catch (WireException ex) { return Fail(emulator, $"input line {lineNo}: {ex.Message}", 2); }
                    if (m is ByeMessage) { bye = true; break; }
                    if (m is CaseMessage { Case: var c }) batch.Add(c);
                    else if (m is not HelloMessage) return Fail(emulator, $"input line {lineNo}: a DUT does not accept \"{m.GetType().Name}\" messages", 2);
                }
                if (batch.Count >= options.MaxBatch || !lines.TryTake(out line, options.IdleMs)) break;
            }
            if (batch.Count == 0) continue;
            foreach (var (c, r) in BatchRunner.Run(emulator, batch, Console.Error))
            {
                stdout.WriteLine(Wire.Result(r, c.Initial));
                stdout.Flush();
            }
        }
        return 0;
    }

    /// <summary>The hello of an image adapter: revision fred5, compatibility mode, and real events only.</summary>
    public static DutHello Hello(string name) => new(name, ProtocolVersion.Current, [Revision.Fred5], [DutFeatures.Compat, DutFeatures.RealEvents]);

    /// <summary>The first file named <paramref name="name"/> in the directories of PATH, or null.</summary>
    public static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator).Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);

    /// <summary>A directory for one boot's files: a fresh temporary one, or a new one under <paramref name="keep"/>.</summary>
    public static string BootDirectory(string? keep, string prefix) => keep is null ? Directory.CreateTempSubdirectory(prefix).FullName
        : Directory.CreateDirectory(Path.Combine(keep, $"boot-{DateTime.UtcNow:HHmmss-fff}-{Environment.ProcessId}")).FullName;

    /// <summary>Removes a boot's directory unless it is kept.</summary>
    public static void Discard(string? keep, string dir)
    {
        if (keep is null) try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
    }

    /// <summary>Copies a stream into a buffer until it ends (the buffer is locked while it grows).</summary>
    public static void Pump(StreamReader r, StringBuilder sb)
    {
        var buf = new char[8192];
        int n;
        while ((n = r.Read(buf, 0, buf.Length)) > 0) lock (sb) sb.Append(buf, 0, n);
    }

    /// <summary>Standard input's lines on a background thread; null after the last.</summary>
    static BlockingCollection<string?> StartReader()
    {
        var lines = new BlockingCollection<string?>();
        var reader = new Thread(() =>
        {
            var stdin = new StreamReader(Console.OpenStandardInput(), new UTF8Encoding(false), false, 1 << 16);
            while (stdin.ReadLine() is { } l) lines.Add(l);
            lines.Add(null);
        }) { IsBackground = true };
        reader.Start();
        return lines;
    }

    /// <summary>Writes the message to standard error under the adapter's name and exits with the status.</summary>
    public static T Exit<T>(string adapter, string message, int status = 2)
    {
        Console.Error.WriteLine($"{adapter}: {message}");
        Environment.Exit(status);
        return default!;
    }

    static int Fail(ImageEmulator emulator, string message, int status)
    {
        Console.Error.WriteLine($"{emulator.Adapter}: {message}");
        return status;
    }
}
