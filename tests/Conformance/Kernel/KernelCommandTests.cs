using Fred.Kernel;
using Fred.Reference;

namespace Fred.Conformance.Kernel;

/// <summary>`fred-conform kernel`'s work (FRED-KDIFF-05): options read strictly, reports written, exit status.</summary>
public class KernelCommandTests
{
    static (int Code, string Out, string Err) Exec(KernelCommandOptions o)
    {
        var (stdout, stderr) = (new StringWriter(), new StringWriter());
        int code = KernelCommand.Execute(o, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Theory]
    [Trait("Rule", "FRED-KDIFF-05")]
    [InlineData("mce=n,first-system-vector=0xEC", false, true, 0xEC, false)]
    [InlineData("ia32-enabled=n, die-notifier-stops=y", true, false, 0xEB, true)]
    public void Config_settings_apply_to_the_default(string text, bool mce, bool ia32Enabled, int firstSystemVector, bool dieStops)
    {
        var (configs, error) = KernelCommand.ParseConfigs(text);
        var c = Assert.Single(configs ?? throw new Xunit.Sdk.XunitException(error));
        Assert.Equal(KernelConfig.Default with { MachineCheck = mce, Ia32Enabled = ia32Enabled, FirstSystemVector = firstSystemVector, DieNotifierStops = dieStops }, c);
        Assert.Equal(KernelConfig.All().Count(), KernelCommand.ParseConfigs("all").Configs!.Count);
    }

    [Theory]
    [Trait("Rule", "FRED-KDIFF-05")]
    [InlineData("mce", "\"mce\" is not NAME=VALUE")]
    [InlineData("mce=maybe", "mce: expected y or n, found \"maybe\"")]
    [InlineData("first-system-vector=0xEA", "first-system-vector: expected 0xEB or 0xEC")]
    [InlineData("smp=y", "unknown setting \"smp\"")]
    [InlineData("ia32-emulation=n,ia32-enabled=y", "ia32-enabled=y needs ia32-emulation=y")]
    public void Bad_config_settings_are_refused_with_the_reason(string text, string expected)
    {
        var (configs, error) = KernelCommand.ParseConfigs(text);
        Assert.Null(configs);
        Assert.StartsWith(expected, error);
    }

    [Fact]
    [Trait("Rule", "FRED-KDIFF-05")]
    public void Bad_usage_exits_2_before_any_work_and_says_what_was_wrong()
    {
        var dir = Directory.CreateTempSubdirectory("fred-kernel-cmd").FullName;
        try
        {
            var bad = Exec(new("nonexistent.c", Profile: "linux"));
            Assert.Equal((2, "fred-conform kernel: --profile: expected rfc2022 or mainline, found \"linux\"\n"), (bad.Code, bad.Err.Replace("\r", "")));
            var missing = Exec(new(Path.Combine(dir, "nope.c")));
            Assert.Equal(2, missing.Code);
            Assert.Contains("nope.c: cannot read the kernel source", missing.Err);
            var junit = Exec(new(Path.Combine(dir, "nope.c"), JUnit: dir));
            Assert.Equal(2, junit.Code);
            Assert.Contains("--junit: " + dir + " is a directory", junit.Err);
            Assert.Empty(junit.Out);
        }
        finally { Directory.Delete(dir, true); }
    }

    [SkippableFact]
    [Trait("Rule", "FRED-KDIFF-05")]
    public void The_seed_against_rfc2022_agrees_and_writes_its_reports()
    {
        string? seed = KernelDifferentialTests.SeedPatch();
        Skip.If(seed is null, "the seed patch is not beside the checkout (set FRED_SEED to its path)");
        Skip.If(KernelBuild.FindCompiler() is null, "no C compiler (CI installs gcc)");
        var dir = Directory.CreateTempSubdirectory("fred-kernel-cmd").FullName;
        try
        {
            var (code, stdout, stderr) = Exec(new(seed!, Config: "default", JUnit: Path.Combine(dir, "k.xml"), Markdown: Path.Combine(dir, "k.md")));
            Assert.True(code == 0, stdout + stderr);
            Assert.Contains("KERNEL AGREE: 40,960 inputs compared with Rfc2022; 0 disagreeing class(es)", stdout);
            Assert.Contains("40960 inputs agree", File.ReadAllText(Path.Combine(dir, "k.xml")));
            Assert.Contains("40,960 inputs compared", File.ReadAllText(Path.Combine(dir, "k.md")));
        }
        finally { Directory.Delete(dir, true); }
    }
}

/// <summary>`fred-conform kernel` as a user runs it: the shipped program, its exit status and what it prints.</summary>
public class KernelCommandLineTests
{
    [SkippableFact]
    [Trait("Rule", "FRED-KDIFF-05")]
    public void The_shipped_fred_conform_runs_kernel_on_the_seed()
    {
        string? seed = KernelDifferentialTests.SeedPatch();
        Skip.If(seed is null, "the seed patch is not beside the checkout (set FRED_SEED to its path)");
        Skip.If(KernelBuild.FindCompiler() is null, "no C compiler (CI installs gcc)");
        var (code, output, err) = Fred.Conformance.Support.ShippedPrograms.Run("fred-conform.dll", ["kernel", "--source", seed!, "--config", "mce=n"]);
        Assert.True(code == 0, $"exit {code}\n{output}\n{err}");
        Assert.Contains("KERNEL AGREE: 40,960 inputs compared with Rfc2022", output);
    }

    [Fact]
    [Trait("Rule", "FRED-KDIFF-05")]
    public void A_bad_config_exits_2_with_the_reason()
    {
        var (code, _, err) = Fred.Conformance.Support.ShippedPrograms.Run("fred-conform.dll", ["kernel", "--source", "x.c", "--config", "smp=y"]);
        Assert.Equal(2, code);
        Assert.Contains("--config: unknown setting \"smp\"", err);
    }
}
