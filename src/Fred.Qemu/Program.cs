using System.CommandLine;
using Fred.Dut;
using Fred.Image;
using Fred.Qemu;

// fred-qemu-dut: QEMU (TCG, or KVM on the host's processor) as a DUT. Speaks the protocol of spec/dut-protocol.md on
// stdin/stdout; compiles the cases it receives into a boot image (spec/image-format.md), boots it in QEMU once per
// batch and answers from what the harness printed on port 0xE9 (QEMU's debug console).

var qemu = CommandLines.Text("--qemu", "PATH", "the qemu-system-x86_64 binary (default: $FRED_QEMU, else qemu-system-x86_64 on PATH)");
var accel = new Option<string>("--accel")
{
    Description = "QEMU's own CPU (tcg) or the host's through KVM (kvm: -accel kvm -cpu host)",
    HelpName = "tcg|kvm",
    DefaultValueFactory = _ => "tcg",
};
accel.AcceptOnlyFromAmong("tcg", "kvm");
var cpu = CommandLines.Text("--cpu", "MODEL", "the -cpu value (default: max under TCG, with +fred when this QEMU knows the flag; host under KVM)");
var common = new AdapterCommandLine();
var root = CommandLines.Root("""
    fred-qemu-dut: QEMU (TCG, or KVM on the host's processor) as a DUT speaking the protocol of spec/dut-protocol.md. It
    compiles the cases it receives into a boot image (spec/image-format.md), boots it in QEMU once per batch, and
    answers from what the image printed on port 0xE9 (QEMU's debug console). Before its hello it boots an image with no
    case: the FRED probe. fred-conform starts it for --dut qemu and --dut "qemu:ARGS".
    """, _ => AdapterCommandLine.ExitStatus);
foreach (var o in new Option[] { qemu, accel, cpu }) root.Options.Add(o);
common.AddTo(root);
root.SetAction(p =>
{
    var options = common.Read(p);
    string? binary = p.GetValue(qemu) ?? Environment.GetEnvironmentVariable("FRED_QEMU");
    var settings = QemuSetup.Resolve(binary, p.GetValue(accel)!, p.GetValue(cpu), options.BootTimeoutMs, options.Keep, Fail<QemuSettings>);
    return ImageDut.Run(QemuRunner.Emulator(settings), options,
        ImageDut.Hello($"qemu via fred image ({Path.GetFileName(settings.Binary)}, {settings.Accel}, cpu {settings.Cpu})"),
        settings.Binary, settings.Processor, settings.Advice);
});
return CommandLines.Invoke(root, args);

static T Fail<T>(string message, int code = 2) => ImageDut.Exit<T>("fred-qemu-dut", message, code);
