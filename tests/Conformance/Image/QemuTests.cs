using System.Diagnostics;
using Fred.Dut;
using Fred.Image;
using Fred.Model;
using Fred.Qemu;
using Xunit.Abstractions;

namespace Fred.Conformance.Image;

/// <summary>
/// A generated image in a real QEMU, under TCG and (where /dev/kvm is usable) under KVM: Debian's QEMU (no FRED) in
/// CI, or the one FRED_QEMU names; the whole path to the verdict, through fred-qemu-dut and fred-conform.
/// </summary>
public class QemuTests(ITestOutputHelper output)
{
    internal static string? FindQemu() =>
        Environment.GetEnvironmentVariable("FRED_QEMU") is { Length: > 0 } q ? q : ImageDut.FindOnPath(QemuSetup.DefaultBinary);

    internal static QemuSettings Settings(string qemu, string accel, string? cpu) =>
        QemuSetup.Resolve(qemu, accel, cpu, 120_000, null, (m, _) => throw new Xunit.Sdk.XunitException(m));

    [Fact]
    [Trait("Rule", "FRED-IMG-06")]
    public void A_generated_image_boots_in_QEMU_under_TCG_and_the_adapter_gives_its_verdict()
    {
        string? qemu = FindQemu();
        if (qemu is null) EmulatorRuns.AssertAbsentOutsideCiAndNamed("fred-qemu-dut.dll", "--qemu", "qemu", "qemu-system-x86");
        else WholePath(output, Settings(qemu, "tcg", null), [], probed: null);
    }

    /// <summary>
    /// Boots 20 generated cases, and at the same time runs the adapter's probe (unless <paramref name="probed"/> has its
    /// result already) and fred-conform against the adapter with these arguments.
    /// </summary>
    internal static void WholePath(ITestOutputHelper output, QemuSettings settings, string[] args, (int Code, string Out, string Err)? probed)
    {
        var sw = Stopwatch.StartNew();
        var realized = EmulatorRuns.Twenty();
        var boot = Task.Run(() => QemuRunner.Boot(settings, ImageBuilder.Build(realized)));
        var probe = probed is { } p ? Task.FromResult(p) : Task.Run(() => EmulatorRuns.Run("fred-qemu-dut.dll", [.. args, "--probe"]));
        string dut = args.Length == 0 ? "qemu" : $"qemu:{string.Join(' ', args)}";
        // --timeout-ms also bounds the wait for the adapter's hello, which comes after its FRED probe boot: on a loaded
        // machine a KVM boot can take longer than the 30 s fred-conform waits by default.
        var conform = Task.Run(() => EmulatorRuns.Run("fred-conform.dll", "run", "--dut", dut, "--count", "5", "--quiet", "--timeout-ms", "120000",
            "--profile", Path.Combine(SpecCoverageTests.RepositoryRoot(), "profiles", "bochs-image.profile")));
        var run = boot.Result;
        output.WriteLine($"{settings.Processor}: the image printed {run.Output.Begun.Count} case beginnings in {run.Seconds:0.00} s");
        Assert.True(run.Output.Started, $"the image did not start: {run.Why()}");
        Assert.Empty(run.Output.Problems);
        var (probeCode, probeOut, probeErr) = probe.Result;
        var (code, _, err) = conform.Result;
        if (run.Output.NoFred)
        {
            // The whole path to the verdict: the image says NOFRED, the adapter refuses to start, and fred-conform says why.
            Assert.False(run.Output.Finished);
            Assert.Empty(run.Output.Begun);
            Assert.False(run.TimedOut, "the boot should end on NOFRED, not on the time limit");
            Assert.Equal(3, probeCode);
            Assert.Contains("this QEMU has no FRED: CPUID.(EAX=7,ECX=1):EAX[17] is 0", probeOut);
            Assert.Contains(settings.Processor, probeOut);
            Assert.Equal(2, code);
            Assert.Contains("has no FRED", err);
        }
        else
        {
            EmulatorRuns.AssertRanEvery(run, realized);
            Assert.True(probeCode == 0, $"the probe said: {probeOut}{probeErr}");
            Assert.Contains("FRED present", probeOut);
            Assert.True(code is 0 or 1, $"fred-conform exited {code}: {err}");
            EmulatorRuns.AssertTripleFaultIsAShutdownAndTheRestRun(QemuRunner.Emulator(settings));
        }
        output.WriteLine($"{settings.Processor}: whole path in {sw.Elapsed.TotalSeconds:0.0} s");
    }

