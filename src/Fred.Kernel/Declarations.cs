using System.Text;
using System.Text.RegularExpressions;

namespace Fred.Kernel;

/// <summary>
/// A user's declarations file (FRED-KDIFF-02): kernel services the dispatch file calls that the stub kernel lacks, one
/// C prototype a line (`void name(struct pt_regs *regs);`, `int name(struct pt_regs *regs, unsigned long code);`);
/// blank lines and lines starting with // or # are ignored. Each becomes a declaration in the stub header and a
/// recording definition that logs "name(regs)" and returns 0.
/// </summary>
public sealed partial record Declarations(string HeaderText, string RuntimeText, IReadOnlyList<string> Names)
{
    /// <summary>No declarations.</summary>
    public static Declarations None { get; } = new("", "", []);

    /// <summary>Parses a declarations file; an error names the line and what is wrong with it.</summary>
    public static (Declarations? Value, string? Error) Parse(string path, string text)
    {
        var header = new StringBuilder();
        var runtime = new StringBuilder();
        var names = new List<string>();
        var lines = text.Replace("\r\n", "\n").Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i].Trim();
            if (line.Length == 0 || line.StartsWith("//", StringComparison.Ordinal) || line.StartsWith('#')) continue;
            var m = Prototype().Match(line);
            if (!m.Success)
                return (null, $"{path}:{i + 1}: not a C prototype of the form `type name(parameters);`: {Short(line)}");
            string ret = m.Groups[1].Value.Trim(), name = m.Groups[2].Value, parameters = m.Groups[3].Value.Trim();
            if (names.Contains(name)) return (null, $"{path}:{i + 1}: {name} is declared twice");
            var named = NameParameters(parameters);
            header.AppendLine($"{ret} {name}({parameters});");
            string body = $"fred_rec(\"{name}\", \"regs\");" + (ret == "void" ? "" : $" return ({ret})0;");
            runtime.AppendLine($"{ret} {name}({named}) {{ {body} }}");
            names.Add(name);
        }
        return (new(header.ToString(), runtime.ToString(), names), null);
    }

    /// <summary>The parameter list with every parameter named (p0, p1...), so it can head a definition.</summary>
    static string NameParameters(string parameters)
    {
        if (parameters is "" or "void") return "void";
        var parts = parameters.Split(',');
        for (int k = 0; k < parts.Length; k++)
        {
            string p = parts[k].Trim();
            var m = TrailingName().Match(p);
            bool hasName = m.Success && !TypeWords.Contains(m.Groups[1].Value) && p != m.Groups[1].Value;
            parts[k] = hasName ? p : $"{p} p{k}";
        }
        return string.Join(", ", parts);
    }

    static readonly HashSet<string> TypeWords = ["int", "long", "short", "char", "unsigned", "signed", "bool", "u8", "u16", "u32", "u64", "void", "irqentry_state_t"];

    static string Short(string s) => s.Length <= 120 ? s : s[..120] + "...";

    [GeneratedRegex(@"^((?:[A-Za-z_][A-Za-z0-9_]*\s+)+\**\s*)([A-Za-z_][A-Za-z0-9_]*)\s*\(([^()]*)\)\s*;$")]
    private static partial Regex Prototype();

    [GeneratedRegex(@"([A-Za-z_][A-Za-z0-9_]*)\s*$")]
    private static partial Regex TrailingName();
}
