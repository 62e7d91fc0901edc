using Fred.Dut;
using Fred.Model;

namespace Fred.Conformance.Dut;

/// <summary>Shrinking across the DUT boundary keeps the failure's signature and makes the case smaller.</summary>
public class ShrinkTests
{
    [Theory]
    [InlineData("red-zone-ignored")]
    [InlineData("eret-unblocks-nmi-always")]
    [InlineData("nested-bit-missing")]
    [InlineData("wrmsr-config-reserved")]
    [Trait("Rule", "FRED-DUT-08")]
    public void A_failure_shrinks_without_turning_into_another_one(string mutant)
    {
        var m = Mutants.Find(mutant)!;
        using var dut = new InProcessDut(m.Name, m.Impl);
        var r = Campaign.Run(dut, m.Name, new CampaignOptions(3000, 2, MaxFailures: 1));
        var f = Assert.Single(r.Failures);
        var originalMismatches = Comparator.Compare(f.Original, Campaign.Expect(f.Original), CaseRunner.Run(m.Impl, f.Original), DutProfile.Strict);
        Assert.Equal(Comparator.Signature(f.Original, originalMismatches), f.Signature);
        Assert.Equal(f.Signature, Comparator.Signature(f.Case, f.Mismatches));
        Assert.True(f.Case.Steps.Count <= f.Original.Steps.Count);
        // The shrunk case is a real counterexample: run again, the mutant still disagrees the same way.
        var again = Comparator.Compare(f.Case, Campaign.Expect(f.Case), CaseRunner.Run(m.Impl, f.Case), DutProfile.Strict);
        Assert.Equal(f.Signature, Comparator.Signature(f.Case, again));
        Assert.Contains(m.Rule, f.Rules);
    }

    [Fact]
    [Trait("Rule", "FRED-DUT-08")]
    public void Mismatches_name_frame_slots_and_the_rules_that_govern_them()
    {
        var m = Mutants.Find("pf-event-data-zero")!;
        var s = Fred.Generators.World.User();
        var c = new DutCase(1, s, [new DeliverStep(Event.PageFault(4, 0x7000_1234))]);
        var ms = Comparator.Compare(c, Campaign.Expect(c), CaseRunner.Run(m.Impl, c), DutProfile.Strict);
        var mm = Assert.Single(ms);
        Assert.Equal("frame.event_data", mm.Field);
        Assert.Equal("0x0000000070001234", mm.Expected);
        Assert.Equal("0x0000000000000000", mm.Observed);
        Assert.Equal(["FRED-DATA-01"], mm.Rules);
        Assert.Equal("deliver: frame.event_data", Comparator.Signature(c, ms));
    }
}