    [Theory]
    [InlineData("echo 'some banner'; echo 'D 12 zz'; exit 1", 1500, 2, "did not run the image (exit 1)")]
    [InlineData("echo FRED-IMAGE 1; sleep 30", 1500, 2, "timed out")]
    [InlineData("echo FRED-IMAGE 1; echo NOFRED; sleep 30", 60_000, 3, "has no FRED")]          // ended on NOFRED, not by the time limit
    [InlineData("echo FRED-IMAGE 1; exit 0", 60_000, 2, "did not finish (QEMU exited with status 0)")]
    [Trait("Rule", "FRED-IMG-06")]
    public void A_QEMU_that_prints_garbage_hangs_or_lacks_FRED_gets_a_clear_verdict(string script, int timeoutMs, int status, string verdict)
    {
        if (OperatingSystem.IsWindows()) return;   // the fake QEMU is a shell script
        string fake = EmulatorRuns.Fake("qemu", script);
        var sw = Stopwatch.StartNew();
        var (code, _, err) = EmulatorRuns.Run("fred-qemu-dut.dll", "--qemu", fake, "--cpu", "max", "--boot-timeout-ms", $"{timeoutMs}");
        Assert.Equal(status, code);
        Assert.Contains(verdict, err);
        Assert.True(sw.Elapsed.TotalSeconds < 20, $"took {sw.Elapsed.TotalSeconds:0.0} s");
    }

    [Fact]
    [Trait("Rule", "FRED-IMG-06")]
    public void A_QEMU_that_knows_the_fred_flag_gets_max_plus_fred_under_TCG_and_the_probe_ends_on_the_last_line()
    {
        if (OperatingSystem.IsWindows()) return;
        string fake = EmulatorRuns.Fake("qemu",
            """if [ "$2" = help ]; then echo 'Recognized CPUID flags:'; echo '  fpu fred lkgs'; exit 0; fi; echo FRED-IMAGE 1; echo END; sleep 30""");
        var settings = Settings(fake, "tcg", null);
        Assert.Equal("max,+fred", settings.Cpu);
        Assert.True(settings.KnowsFred);
        var sw = Stopwatch.StartNew();
        var (code, stdout, err) = EmulatorRuns.Run("fred-qemu-dut.dll", "--qemu", fake, "--probe");
        Assert.True(code == 0, err);
        Assert.Contains("FRED present", stdout);
        Assert.Contains("cpu model max,+fred under TCG", stdout);
        Assert.True(sw.Elapsed.TotalSeconds < 20, $"the probe waited for QEMU instead of ending on END ({sw.Elapsed.TotalSeconds:0.0} s)");
    }

    [Fact]
    [Trait("Rule", "FRED-IMG-06")]
    public void QEMU_is_started_headless_with_the_debug_console_on_port_0xE9_and_no_reboot()
    {
        var tcg = new QemuSettings("/q", "tcg", "max", false, 1000, null);
        var a = string.Join(' ', QemuRunner.Arguments(tcg, "/tmp/a,b/fred.img"));
        Assert.Contains("-machine pc -accel tcg -cpu max -m 128", a);
        Assert.Contains("-drive file=/tmp/a,,b/fred.img,format=raw,if=ide", a);
        Assert.Contains("-debugcon stdio -global isa-debugcon.iobase=0xe9", a);
        Assert.Contains("-display none -nodefaults -serial none -no-reboot", a);
        Assert.Contains("-accel kvm -cpu host", string.Join(' ', QemuRunner.Arguments(tcg with { Accel = "kvm", Cpu = "host" }, "i")));
        Assert.False(QemuSetup.KnowsFred("Recognized CPUID flags:\n  fpu frecords fred-like\n"));
        Assert.True(QemuSetup.KnowsFred("Recognized CPUID flags:\n  fpu fred\n"));
    }

