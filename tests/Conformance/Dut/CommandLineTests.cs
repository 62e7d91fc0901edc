using System.Reflection;
using System.Text.RegularExpressions;
using Fred.Conformance.Support;

namespace Fred.Conformance.Dut;

/// <summary>
/// The command lines of the shipped programs follow .NET conventions (System.CommandLine): help on every command with
/// the exit statuses, --version, a bad command line answered with the problem and the usage on standard error and
/// exit status 2, response files, <c>--</c>, and <c>--dut "model ARGS"</c>.
/// </summary>
public class CommandLineTests
{
    static (int Code, string Out, string Err) Cli(params string[] args) => ShippedPrograms.FredConform(args);

    static void NoStackTrace(string err)
    {
        Assert.DoesNotContain("Unhandled exception", err);
        Assert.DoesNotMatch(@"\n\s+at [\w.]+\(", err);
    }

    [Theory]
    [InlineData("fred-conform.dll", "--help")]
    [InlineData("fred-conform.dll", "-h")]
    [InlineData("fred-conform.dll", "run --help")]
    [InlineData("fred-conform.dll", "run -h")]
    [InlineData("fred-conform.dll", "replay --help")]
    [InlineData("fred-conform.dll", "zoo --help")]
    [InlineData("fred-conform.dll", "image --help")]
    [InlineData("fred-conform.dll", "list-rules --help")]
    [InlineData("fred-conform.dll", "list-mutants --help")]
    [InlineData("fred-conform.dll", "kernel --help")]
    [InlineData("fred-conform.dll", "help run")]
    [InlineData("fred-model-dut.dll", "--help")]
    [InlineData("fred-bochs-dut.dll", "--help")]
    [InlineData("fred-qemu-dut.dll", "-h")]
    public void Help_on_every_command_exits_0_with_the_usage_and_the_exit_statuses(string dll, string args)
    {
        var (code, output, err) = ShippedPrograms.Run(dll, args.Split(' '));
        Assert.True(code == 0, $"exit {code}\n{output}\n{err}");
        Assert.Contains("Usage:", output);
        Assert.Contains("Exit status:", output);
        Assert.Matches(@"\n  0  \S", output);                                  // every command names its statuses
        Assert.Matches(@"\n  2  bad usage", output);
        Assert.Equal("", err);
    }

    [Fact]
    public void Run_help_lists_its_options_and_the_three_campaign_statuses()
    {
        var (code, output, _) = Cli("run", "--help");
        Assert.Equal(0, code);
        foreach (var option in new[] { "--dut", "--count", "--seed", "--from", "--batch", "--profile", "--timeout-ms", "--max-failures", "--no-shrink",
                     "--save", "--junit", "--markdown", "--quiet" })
            Assert.Contains(option + " ", output);
        Assert.Contains("0  every case agreed", output);
        Assert.Contains("1  some case disagreed, or the DUT broke", output);
    }

    [Theory]
    [InlineData("fred-conform.dll")]
    [InlineData("fred-model-dut.dll")]
    [InlineData("fred-bochs-dut.dll")]
    [InlineData("fred-qemu-dut.dll")]
    public void Version_prints_the_package_version(string dll)
    {
        string expected = typeof(Fred.Cli.CommandLine).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion;
        Assert.Matches(@"^\d+\.\d+\.\d+(-[\w.]+)?$", expected);                // the package version, no commit suffix
        var (code, output, err) = ShippedPrograms.Run(dll, "--version");
        Assert.True(code == 0, $"exit {code}\n{output}\n{err}");
        Assert.Equal(expected, output.Trim());
    }

    [Theory]
    [InlineData("fred-conform.dll", "run --dut model --bogus", "--bogus")]
    [InlineData("fred-conform.dll", "run --dut model --count many", "--count")]
    [InlineData("fred-conform.dll", "run --count 5", "--dut")]
    [InlineData("fred-conform.dll", "frobnicate", "frobnicate")]
    [InlineData("fred-conform.dll", "replay --bogus x.json", "--bogus")]
    [InlineData("fred-conform.dll", "", "command")]
    [InlineData("fred-model-dut.dll", "--bogus", "--bogus")]
    [InlineData("fred-model-dut.dll", "--misbehave crash@0", "--misbehave")]
    [InlineData("fred-bochs-dut.dll", "--display gtk", "gtk")]
    [InlineData("fred-qemu-dut.dll", "--bogus", "--bogus")]
    public void A_bad_command_line_exits_2_with_the_problem_and_the_usage_on_stderr(string dll, string args, string named)
    {
        var (code, output, err) = ShippedPrograms.Run(dll, args.Length == 0 ? [] : args.Split(' '));
        Assert.True(code == 2, $"exit {code}\n{output}\n{err}");
        Assert.Contains(named, err);
        Assert.Contains("Usage:", err);
        Assert.DoesNotContain("VERDICT", output);
        NoStackTrace(err);
    }

