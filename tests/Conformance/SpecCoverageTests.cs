using System.Reflection;
using System.Text.RegularExpressions;

namespace Fred.Conformance;

/// <summary>Every rule id in spec/ is named by at least one test's Rule trait, and every trait names a rule that exists.</summary>
public partial class SpecCoverageTests
{
    public static string RepositoryRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Fred.sln"))) return d.FullName;
        throw new InvalidOperationException($"Fred.sln not found above {AppContext.BaseDirectory}");
    }

    static HashSet<string> SpecRuleIds() =>
        Directory.GetFiles(Path.Combine(RepositoryRoot(), "spec"), "*.md")
            .SelectMany(f => HeadingId().Matches(File.ReadAllText(f)).Select(m => m.Groups[1].Value))
            .ToHashSet();

    static HashSet<string> TestedRuleIds() =>
        typeof(SpecCoverageTests).Assembly.GetTypes()
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static))
            .SelectMany(m => m.GetCustomAttributesData())
            .Where(a => a.AttributeType == typeof(TraitAttribute) && (string?)a.ConstructorArguments[0].Value == "Rule")
            .Select(a => (string)a.ConstructorArguments[1].Value!)
            .ToHashSet();

    [Fact]
    public void Every_spec_rule_is_named_by_a_test()
    {
        var spec = SpecRuleIds();
        Assert.True(spec.Count >= 80, $"spec/ defines only {spec.Count} rules");
        var untested = spec.Except(TestedRuleIds()).Order().ToList();
        Assert.True(untested.Count == 0, "rules no test names: " + string.Join(", ", untested));
    }

    [Fact]
    public void Every_tested_rule_exists_in_the_spec()
    {
        var unknown = TestedRuleIds().Except(SpecRuleIds()).Order().ToList();
        Assert.True(unknown.Count == 0, "tests name rules the spec does not define: " + string.Join(", ", unknown));
    }

    [Fact]
    public void Every_rule_the_code_names_exists_in_the_spec()
    {
        // The comparator's attribution, the mutants and the model's comments name rules in string literals and comments.
        var spec = SpecRuleIds();
        var unknown = Directory.GetFiles(Path.Combine(RepositoryRoot(), "src"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}") && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}"))
            .SelectMany(f => AnyId().Matches(File.ReadAllText(f)).Select(m => (Id: m.Value, File: Path.GetFileName(f))))
            .Where(x => !spec.Contains(x.Id))
            .Select(x => $"{x.Id} ({x.File})").Distinct().Order().ToList();
        Assert.True(unknown.Count == 0, "the code names rules the spec does not define: " + string.Join(", ", unknown));
    }

    [GeneratedRegex(@"^### (FRED-[A-Z]+-\d{2}):", RegexOptions.Multiline)]
    private static partial Regex HeadingId();

    [GeneratedRegex(@"FRED-[A-Z]+-\d{2}")]
    private static partial Regex AnyId();
}
