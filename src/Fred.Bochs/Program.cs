using System.Collections.Concurrent;
using System.Text;
using Fred.Bochs;
using Fred.Dut;
using Fred.Image;
using Fred.Model;

// fred-bochs-dut: Bochs as a DUT. Speaks the protocol of spec/dut-protocol.md on stdin/stdout; compiles the cases it
// receives into a boot image (spec/image-format.md), boots it in Bochs once per batch and answers from what the
// harness printed on port 0xE9.

const string Usage = """
usage: fred-bochs-dut [--bochs PATH] [--bios FILE] [--vgabios FILE] [--cpu MODEL] [--display nogui|term] [--debugger-rc]
                      [--boot-timeout-ms N] [--max-batch N] [--idle-ms N] [--keep DIR]
       fred-bochs-dut --probe [same options]
  --bochs PATH          the bochs binary (default: $FRED_BOCHS, else bochs on PATH)
  --bios, --vgabios     ROM images (default: found from the bochs installation: PREFIX/share/bochs, /usr/share/vgabios)
  --cpu MODEL           a Bochs CPU model with FRED (default: $FRED_BOCHS_CPU, else Bochs's default CPU)
  --display LIB         nogui or term (default: nogui, or term with --debugger-rc for a build without the nogui plugin, as Debian's)
  --debugger-rc         start with -rc FILE containing "c" (for builds with the internal debugger)
  --boot-timeout-ms N   wall-clock limit for one boot (default 300000)
  --max-batch N         most cases in one image (default 2000)
  --idle-ms N           gather cases until none arrives for this long, then boot (default 30)
  --keep DIR            keep every boot's image, bochsrc, console output and log under DIR
  --probe               boot an image with no case and say whether the processor has FRED (exit 0 yes, 3 no, 2 error)
""";

string? bochs = Environment.GetEnvironmentVariable("FRED_BOCHS"), bios = null, vgabios = null, keep = null;
string? cpu = Environment.GetEnvironmentVariable("FRED_BOCHS_CPU") is { Length: > 0 } envCpu ? envCpu : null;
string? display = null;
bool debuggerRc = false, probe = false;
int bootTimeout = 300_000, maxBatch = 2000, idleMs = 30;
for (int i = 0; i < args.Length; i++)
{
    string Value() => i + 1 < args.Length ? args[++i] : Fail<string>($"{args[i]} needs a value");
    int Int(int min) { var v = Value(); return int.TryParse(v, out var n) && n >= min ? n : Fail<int>($"{args[i - 1]}: expected an integer >= {min}, found \"{v}\""); }
    switch (args[i])
    {
        case "--bochs": bochs = Value(); break;
        case "--bios": bios = Value(); break;
        case "--vgabios": vgabios = Value(); break;
        case "--cpu": cpu = Value(); break;
        case "--display":
            display = Value();
            if (display is not ("nogui" or "term")) Fail<int>($"--display: expected nogui or term, found \"{display}\"");
            break;
        case "--debugger-rc": debuggerRc = true; break;
        case "--boot-timeout-ms": bootTimeout = Int(1000); break;
        case "--max-batch": maxBatch = Int(1); break;
        case "--idle-ms": idleMs = Int(0); break;
        case "--keep": keep = Value(); break;
        case "--probe": probe = true; break;
        case "-h" or "--help": Console.Write(Usage); return 0;
        default: Fail<int>($"unknown argument \"{args[i]}\""); break;
    }
}
if (display == "term") debuggerRc = true;
var settings = BochsSetup.Resolve(bochs, bios, vgabios, cpu, display, debuggerRc, bootTimeout, keep, Fail<BochsSettings>);

// Before the hello: one boot with no case, so that a Bochs without FRED is refused at once, with the reason.
var first = BochsRunner.Boot(settings, ImageBuilder.Build([]));
if (!first.Output.Started)
    return Fail<int>($"Bochs did not run the image (exit {first.ExitCode}{(first.TimedOut ? ", timed out" : "")}): {first.Why()}", 2);
if (first.Output.NoFred)
{
    string msg = $"this Bochs has no FRED: CPUID.(EAX=7,ECX=1):EAX[17] is 0 for {(cpu is null ? "its default CPU" : $"cpu model {cpu}")} ({settings.Binary}); " +
        "use a Bochs built with FRED and a CPU model that has it (--cpu)";
    if (probe) { Console.WriteLine($"no FRED: {msg}"); return 3; }
    return Fail<int>(msg, 3);
}
if (!first.Output.Finished)
    return Fail<int>($"the empty image did not finish ({(first.TimedOut ? $"Bochs timed out after {bootTimeout} ms" : $"Bochs exited with status {first.ExitCode}")}): {first.Why()}", 2);
if (probe)
{
    Console.WriteLine($"FRED present: {settings.Binary}{(cpu is null ? "" : $" (cpu model {cpu})")}; an empty image booted in {first.Seconds:0.00} s");
    return 0;
}

var stdout = new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false), 1 << 16) { AutoFlush = false };
var hello = new DutHello($"bochs via fred image ({Path.GetFileName(settings.Binary)}{(cpu is null ? "" : $", cpu {cpu}")})", ProtocolVersion.Current, [Revision.Fred5], [DutFeatures.Compat, DutFeatures.RealEvents]);
stdout.WriteLine(Wire.Hello(hello));
stdout.Flush();

var lines = new BlockingCollection<string?>();
var reader = new Thread(() =>
{
    var stdin = new StreamReader(Console.OpenStandardInput(), new UTF8Encoding(false), false, 1 << 16);
    while (stdin.ReadLine() is { } l) lines.Add(l);
    lines.Add(null);
}) { IsBackground = true };
reader.Start();

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
            catch (WireException ex) { return Fail<int>($"input line {lineNo}: {ex.Message}", 2); }
            if (m is ByeMessage) { bye = true; break; }
            if (m is CaseMessage { Case: var c }) batch.Add(c);
            else if (m is not HelloMessage) return Fail<int>($"input line {lineNo}: a DUT does not accept \"{m.GetType().Name}\" messages", 2);
        }
        if (batch.Count >= maxBatch || !lines.TryTake(out line, idleMs)) break;
    }
    if (batch.Count == 0) continue;
    foreach (var (c, r) in BatchRunner.Run(settings, batch, Console.Error))
    {
        stdout.WriteLine(Wire.Result(r, c.Initial));
        stdout.Flush();
    }
}
return 0;

static T Fail<T>(string message, int code = 2)
{
    Console.Error.WriteLine($"fred-bochs-dut: {message}");
    Environment.Exit(code);
    return default!;
}
