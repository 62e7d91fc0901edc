using Fred.Image;
using Fred.Qemu;

// fred-qemu-dut: QEMU (TCG, or KVM on the host's processor) as a DUT. Speaks the protocol of spec/dut-protocol.md on
// stdin/stdout; compiles the cases it receives into a boot image (spec/image-format.md), boots it in QEMU once per
// batch and answers from what the harness printed on port 0xE9 (QEMU's debug console).

const string Usage = """
usage: fred-qemu-dut [--qemu PATH] [--accel tcg|kvm] [--cpu MODEL] [--boot-timeout-ms N] [--max-batch N] [--idle-ms N] [--keep DIR]
       fred-qemu-dut --probe [same options]
  --qemu PATH           the qemu-system-x86_64 binary (default: $FRED_QEMU, else qemu-system-x86_64 on PATH)
  --accel tcg|kvm       QEMU's own CPU (tcg, the default) or the host's through KVM (kvm: -accel kvm -cpu host)
  --cpu MODEL           the -cpu value (default: max under TCG, with +fred when this QEMU knows the flag; host under KVM)

""" + ImageDut.CommonUsage;

string? qemu = Environment.GetEnvironmentVariable("FRED_QEMU"), cpu = null;
string accel = "tcg";
var options = ImageDut.ParseOrExit("fred-qemu-dut", Usage, args, (name, value) =>
{
    switch (name)
    {
        case "--qemu": qemu = value(); return true;
        case "--cpu": cpu = value(); return true;
        case "--accel":
            accel = value();
            return accel is "tcg" or "kvm" ? true : throw new AdapterUsageException($"--accel: expected tcg or kvm, found \"{accel}\"");
        default: return false;
    }
});
var settings = QemuSetup.Resolve(qemu, accel, cpu, options.BootTimeoutMs, options.Keep, Fail<QemuSettings>);
return ImageDut.Run(QemuRunner.Emulator(settings), options,
    ImageDut.Hello($"qemu via fred image ({Path.GetFileName(settings.Binary)}, {settings.Accel}, cpu {settings.Cpu})"),
    settings.Binary, settings.Processor, settings.Advice);

static T Fail<T>(string message, int code = 2) => ImageDut.Exit<T>("fred-qemu-dut", message, code);
