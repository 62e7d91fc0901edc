using Fred.Bochs;
using Fred.Image;

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

""" + ImageDut.CommonUsage;

string? bochs = Environment.GetEnvironmentVariable("FRED_BOCHS"), bios = null, vgabios = null;
string? cpu = Environment.GetEnvironmentVariable("FRED_BOCHS_CPU") is { Length: > 0 } envCpu ? envCpu : null;
string? display = null;
bool debuggerRc = false;
var options = ImageDut.ParseOrExit("fred-bochs-dut", Usage, args, (name, value) =>
{
    switch (name)
    {
        case "--bochs": bochs = value(); return true;
        case "--bios": bios = value(); return true;
        case "--vgabios": vgabios = value(); return true;
        case "--cpu": cpu = value(); return true;
        case "--display":
            display = value();
            return display is "nogui" or "term" ? true : throw new AdapterUsageException($"--display: expected nogui or term, found \"{display}\"");
        case "--debugger-rc": debuggerRc = true; return true;
        default: return false;
    }
});
if (display == "term") debuggerRc = true;
var settings = BochsSetup.Resolve(bochs, bios, vgabios, cpu, display, debuggerRc, options.BootTimeoutMs, options.Keep, Fail<BochsSettings>);
string processor = cpu is null ? "its default CPU" : $"cpu model {cpu}";
return ImageDut.Run(BochsRunner.Emulator(settings), options,
    ImageDut.Hello($"bochs via fred image ({Path.GetFileName(settings.Binary)}{(cpu is null ? "" : $", cpu {cpu}")})"),
    settings.Binary, processor, "use a Bochs built with FRED and a CPU model that has it (--cpu)");

static T Fail<T>(string message, int code = 2) => ImageDut.Exit<T>("fred-bochs-dut", message, code);
