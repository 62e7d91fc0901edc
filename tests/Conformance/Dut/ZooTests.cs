using Fred.Dut;

namespace Fred.Conformance.Dut;

/// <summary>The mutant zoo: every deliberately wrong DUT is killed through the protocol at default counts.</summary>
public class ZooTests
{
    /// <summary>Cases per mutant in the default run, and the seed: the same as `fred-conform zoo` uses by default.</summary>
    public const int DefaultCount = 2000;
    const ulong Seed = 1;

    public static TheoryData<string> Names => new(Mutants.All.Select(m => m.Name));

    [Theory]
    [MemberData(nameof(Names))]
    [Trait("Rule", "FRED-DUT-08")]
    [Trait("Rule", "FRED-DUT-10")]
    public void Every_mutant_is_killed_through_the_protocol(string name)
    {
        var m = Mutants.Find(name)!;
        var row = Zoo.Hunt(m, x => ProcessDut.Start(DutCommand.Resolve($"mutant:{x.Name}"), TimeSpan.FromSeconds(30)), DefaultCount, Seed, 100);
        Assert.True(row.Broke is null, $"mutant {name}: the DUT broke: {row.Broke}");
        Assert.True(row.Killed, $"mutant {name} ({m.Breaks}) survived {row.CasesToKill} cases");
        Assert.InRange(row.ShrunkSteps, 1, 4);
    }

    [Fact]
    [Trait("Rule", "FRED-DUT-10")]
    public void The_zoo_is_large_names_real_rules_and_includes_the_historical_bugs()
    {
        Assert.True(Mutants.All.Count >= 30, $"only {Mutants.All.Count} mutants");
        Assert.Equal(Mutants.All.Count, Mutants.All.Select(m => m.Name).Distinct().Count());
        var ids = SpecRules.All.Select(r => r.Id).ToHashSet();
        foreach (var m in Mutants.All) Assert.True(ids.Contains(m.Rule), $"mutant {m.Name} names unknown rule {m.Rule}");
        foreach (var name in new[] { "ssp-wrong-level", "syscall-cs-ss-stale", "nested-bit-missing" })
            Assert.NotNull(Mutants.Find(name)?.History);
    }

    [Fact]
    [Trait("Rule", "FRED-DUT-10")]
    public void The_kill_matrix_in_docs_lists_every_mutant()
    {
        string path = Path.Combine(SpecCoverageTests.RepositoryRoot(), "docs", "kill-matrix.md");
        Assert.True(File.Exists(path), $"{path} is missing: regenerate it with fred-conform zoo --markdown docs/kill-matrix.md");
        string text = File.ReadAllText(path);
        var missing = Mutants.All.Where(m => !text.Contains($"`{m.Name}`")).Select(m => m.Name).ToArray();
        Assert.True(missing.Length == 0, $"docs/kill-matrix.md lacks {string.Join(", ", missing)}: regenerate it with fred-conform zoo --markdown docs/kill-matrix.md");
    }
}
