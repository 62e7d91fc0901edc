using System.Collections.Concurrent;
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
/// <param name="Help">Print the usage.</param>
public sealed record AdapterOptions(int BootTimeoutMs = 300_000, int MaxBatch = 2000, int IdleMs = 30, string? Keep = null, bool Probe = false, bool Help = false);

/// <summary>A command line an adapter cannot use; the message names the argument.</summary>
public sealed class AdapterUsageException(string message) : Exception(message);

/// <summary>
/// What every image adapter does around its emulator: parse the common options, boot an empty image before the
/// hello (the FRED probe), then speak the DUT protocol, one boot per batch.
/// </summary>
public static class ImageDut
{
    /// <summary>The usage lines of the common options.</summary>
    public const string CommonUsage = """
  --boot-timeout-ms N   wall-clock limit for one boot (default 300000)
  --max-batch N         most cases in one image (default 2000)
  --idle-ms N           gather cases until none arrives for this long, then boot (default 30)
  --keep DIR            keep every boot's files (image, command, console output, log) under DIR
  --probe               boot an image with no case and say whether the processor has FRED (exit 0 yes, 3 no, 2 error)

""";

    /// <summary>Parses a command line: the common options here, the adapter's own through <paramref name="own"/>
    /// (the option and a function that takes its value; false when it is not one of the adapter's).</summary>
    public static AdapterOptions Parse(IReadOnlyList<string> args, Func<string, Func<string>, bool> own)
    {
        var o = new AdapterOptions();
        for (int i = 0; i < args.Count; i++)
        {
            string name = args[i];
            string Value() => i + 1 < args.Count ? args[++i] : throw new AdapterUsageException($"{name} needs a value");
            int Int(int min)
            {
                string v = Value();
                return int.TryParse(v, out int n) && n >= min ? n : throw new AdapterUsageException($"{name}: expected an integer >= {min}, found \"{v}\"");
            }
            o = name switch
            {
                "--boot-timeout-ms" => o with { BootTimeoutMs = Int(1000) },
                "--max-batch" => o with { MaxBatch = Int(1) },
                "--idle-ms" => o with { IdleMs = Int(0) },
                "--keep" => o with { Keep = Value() },
                "--probe" => o with { Probe = true },
                "-h" or "--help" => o with { Help = true },
                _ => own(name, Value) ? o : throw new AdapterUsageException($"unknown argument \"{name}\""),
            };
        }
        return o;
    }

    /// <summary>
    /// <see cref="Parse"/> for a program: prints the usage and exits 0 on <c>--help</c>, writes the problem and exits 2
    /// on a bad command line.
    /// </summary>
    public static AdapterOptions ParseOrExit(string adapter, string usage, IReadOnlyList<string> args, Func<string, Func<string>, bool> own)
    {
        AdapterOptions o;
        try { o = Parse(args, own); }
        catch (AdapterUsageException ex) { return Exit<AdapterOptions>(adapter, ex.Message); }
        if (!o.Help) return o;
        Console.Write(usage);
        Environment.Exit(0);
        return o;
    }

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
