using System.Reflection;
using System.Text.RegularExpressions;

namespace Fred.Dut;

/// <summary>One rule of spec/: its stable id, title and the file it is in.</summary>
public sealed record SpecRule(string Id, string Title, string File)
{
    /// <summary>The area: MSR, FRAME, DELIV ...</summary>
    public string Area => Id.Split('-')[1];
}

/// <summary>The rules of spec/, read from the copy built into this assembly.</summary>
public static partial class SpecRules
{
    [GeneratedRegex(@"^### (FRED-[A-Z]+-\d\d): (.+)$", RegexOptions.Multiline)]
    private static partial Regex Heading();

    /// <summary>Every rule, in spec order.</summary>
    public static IReadOnlyList<SpecRule> All { get; } = Load();

    /// <summary>The title of a rule id, or the id itself.</summary>
    public static string Title(string id) => All.FirstOrDefault(r => r.Id == id)?.Title ?? id;

    /// <summary>The text of one spec file built into this assembly ("image-format.md"), or null.</summary>
    public static string? Text(string file)
    {
        using var s = Assembly.GetExecutingAssembly().GetManifestResourceStream("spec/" + file);
        return s is null ? null : new StreamReader(s).ReadToEnd();
    }

    static SpecRule[] Load()
    {
        var asm = Assembly.GetExecutingAssembly();
        var rules = new List<SpecRule>();
        foreach (var name in asm.GetManifestResourceNames().Where(n => n.StartsWith("spec/", StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            using var s = asm.GetManifestResourceStream(name)!;
            string text = new StreamReader(s).ReadToEnd();
            foreach (Match m in Heading().Matches(text))
                rules.Add(new SpecRule(m.Groups[1].Value, m.Groups[2].Value.Trim(), name));
        }
        return [.. rules];
    }
}
