using Fred.Dut;
using Fred.Generators;
using Fred.Model;
using static Fred.Conformance.Support.Conformance;

namespace Fred.Conformance.Dut;

/// <summary>The protocol end to end: Fred drives DUT processes over pipes.</summary>
public class EndToEndTests
{
    static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The DUT named by FRED_DUT (a command line, "model" or "mutant:NAME"), or the model DUT when it is unset, must agree
    /// with the model on every generated case. FRED_DUT_PROFILE names a profile file; FRED_MAX_TEST scales the count.
    /// </summary>
    [Fact]
    [Trait("Rule", "FRED-DUT-02")]
    [Trait("Rule", "FRED-DUT-08")]
    public void The_named_DUT_agrees_with_the_model()
    {
        string dut = Environment.GetEnvironmentVariable("FRED_DUT") is { Length: > 0 } d ? d : "model";
        var profile = Environment.GetEnvironmentVariable("FRED_DUT_PROFILE") is { Length: > 0 } p ? DutProfile.Load(p) : DutProfile.Strict;
        string command = DutCommand.Resolve(dut);
        using var process = ProcessDut.Start(command, Timeout);
        var r = Campaign.Run(process, command, new CampaignOptions(Cases(1000), Seed: 0xF2ED, Profile: profile, MaxFailures: 3,
            SaveDirectory: Environment.GetEnvironmentVariable("FRED_DUT_SAVE")));
        Assert.True(r.Ok, Reports.Text(r));
        Assert.True(r.Passed + r.Unsupported == r.Run, Reports.Text(r));
        Assert.True(r.ByRule.Count >= 60, $"only {r.ByRule.Count} rules exercised");
    }

    public static TheoryData<string, string> Misbehaviours => new()
    {
        { "crash@3", "crash" },
        { "garbage@2", "garbage" },
        { "reorder@2", "order" },
        { "hang@4", "timeout" },
    };

    [Theory]
    [MemberData(nameof(Misbehaviours))]
    [Trait("Rule", "FRED-DUT-09")]
    public void A_misbehaving_DUT_gets_a_verdict_for_that_case_and_the_run_goes_on(string misbehave, string kind)
    {
        string command = DutCommand.ModelDut($"--misbehave {misbehave}");
        using var dut = ProcessDut.Start(command, TimeSpan.FromSeconds(kind == "timeout" ? 2 : 30));
        var cases = Enumerable.Range(0, 7).Select(i => Campaign.Generate(Arbitraries.DutShape.Full, 5, i)).ToArray();
        var results = dut.Run(cases);
        Assert.Equal(cases.Length, results.Count);
        // Each (re)started DUT misbehaves at its k-th answer, so cases k-1, 2k-1, ... get verdicts; every other case is
        // answered by a restarted DUT, and nothing answered before a verdict is lost.
        int k = int.Parse(misbehave.Split('@')[1]);
        for (int i = 0; i < cases.Length; i++)
        {
            if ((i + 1) % k == 0)
            {
                var broke = Assert.IsType<DutBroke>(results[i]);
                Assert.Equal(kind, broke.Kind);
                Assert.Equal(cases[i].Id, broke.Id);
                if (kind == "garbage") Assert.Contains("output line 3", broke.Detail);
                if (kind == "crash") Assert.Contains("crashing on purpose", broke.Detail);
                continue;
            }
            var a = Assert.IsType<Answered>(results[i]);
            Assert.Empty(Comparator.Compare(cases[i], Campaign.Expect(cases[i]), a, DutProfile.Strict));
        }
        Assert.True(dut.Starts >= 2, "the DUT should have been restarted");
    }

    [Fact]
    [Trait("Rule", "FRED-DUT-02")]
    public void A_DUT_that_will_not_start_or_greet_gets_a_clear_error()
    {
        var missing = Assert.Throws<DutStartException>(() => ProcessDut.Start("/nonexistent/fred-dut --x", Timeout));
        Assert.Contains("could not start", missing.Message);
        var silent = Assert.Throws<DutStartException>(() => ProcessDut.Start("sh -c 'echo hello there; exit 0'", Timeout));
        Assert.Contains("output line 1", silent.Message);
        Assert.Contains("not JSON", silent.Message);
        var gone = Assert.Throws<DutStartException>(() => ProcessDut.Start("sh -c 'echo oops >&2; exit 4'", Timeout));
        Assert.Contains("exit code 4", gone.Message);
        Assert.Contains("oops", gone.Message);
        var old = Assert.Throws<DutStartException>(() => ProcessDut.Start("sh -c 'echo {\\\"type\\\":\\\"hello\\\",\\\"protocol\\\":9,\\\"revisions\\\":[\\\"fred5\\\"]}; sleep 5'", Timeout));
        Assert.Contains("protocol version 9", old.Message);
    }

    [Fact]
    [Trait("Rule", "FRED-DUT-07")]
    public void A_DUT_declines_a_revision_it_does_not_implement_and_Fred_only_sends_what_it_implements()
    {
        using var dut = ProcessDut.Start(DutCommand.ModelDut("--revisions fred5 --features none"), Timeout);
        Assert.Equal([Revision.Fred5], dut.Hello.Revisions);
        var fred3 = Campaign.Generate(Arbitraries.DutShape.Full, 1, 0) with { Initial = World.Kernel(Revision.Fred3) };
        Assert.IsType<Unsupported>(dut.Run([fred3])[0]);
        var r = Campaign.Run(dut, "model --revisions fred5", new CampaignOptions(200, 3));
        Assert.True(r.Ok, Reports.Text(r));
        Assert.Equal(0, r.Unsupported);
        var shape = Campaign.ShapeFor(dut.Hello, DutProfile.Strict);
        Assert.False(shape.Cet);
        Assert.False(shape.Compat);
    }
}