    [Fact]
    public void A_response_file_supplies_the_arguments()
    {
        string rsp = Path.Combine(Path.GetTempPath(), $"fred-args-{Guid.NewGuid():N}.rsp");
        File.WriteAllText(rsp, "run\n--dut model\n--count 20\n--seed 0x2a\n--quiet\n");
        try
        {
            var (code, output, err) = Cli($"@{rsp}", "--batch", "10");
            Assert.True(code == 0, $"exit {code}\n{output}\n{err}");
            Assert.Contains("VERDICT: PASS", output);
            Assert.Contains("seed     0x2a   cases 20 ", output);
        }
        finally { File.Delete(rsp); }
    }

    [Fact]
    public void Double_dash_ends_the_options_so_a_file_may_start_with_a_dash()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"fred-dd-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            File.Copy(Path.Combine(SpecCoverageTests.RepositoryRoot(), "tests", "Conformance", "Regressions", "bochs-syscall-cs-ss-stale.json"),
                Path.Combine(dir, "-case.json"));
            var (code, output, err) = ShippedPrograms.RunIn(dir, "fred-conform.dll", "replay", "--", "-case.json");
            Assert.True(code == 0, $"exit {code}\n{output}\n{err}");
            Assert.Contains("-case.json: ", output);
            Assert.Contains("PASS: the DUT now agrees with the model", output);
            // Without --, the same word is an unknown option.
            (code, output, err) = ShippedPrograms.RunIn(dir, "fred-conform.dll", "replay", "-case.json");
            Assert.True(code == 2, $"exit {code}\n{output}\n{err}");
            Assert.Contains("'-case.json'", err);
            // After --, an option name is an argument: run takes none.
            (code, output, err) = Cli("run", "--dut", "model", "--", "--count", "5");
            Assert.True(code == 2, $"exit {code}\n{output}\n{err}");
            Assert.Contains("'--count'", err);
            Assert.DoesNotContain("VERDICT", output);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    [Trait("Rule", "FRED-DUT-09")]
    public void A_junit_path_under_a_regular_file_fails_at_once_with_exit_2()
    {
        string file = Path.Combine(Path.GetTempPath(), $"fred-regular-{Guid.NewGuid():N}");
        File.WriteAllText(file, "");
        try
        {
            var watch = System.Diagnostics.Stopwatch.StartNew();
            var (code, output, err) = Cli("run", "--dut", "model", "--count", "1000000", "--junit", Path.Combine(file, "x.xml"));
            Assert.True(code == 2, $"exit {code}\n{output}\n{err}");
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(30), $"took {watch.Elapsed}: the campaign ran");   // 1,000,000 cases take minutes
            Assert.Contains($"--junit: {Path.Combine(file, "x.xml")}: {file} is a file, not a directory", err);
            Assert.Contains("fred-conform run --help", err);
            Assert.DoesNotContain("VERDICT", output);
            NoStackTrace(err);
        }
        finally { File.Delete(file); }
    }

    [Fact]
    [Trait("Rule", "FRED-DUT-09")]
    public void Dut_model_with_arguments_passes_them_to_the_model_DUT()
    {
        var (code, output, err) = Cli("run", "--dut", "model --misbehave crash@3", "--count", "20", "--seed", "1", "--batch", "10", "--quiet", "--save",
            Path.Combine(Path.GetTempPath(), $"fred-cx-{Guid.NewGuid():N}"));
        Assert.True(code == 1, $"exit {code}\n{output}\n{err}");                 // the crashes are broken cases, not a DUT that would not start
        Assert.Contains("fred-model-dut.dll --misbehave crash@3", err);          // the bundled model DUT, with the arguments
        Assert.Matches(new Regex(@"DUT BROKE on case \d+: crash"), output);
        Assert.Matches(new Regex(@"the DUT was restarted \d+ time"), output);
    }
}
