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
}
