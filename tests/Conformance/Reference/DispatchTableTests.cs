using Fred.Reference;
using Snapshooter;
using Snapshooter.Xunit;

namespace Fred.Conformance.Reference;

/// <summary>
/// Each profile's full dispatch table kept as a Snapshooter snapshot (so any change is reviewed as a diff), and the
/// generated table of differences between the profiles kept in spec/.
/// </summary>
public class DispatchTableTests
{
    /// <summary>The configurations the snapshots cover: the default and each setting toggled on its own.</summary>
    public static TheoryData<string, KernelConfig> Configurations => new()
    {
        { "default", KernelConfig.Default },
        { "no-ia32-emulation", KernelConfig.Default with { Ia32Emulation = false, Ia32Enabled = false } },
        { "ia32-disabled", KernelConfig.Default with { Ia32Enabled = false } },
        { "no-mce", KernelConfig.Default with { MachineCheck = false } },
        { "no-cet", KernelConfig.Default with { Cet = false } },
        { "tdx-guest", KernelConfig.Default with { TdxGuest = true } },
        { "first-sysvec-ec", KernelConfig.Default with { FirstSystemVector = 0xEC } },
    };

    [Theory]
    [Trait("Rule", "FRED-KRN-15")]
    [MemberData(nameof(Configurations))]
    public void Rfc2022_dispatch_table(string name, KernelConfig config) =>
        Snapshot.Match(DispatchTable.Build(Profile.Rfc2022, config).Select(r => r.ToString()).ToList(), SnapshotNameExtension.Create(name));

    [Theory]
    [Trait("Rule", "FRED-KRN-15")]
    [MemberData(nameof(Configurations))]
    public void Mainline_dispatch_table(string name, KernelConfig config) =>
        Snapshot.Match(DispatchTable.Build(Profile.Mainline, config).Select(r => r.ToString()).ToList(), SnapshotNameExtension.Create(name));

    [Fact]
    [Trait("Rule", "FRED-KRN-15")]
    public void The_differences_table_in_spec_is_what_the_reference_computes()
    {
        string root = SpecCoverageTests.RepositoryRoot();
        string path = Path.Combine(root, "spec", "13-dispatch-differences.md");
        string generated = DispatchTable.DifferencesMarkdown(KernelConfig.Default);
        if (Environment.GetEnvironmentVariable("FRED_UPDATE_SPEC") == "1") File.WriteAllText(path, generated);
        Assert.True(File.Exists(path), $"{path} is missing: run FRED_UPDATE_SPEC=1 dotnet test --filter Rule=FRED-KRN-15");
        Assert.True(File.ReadAllText(path) == generated,
            $"{path} is out of date with the reference: run FRED_UPDATE_SPEC=1 dotnet test --filter Rule=FRED-KRN-15 and review the diff");
    }

    [Fact]
    [Trait("Rule", "FRED-KRN-15")]
    public void Tables_cover_every_type_vector_and_ring()
    {
        foreach (var profile in Enum.GetValues<Profile>())
        {
            var rows = DispatchTable.Build(profile, KernelConfig.Default);
            foreach (bool user in new[] { true, false })
                for (int type = 0; type < 16; type++)
                {
                    var cells = rows.Where(r => r.FromUser == user && r.Type == type).ToList();
                    int modes = type == 7 && user ? 2 : 1;
                    Assert.Equal(256 * modes, cells.Sum(r => r.LastVector - r.FirstVector + 1));
                }
        }
    }
}
