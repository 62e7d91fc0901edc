using System.CommandLine;
using Fred.Bochs;
using Fred.Dut;
using Fred.Image;

// fred-bochs-dut: Bochs as a DUT. Speaks the protocol of spec/dut-protocol.md on stdin/stdout; compiles the cases it
// receives into a boot image (spec/image-format.md), boots it in Bochs once per batch and answers from what the
// harness printed on port 0xE9.

var bochs = CommandLines.Text("--bochs", "PATH", "the bochs binary (default: $FRED_BOCHS, else bochs on PATH)");
var bios = CommandLines.Text("--bios", "FILE", "the BIOS image (default: found from the bochs installation: PREFIX/share/bochs)");
var vgabios = CommandLines.Text("--vgabios", "FILE", "the VGA BIOS image (default: found from the bochs installation: PREFIX/share/bochs, /usr/share/vgabios)");
var cpu = CommandLines.Text("--cpu", "MODEL", "a Bochs CPU model with FRED (default: $FRED_BOCHS_CPU, else Bochs's default CPU)");
var display = new Option<string?>("--display")
{
    Description = "nogui or term (default: nogui, or term with --debugger-rc for a build without the nogui plugin, as Debian's)",
    HelpName = "LIB",
};
display.AcceptOnlyFromAmong("nogui", "term");
var debuggerRc = CommandLines.Flag("--debugger-rc", "start with -rc FILE containing \"c\" (for builds with the internal debugger)");
var common = new AdapterCommandLine();
var root = CommandLines.Root("""
    fred-bochs-dut: Bochs as a DUT speaking the protocol of spec/dut-protocol.md. It compiles the cases it receives into a
    boot image (spec/image-format.md), boots it in Bochs once per batch, and answers from what the image printed on port
    0xE9. Before its hello it boots an image with no case: the FRED probe. fred-conform starts it for --dut bochs and
    --dut "bochs:ARGS".
    """, _ => AdapterCommandLine.ExitStatus);
foreach (var o in new Option[] { bochs, bios, vgabios, cpu, display, debuggerRc }) root.Options.Add(o);
common.AddTo(root);
root.SetAction(p =>
{
    var options = common.Read(p);
    string? binary = p.GetValue(bochs) ?? Environment.GetEnvironmentVariable("FRED_BOCHS");
    string? model = p.GetValue(cpu) ?? (Environment.GetEnvironmentVariable("FRED_BOCHS_CPU") is { Length: > 0 } envCpu ? envCpu : null);
    string? lib = p.GetValue(display);
    bool rc = p.GetValue(debuggerRc) || lib == "term";
    var settings = BochsSetup.Resolve(binary, p.GetValue(bios), p.GetValue(vgabios), model, lib, rc, options.BootTimeoutMs, options.Keep, Fail<BochsSettings>);
    string processor = model is null ? "its default CPU" : $"cpu model {model}";
    return ImageDut.Run(BochsRunner.Emulator(settings), options,
        ImageDut.Hello($"bochs via fred image ({Path.GetFileName(settings.Binary)}{(model is null ? "" : $", cpu {model}")})"),
        settings.Binary, processor, "use a Bochs built with FRED and a CPU model that has it (--cpu)");
});
return CommandLines.Invoke(root, args);

static T Fail<T>(string message, int code = 2) => ImageDut.Exit<T>("fred-bochs-dut", message, code);
