using Fred.Dut;

namespace Fred.Conformance.Dut;

/// <summary>fred-conform under bad options and untrusted files: a clear error or a safe default, never a crash.</summary>
public class CliRobustnessTests
{
    static (int Code, string Out, string Err) Cli(params string[] args) => Support.ShippedPrograms.FredConform(args);

    [Theory]
    [InlineData("0x7FFFFFFFFFFFFFFF")]
    [InlineData("0xFFFFFFFFFFFFFFFF")]
    [Trait("Rule", "FRED-DUT-09")]
    public void A_first_index_with_no_room_for_the_cases_is_refused(string from)
    {
        var (code, output, err) = Cli("run", "--dut", "model", "--from", from, "--count", "2");
        Assert.True(code == 2, $"exit {code}\n{output}\n{err}");
        Assert.Contains("--from: ", err);
        Assert.Contains("leaves no room for 2 case(s)", err);
        Assert.DoesNotContain("PASS", output);
        Assert.DoesNotContain("Unhandled exception", err);
    }

    [Fact]
    [Trait("Rule", "FRED-DUT-12")]
    public void Replay_runs_a_files_stored_command_only_when_asked_and_says_so()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"fred-cx-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            // A stranger's file whose stored command would leave a mark if it ran.
            string marker = Path.Combine(dir, "ran");
            string text = File.ReadAllText(Path.Combine(SpecCoverageTests.RepositoryRoot(), "tests", "Conformance", "Regressions", "bochs-syscall-cs-ss-stale.json"));
            text = System.Text.RegularExpressions.Regex.Replace(text, "\"dut_command\": *\"[^\"]*\"", $"\"dut_command\": \"touch {marker}\"");
            string file = Path.Combine(dir, "stranger.json");
            File.WriteAllText(file, text);
            var (code, output, err) = Cli("replay", file);
            Assert.False(File.Exists(marker), "replay ran the command stored in the file");
            Assert.Contains("PASS: the DUT now agrees with the model", output);     // replayed against the model DUT
            Assert.True(code == 0, $"exit {code}\n{output}\n{err}");
            (code, output, err) = Cli("replay", file, "--dut-from-file");
            Assert.Contains($"running the file's DUT command: touch {marker}", err);
            Assert.True(File.Exists(marker), "--dut-from-file did not run the stored command");
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    [Trait("Rule", "FRED-DUT-11")]
    public void The_printed_regenerate_and_replay_commands_name_the_runs_profile()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"fred-cx-{Guid.NewGuid():N}");
        string profile = Path.Combine(Path.GetTempPath(), $"fred-profile-{Guid.NewGuid():N}.profile");
        File.WriteAllText(profile, "name = mine\nallow no-compat\n");
        try
        {
            var (code, output, err) = Cli("run", "--dut", "mutant:syscall-cs-ss-stale", "--profile", profile, "--count", "500", "--seed", "1",
                "--max-failures", "1", "--quiet", "--save", dir);
            Assert.True(code == 1, $"exit {code}\n{output}\n{err}");
            Assert.Matches($"regenerate: fred-conform run --dut \"mutant:syscall-cs-ss-stale\" --profile \"{System.Text.RegularExpressions.Regex.Escape(profile)}\" --seed", output);
            Assert.Matches($"replay: fred-conform replay .* --profile \"{System.Text.RegularExpressions.Regex.Escape(profile)}\"", output);
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
            File.Delete(profile);
        }
    }

    [Theory]
    [InlineData("--junit", "DIR", "is a directory")]
    [InlineData("--junit", "FILE/x.xml", "is a file, not a directory")]
    [InlineData("--markdown", "FILE/x.md", "is a file, not a directory")]
    [InlineData("--save", "FILE", "is a file, not a directory")]
    [InlineData("--junit", "", "the path is empty")]
    [Trait("Rule", "FRED-DUT-09")]
    public void A_report_path_that_cannot_be_written_is_refused_before_the_run(string option, string what, string message)
    {
        string dir = Path.Combine(Path.GetTempPath(), $"fred-out-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        string file = Path.Combine(dir, "regular");
        File.WriteAllText(file, "");
        try
        {
            string value = what.Replace("DIR", dir).Replace("FILE", file);
            var (code, output, err) = Cli("run", "--dut", "model", "--count", "20000", option, value);
            Assert.True(code == 2, $"exit {code}\n{output}\n{err}");
            Assert.Contains($"{option}: ", err);
            Assert.Contains(message, err);
            Assert.DoesNotContain("VERDICT", output);                              // refused before any case ran
            Assert.DoesNotContain("Unhandled exception", err);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    [Trait("Rule", "FRED-DUT-09")]
    public void A_report_that_fails_to_write_at_the_end_is_named_not_a_crash()
    {
        if (!File.Exists("/dev/full")) return;                                       // Linux only: writes to it fail
        var (code, output, err) = Cli("run", "--dut", "model", "--count", "20", "--seed", "1", "--junit", "/dev/full");
        Assert.True(code == 0, $"exit {code}\n{output}\n{err}");
        Assert.Contains("VERDICT: PASS", output);
        Assert.Contains("could not write /dev/full", err);
        Assert.DoesNotContain("Unhandled exception", err);
    }
}
