using Fred.Dut;
using Fred.Generators;
using Fred.Model;
using FsCheck.Fluent;

namespace Fred.Conformance.Dut;

/// <summary>DUT profiles: parsed strictly, honoured by the generators and by the comparator.</summary>
public class ProfileTests
{
    public static TheoryData<string, string> Broken => new()
    {
        { "name = x\nallow nmi-data", "test.profile:2: unknown divergence \"nmi-data\"" },
        { "revisions = fred4", "test.profile:1: unknown revision \"fred4\"" },
        { "# c\n\nspeed = 3", "test.profile:3: unknown setting \"speed\"" },
        { "allow no-cet\nallow no-cet", "test.profile:2: \"no-cet\" is allowed twice" },
        { "name = a\nname = b", "test.profile:2: name is set twice" },
        { "just words", "test.profile:1: expected \"name = ...\", \"revisions = ...\", \"unobserved = ...\" or \"allow <divergence>\"" },
        { "unobserved = rip, nmi_blockd", "test.profile:1: unknown state field \"nmi_blockd\"" },
        { "unobserved = efer, efer", "test.profile:1: \"efer\" is listed twice" },
        { "unobserved = efer\nunobserved = star", "test.profile:2: unobserved is set twice" },
        { "allow", "test.profile:1: \"allow\" needs a divergence" },
    };

    [Theory]
    [MemberData(nameof(Broken))]
    [Trait("Rule", "FRED-DUT-11")]
    public void A_malformed_profile_is_refused_naming_file_line_and_problem(string text, string message)
    {
        var ex = Assert.Throws<ProfileException>(() => DutProfile.Parse(text.Split('\n'), "test.profile"));
        Assert.StartsWith(message, ex.Message);
    }

    [Fact]
    [Trait("Rule", "FRED-DUT-11")]
    public void A_profile_reads_its_settings()
    {
        var p = DutProfile.Parse(["name = Bochs 3.0  # tested 2026", "revisions = fred5", "allow nested-bit-not-reported", "allow no-cet"], "b.profile");
        Assert.Equal("Bochs 3.0", p.Name);
        Assert.Equal([Revision.Fred5], p.Revisions);
        Assert.True(p.Allows(DutProfile.NoCet) && p.Allows(DutProfile.NestedBitNotReported) && !p.Allows(DutProfile.NoCompat));
        Assert.Contains("nested-bit-not-reported", p.ToString());
        Assert.Throws<ProfileException>(() => DutProfile.Load("/nonexistent/x.profile"));
    }

    [Fact]
    [Trait("Rule", "FRED-DUT-11")]
    public void Generators_honour_the_shape_a_profile_asks_for()
    {
        var profile = DutProfile.Parse(["revisions = fred3", "allow no-cet", "allow no-compat"], "p");
        var hello = new DutHello("x", 1, [Revision.Fred3, Revision.Fred5], DutFeatures.All);
        var shape = Campaign.ShapeFor(hello, profile);
        for (int i = 0; i < 300; i++)
        {
            var c = Campaign.Generate(shape, 9, i);
            Assert.Equal(Revision.Fred3, c.Initial.Revision);
            Assert.True(c.Initial.Is64BitMode, $"case {i} starts in compatibility mode");
            Assert.False(c.Initial.SupervisorShadowStack || c.Initial.UserShadowStack, $"case {i} has shadow stacks on");
        }
    }

    [Theory]
    [InlineData("nmi-event-data-zero", DutProfile.NmiEventDataAbsent)]
    [InlineData("nested-bit-missing", DutProfile.NestedBitNotReported)]
    [Trait("Rule", "FRED-DUT-11")]
    public void An_allowed_divergence_is_not_a_failure_and_a_strict_profile_catches_it(string mutant, string divergence)
    {
        var m = Mutants.Find(mutant)!;
        using var dut = new InProcessDut(m.Name, m.Impl);
        var strict = Campaign.Run(dut, m.Name, new CampaignOptions(2000, 1, MaxFailures: 1));
        Assert.False(strict.Ok, $"{mutant} should fail under the strict profile");
        var allowing = DutProfile.Parse([$"allow {divergence}"], "p");
        var relaxed = Campaign.Run(dut, m.Name, new CampaignOptions(2000, 1, Profile: allowing));
        Assert.True(relaxed.Ok, Reports.Text(relaxed));
    }
}