    [Theory]
    [InlineData("FRED-IMAGE 1\nB 0000000000000001\n", false, 0, false, true)]      // exited by itself under -no-reboot: a triple fault
    [InlineData("FRED-IMAGE 1\nB 0000000000000001\n", true, -1, false, false)]     // killed at the time limit
    [InlineData("FRED-IMAGE 1\nB 0000000000000001\n", false, 1, false, false)]     // QEMU failed
    [InlineData("FRED-IMAGE 1\nEND\n", false, 0, true, false)]                      // ended after the last line
    [InlineData("RESET\n", true, -1, true, true)]                                   // the image itself saw a reset
    [Trait("Rule", "FRED-IMG-06")]
    public void An_exit_before_the_last_line_is_a_shutdown(string printed, bool killed, int exitCode, bool sawLastLine, bool shutdown)
    {
        Assert.Equal(shutdown, QemuRunner.Shutdown(ImageOutput.Parse(printed), killed, exitCode, sawLastLine));
        Assert.Equal(sawLastLine, printed.Split('\n').Any(ImageOutput.IsLast));
    }

    [Fact]
    [Trait("Rule", "FRED-IMG-06")]
    public void After_a_shutdown_the_remaining_cases_run_in_a_new_boot()
    {
        var boots = new List<long[]>();
        var fake = new ImageEmulator("test", "Fake", image =>
        {
            // Every boot stops in its first case, as QEMU does when that case triple-faults.
            var ids = image.Cases.Select(c => c.Case.Id).ToArray();
            boots.Add(ids);
            var output = ImageOutput.Parse($"FRED-IMAGE 1\nB {ids[0]:x16}\n");
            return new BootRun(output, "", "", TimedOut: false, ExitCode: 0, Seconds: 0, Shutdown: true);
        });
        var results = BatchRunner.Run(fake, EmulatorRuns.TripleFaultBatch(), TextWriter.Null).Select(x => x.Item2).ToArray();
        Assert.All(results, r => Assert.Equal(OutcomeKind.Shutdown, Assert.IsType<Answered>(r).Steps[0].Outcome.Kind));
        Assert.Equal([[1, 2, 3], [2, 3], [3]], boots);
    }
}

/// <summary>The QEMU test's whole path under KVM, where /dev/kvm is usable (its own class, so it runs beside the others).</summary>
public class QemuKvmTests(ITestOutputHelper output)
{
    [SkippableFact]
    [Trait("Rule", "FRED-IMG-06")]
    public void The_same_under_KVM_where_dev_kvm_is_usable()
    {
        string? qemu = QemuTests.FindQemu();
        Skip.If(qemu is null, "no QEMU (the TCG test says why that is allowed)");
        Skip.IfNot(KvmUsable(out string why), $"KVM part skipped: {why}");
        string[] args = ["--accel", "kvm"];
        var probed = EmulatorRuns.Run("fred-qemu-dut.dll", [.. args, "--probe"]);
        if (probed.Code == 2 && probed.Err.Contains("did not run the image", StringComparison.Ordinal))
        {
            // QEMU 7.2 under a nested or paravirtual KVM can fail to set IA32_ARCH_CAPABILITIES for -cpu host and abort;
            // the same host CPU without that MSR still tests the KVM path.
            output.WriteLine($"QEMU could not start a KVM guest with -cpu host ({probed.Err.Trim()}); retrying with --cpu host,-arch-capabilities");
            args = [.. args, "--cpu", "host,-arch-capabilities"];
            probed = EmulatorRuns.Run("fred-qemu-dut.dll", [.. args, "--probe"]);
            Skip.If(probed.Code == 2, $"KVM part skipped: QEMU cannot start a KVM guest here: {probed.Err.Trim()}");
        }
        QemuTests.WholePath(output, QemuTests.Settings(qemu!, "kvm", args.Length > 2 ? args[3] : null), args, probed);
    }

    /// <summary>/dev/kvm exists and opens for reading and writing.</summary>
    static bool KvmUsable(out string why)
    {
        if (!OperatingSystem.IsLinux()) { why = "KVM is Linux's"; return false; }
        if (!File.Exists("/dev/kvm")) { why = "no /dev/kvm"; return false; }
        try
        {
            using var f = new FileStream("/dev/kvm", FileMode.Open, FileAccess.ReadWrite);
            why = "";
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            why = $"/dev/kvm does not open for reading and writing: {ex.Message}";
            return false;
        }
    }
}
