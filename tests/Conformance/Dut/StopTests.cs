using Fred.Dut;

namespace Fred.Conformance.Dut;

/// <summary>A run stops, with a clear verdict, when its DUT keeps breaking or cannot be restarted (issue 13, item 8).</summary>
public class StopTests
{
    /// <summary>A DUT that greets, then hangs on every case.</summary>
    static string Hanging() => BoundedInputTests.ScriptDut("sleep 600");

    /// <summary>A DUT that crashes on its first case and, once it has crashed, never greets again.</summary>
    static string Unrestartable()
    {
        string marker = Path.Combine(Path.GetTempPath(), $"fred-dut-{Guid.NewGuid():N}.crashed");
        return BoundedInputTests.ScriptDut("read line\nexit 3", prelude: $"[ -e {marker} ] && exit 9\ntouch {marker}");
    }

    [Fact]
    [Trait("Rule", "FRED-DUT-09")]
    public void A_run_stops_after_the_given_number_of_broken_cases_in_a_row()
    {
        using var dut = ProcessDut.Start(Hanging(), TimeSpan.FromMilliseconds(300));
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var r = Campaign.Run(dut, "hanging", new CampaignOptions(1000, 1, MaxBrokenInARow: 3));
        Assert.Equal(3, r.Broken.Count);
        Assert.Equal(3, r.Run);
        Assert.Contains("the DUT broke on 3 cases in a row", r.Stopped);
        Assert.False(r.Ok);
        Assert.Contains("VERDICT: STOPPED", Reports.Text(r));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(20), $"took {watch.Elapsed}");
    }

    [Fact]
    [Trait("Rule", "FRED-DUT-13")]
    public void An_N_version_run_stops_when_one_DUT_breaks_the_given_number_of_cases_in_a_row()
    {
        using var hanging = ProcessDut.Start(Hanging(), TimeSpan.FromMilliseconds(300));
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var r = NVersion.Run([new NamedDut("model", new InProcessDut("model", CaseRunner.Model)), new NamedDut("hanging", hanging)],
            new CampaignOptions(1000, 1, BatchSize: 5, MaxBrokenInARow: 3, SaveDirectory: null));
        Assert.Null(r.Verdicts[0].Stopped);
        Assert.Contains("the DUT broke on 3 cases in a row", r.Verdicts[1].Stopped);
        Assert.Equal(3, r.Run);
        Assert.Contains("VERDICT: STOPPED: dut2: the DUT broke on 3 cases in a row", NVersionReports.Text(r));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(30), $"took {watch.Elapsed}");
    }

    [Fact]
    [Trait("Rule", "FRED-DUT-09")]
    public void A_DUT_that_cannot_be_restarted_stops_the_run_and_fred_conform_exits_2()
    {
        using (var dut = ProcessDut.Start(Unrestartable(), TimeSpan.FromSeconds(30)))
        {
            var r = Campaign.Run(dut, "unrestartable", new CampaignOptions(50, 1, MaxBrokenInARow: 0));
            Assert.Equal(1, r.Run);
            Assert.Single(r.Broken);
            Assert.Contains("could not be restarted", r.Stopped);
        }
        var (code, output, err) = Support.ShippedPrograms.FredConform("run", "--dut", Unrestartable(), "--count", "50", "--seed", "1", "--quiet");
        Assert.True(code == 2, $"exit {code}\n{output}\n{err}");
        Assert.Contains("VERDICT: STOPPED", output);
    }

    /// <summary>A DUT that answers its first three cases as the model would not (error answers), then hangs with a child process.</summary>
    static (string Command, string PidFile) HangingWithChild()
    {
        string pidFile = Path.Combine(Path.GetTempPath(), $"fred-dut-{Guid.NewGuid():N}.pid");
        return (BoundedInputTests.ScriptDut($"sleep 600 &\necho $! > {pidFile}\nwait"), pidFile);
    }

    static bool Alive(int pid) => File.Exists($"/proc/{pid}/stat") && !File.ReadAllText($"/proc/{pid}/stat").Split(' ')[2].Equals("Z");

    [Fact]
    [Trait("Rule", "FRED-DUT-09")]
    public void An_interrupted_campaign_returns_what_it_has_and_ends_the_DUTs_process_tree()
    {
        var (command, pidFile) = HangingWithChild();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        var watch = System.Diagnostics.Stopwatch.StartNew();
        CampaignResult r;
        int child;
        using (var dut = ProcessDut.Start(command, TimeSpan.FromSeconds(120)))
        {
            r = Campaign.Run(dut, "hanging", new CampaignOptions(100, 1), cancel: cts.Token);
            child = int.Parse(File.ReadAllText(pidFile).Trim());
        }
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(30), $"took {watch.Elapsed}");
        Assert.True(r.Interrupted);
        Assert.Null(r.Stopped);
        Assert.Equal(0, r.Run);
        Assert.Contains("VERDICT: INTERRUPTED after 0 of 100 cases", Reports.Text(r));
        Assert.Contains("interrupted", Reports.JUnit(r));
        for (int i = 0; i < 50 && Alive(child); i++) Thread.Sleep(100);
        Assert.False(Alive(child), $"the DUT's child {child} still runs");
        File.Delete(pidFile);
    }

    /// <summary>
    /// Runs fred-conform with the given DUTs (a hanging DUT with a child among them, as "{hanging}"), sends it SIGTERM once
    /// the DUT's child runs, and checks the exit status 130, the JUnit report and that the DUT's child was ended.
    /// Returns what fred-conform printed.
    /// </summary>
    static async Task<string> InterruptedRun(params string[] duts)
    {
        var (command, pidFile) = HangingWithChild();
        string junit = Path.Combine(Path.GetTempPath(), $"fred-junit-{Guid.NewGuid():N}.xml");
        var psi = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "fred-conform.dll"));
        psi.ArgumentList.Add("run");
        foreach (var d in duts) { psi.ArgumentList.Add("--dut"); psi.ArgumentList.Add(d == "{hanging}" ? command : d); }
        foreach (var x in new[] { "--count", "100", "--seed", "1", "--timeout-ms", "120000", "--junit", junit, "--quiet" }) psi.ArgumentList.Add(x);
        using var p = System.Diagnostics.Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEndAsync();
        var err = p.StandardError.ReadToEndAsync();
        for (int i = 0; i < 300 && !File.Exists(pidFile); i++) await Task.Delay(100);
        await Task.Delay(500);
        System.Diagnostics.Process.Start("kill", ["-TERM", p.Id.ToString()])!.WaitForExit();
        Assert.True(p.WaitForExit(30_000), "fred-conform did not end after SIGTERM");
        string stdout = await output, stderr = await err;
        Assert.True(p.ExitCode == 130, $"exit {p.ExitCode}\n{stdout}\n{stderr}");
        Assert.True(File.Exists(junit), "no JUnit report written");
        string report = File.ReadAllText(junit);
        int child = int.Parse(File.ReadAllText(pidFile).Trim());
        for (int i = 0; i < 50 && Alive(child); i++) Thread.Sleep(100);
        Assert.False(Alive(child), $"the DUT's child {child} still runs");
        File.Delete(junit);
        File.Delete(pidFile);
        return stdout + "\n" + report;
    }

    [Fact]
    [Trait("Rule", "FRED-DUT-09")]
    public async Task Fred_conform_on_SIGTERM_writes_its_reports_marked_interrupted()
    {
        string printed = await InterruptedRun("{hanging}");
        Assert.Contains("VERDICT: INTERRUPTED", printed);
        Assert.Contains("interrupted", printed);
    }

    [Fact]
    [Trait("Rule", "FRED-DUT-13")]
    public async Task An_N_version_run_on_SIGTERM_ends_with_130_and_ends_its_DUTs()
    {
        string printed = await InterruptedRun("model", "{hanging}");
        Assert.Contains("VERDICT: INTERRUPTED", printed);
    }
}
