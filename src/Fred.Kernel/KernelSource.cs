namespace Fred.Kernel;

/// <summary>
/// A kernel's FRED dispatch file (FRED-KDIFF-01): arch/x86/entry/entry_fred.c as a file, or taken out of a patch that
/// creates it (a `diff --git` or mbox such as the RFC series), as text to compile.
/// </summary>
public sealed record KernelSource(string Path, string Text, bool FromPatch)
{
    /// <summary>The path a patch must create.</summary>
    public const string DispatchFile = "arch/x86/entry/entry_fred.c";

    /// <summary>Reads <paramref name="path"/>; an error names the file and what was wrong.</summary>
    public static (KernelSource? Source, string? Error) Load(string path)
    {
        string text;
        try { text = File.ReadAllText(path); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        { return (null, $"{path}: cannot read the kernel source: {ex.Message}"); }
        return Parse(path, text);
    }

    /// <summary>The dispatch file in <paramref name="text"/>: the text itself, or the file a patch in it creates.</summary>
    public static (KernelSource? Source, string? Error) Parse(string path, string text)
    {
        var lines = text.Replace("\r\n", "\n").Split('\n');
        int header = Array.FindIndex(lines, l => l.StartsWith("+++ b/" + DispatchFile, StringComparison.Ordinal));
        if (header < 0)
        {
            if (lines.Any(l => l.StartsWith("diff --git ", StringComparison.Ordinal)))
                return (null, $"{path}: a patch, but it does not touch {DispatchFile}");
            if (!text.Contains("fred_entry_from_user", StringComparison.Ordinal))
                return (null, $"{path}: neither a patch creating {DispatchFile} nor a C file defining fred_entry_from_user");
            return (new(path, text, false), null);
        }
        var body = new List<string>();
        int i = header + 1;
        if (i >= lines.Length || !lines[i].StartsWith("@@ -0,0 ", StringComparison.Ordinal))
            return (null, $"{path}:{i + 1}: the patch changes {DispatchFile} instead of creating it; pass the file from a tree with the patch applied");
        for (i++; i < lines.Length; i++)
        {
            string l = lines[i];
            if (l.StartsWith("diff --git ", StringComparison.Ordinal) || l.StartsWith("--", StringComparison.Ordinal) && !l.StartsWith("+", StringComparison.Ordinal) && l.TrimEnd() == "--") break;
            if (l.StartsWith("@@", StringComparison.Ordinal)) continue;
            if (l.StartsWith('+')) body.Add(l[1..]);
            else if (l.Length == 0 || l.StartsWith('\\')) continue;
            else break;
        }
        if (body.Count == 0) return (null, $"{path}:{header + 1}: the patch creates an empty {DispatchFile}");
        return (new(path, string.Join('\n', body) + "\n", true), null);
    }
}
