using Fred.Dut;

namespace Fred.Conformance.Image;

/// <summary>
/// The FRED-enabled Bochs that FRED_BOCHS names (with its CPU model in FRED_BOCHS_CPU), for the tests that raise events
/// for real in it; without one those tests are skipped, saying why.
/// </summary>
public static class FredBochs
{
    /// <summary>The adapter settings and the image profile, or a skip when no FRED Bochs is named.</summary>
    public static (Fred.Bochs.BochsSettings Settings, DutProfile Profile) Require()
    {
        string? bochs = Environment.GetEnvironmentVariable("FRED_BOCHS");
        string? cpu = Environment.GetEnvironmentVariable("FRED_BOCHS_CPU");
        Skip.If(string.IsNullOrEmpty(bochs) || string.IsNullOrEmpty(cpu),
            "no FRED Bochs: set FRED_BOCHS to a Bochs built with FRED and FRED_BOCHS_CPU to its FRED CPU model (README, \"Running inside a real emulator\")");
        var settings = Fred.Bochs.BochsSetup.Resolve(bochs!, null, null, cpu!, null, false, 120_000, null, (m, _) => throw new Xunit.Sdk.XunitException(m));
        var profile = DutProfile.Load(Path.Combine(SpecCoverageTests.RepositoryRoot(), "profiles", "bochs-image.profile"));
        return (settings, profile);
    }
}
