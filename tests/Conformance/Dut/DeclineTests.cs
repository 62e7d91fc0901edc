using Fred.Dut;
using Fred.Model;

namespace Fred.Conformance.Dut;

/// <summary>A run counts the cases a DUT declines by the reason it gives, and every report prints them.</summary>
public class DeclineTests
{
    /// <summary>The model, except that it declines every case whose first step is an ERET, or whose id is a multiple of 7.</summary>
    sealed class Choosy : IDut
    {
        public DutHello Hello { get; } = new("choosy", ProtocolVersion.Current, [Revision.Fred3, Revision.Fred5], DutFeatures.All);

        public IReadOnlyList<CaseResult> Run(IReadOnlyList<DutCase> batch) => batch.Select(c =>
            c.Steps[0] is EretuStep or EretsStep ? new Unsupported(c.Id, "no ERET as a first step")
            : c.Id % 7 == 0 ? new Unsupported(c.Id, "the seventh case")
            : (CaseResult)CaseRunner.Run(CaseRunner.Model, c)).ToArray();

        public void Dispose() { }
    }

    [Fact]
    [Trait("Rule", "FRED-DUT-07")]
    public void Declined_cases_are_counted_by_reason_in_every_report()
    {
        using var dut = new Choosy();
        var r = Campaign.Run(dut, "choosy", new CampaignOptions(300, 5));
        Assert.True(r.Ok);
        Assert.Equal(r.Unsupported, r.DeclinedBecause.Values.Sum());
        Assert.True(r.DeclinedBecause["the seventh case"] > 0);
        Assert.True(r.DeclinedBecause.ContainsKey("no ERET as a first step"));
        Assert.Contains("declined", Reports.Text(r));
        Assert.Contains("no ERET as a first step", Reports.Text(r));
        Assert.Contains("the seventh case", Reports.Markdown(r));
    }
}
