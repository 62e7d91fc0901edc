using System.Text;
using System.Xml;

namespace Fred.Kernel;

/// <summary>The report of a kernel differential as text (terminal), Markdown and JUnit XML (FRED-KDIFF-05).</summary>
public static class KernelReportText
{
    /// <summary>The spec rule of the reference that covers a class, from the call where the traces part.</summary>
    public static string RuleFor(KernelDisagreement d, Fred.Reference.Profile profile)
    {
        string where = d.Reference + " " + d.Aspect;
        if (where.Contains("fred_bad", StringComparison.Ordinal) || where.Contains("oops", StringComparison.Ordinal) || where.Contains("panic", StringComparison.Ordinal)) return "FRED-KRN-10";
        if (where.Contains("syscall", StringComparison.Ordinal) || d.Aspect is "pt_regs ax after dispatch" or "pt_regs orig_ax after dispatch") return "FRED-KRN-11";
        if (where.Contains("array_index_nospec", StringComparison.Ordinal)) return "FRED-KRN-16";
        return profile == Fred.Reference.Profile.Rfc2022 ? "FRED-KRN-01" : "FRED-KRN-06";   // the profile's table/switch rule
    }

    /// <summary>Plain text: the verdict, then each class with its count, its smallest input, and both traces.</summary>
    public static string Render(KernelReport r)
    {
        var sb = new StringBuilder();
        foreach (var s in r.Skipped) sb.AppendLine($"skipped configuration (the file does not build for it): {s}");
        foreach (var e in r.Errors) sb.AppendLine($"error: {e}");
        foreach (var (cls, count, d) in r.Classes)
        {
            sb.AppendLine($"DISAGREE ({count:N0} inputs) {cls}   [{RuleFor(d, r.Profile)}]");
            sb.AppendLine($"  smallest input: {d.Input}");
            sb.AppendLine($"  reference ({r.Profile}): {d.ReferenceResult.Fate}: {d.ReferenceResult.TraceText}");
            sb.AppendLine($"  compiled C:          {d.KernelResult.Fate}: {d.KernelResult.TraceText}");
            sb.AppendLine($"  first difference: reference {d.Reference} | C {d.Kernel}");
        }
        string verdict = r.Errors.Count > 0 ? "KERNEL ERROR" : r.Classes.Count > 0 ? "KERNEL DISAGREE" : "KERNEL AGREE";
        sb.AppendLine($"{verdict}: {r.Compared:N0} inputs compared with {r.Profile}; {r.Classes.Count} disagreeing class(es), " +
                      $"{r.Classes.Sum(c => c.Count):N0} disagreeing input(s), {r.Errors.Count} error(s), {r.Skipped.Count} configuration(s) skipped");
        return sb.ToString();
    }

    /// <summary>Markdown: a summary table and a section per class.</summary>
    public static string Markdown(KernelReport r, string sourcePath)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"# Kernel dispatch differential: `{Escape(sourcePath)}` against {r.Profile}");
        sb.AppendLine();
        sb.AppendLine($"{r.Compared:N0} inputs compared; {r.Classes.Count} disagreeing class(es); {r.Errors.Count} error(s); {r.Skipped.Count} configuration(s) skipped.");
        sb.AppendLine();
        if (r.Classes.Count > 0)
        {
            sb.AppendLine("| class | inputs | rule |");
            sb.AppendLine("|---|---|---|");
            foreach (var (cls, count, d) in r.Classes) sb.AppendLine($"| {Escape(cls)} | {count:N0} | {RuleFor(d, r.Profile)} |");
            sb.AppendLine();
        }
        foreach (var (cls, _, d) in r.Classes)
        {
            sb.AppendLine($"## {Escape(cls)}");
            sb.AppendLine();
            sb.AppendLine($"- smallest input: `{d.Input}`");
            sb.AppendLine($"- reference: `{d.ReferenceResult.Fate}: {d.ReferenceResult.TraceText}`");
            sb.AppendLine($"- compiled C: `{d.KernelResult.Fate}: {d.KernelResult.TraceText}`");
            sb.AppendLine();
        }
        foreach (var e in r.Errors) sb.AppendLine($"- error: {Escape(e)}");
        foreach (var s in r.Skipped) sb.AppendLine($"- skipped: {Escape(s)}");
        return sb.ToString();
    }

    static string Escape(string s) => s.Replace("|", "\\|", StringComparison.Ordinal).Replace("`", "'", StringComparison.Ordinal);

    /// <summary>JUnit XML: one test case per class (failed), per error (error), or one passing case.</summary>
    public static void WriteJUnit(KernelReport r, TextWriter w)
    {
        using var x = XmlWriter.Create(w, new XmlWriterSettings { Indent = true, CheckCharacters = false });
        x.WriteStartElement("testsuites");
        x.WriteStartElement("testsuite");
        x.WriteAttributeString("name", $"fred-conform kernel ({r.Profile})");
        x.WriteAttributeString("tests", Math.Max(1, r.Classes.Count + r.Errors.Count).ToString(System.Globalization.CultureInfo.InvariantCulture));
        x.WriteAttributeString("failures", r.Classes.Count.ToString(System.Globalization.CultureInfo.InvariantCulture));
        x.WriteAttributeString("errors", r.Errors.Count.ToString(System.Globalization.CultureInfo.InvariantCulture));
        foreach (var (cls, count, d) in r.Classes)
        {
            x.WriteStartElement("testcase");
            x.WriteAttributeString("name", Clean(cls));
            x.WriteAttributeString("classname", RuleFor(d, r.Profile));
            x.WriteStartElement("failure");
            x.WriteAttributeString("message", Clean($"{count} inputs; smallest: {d.Input}"));
            x.WriteString(Clean($"reference: {d.ReferenceResult.Fate}: {d.ReferenceResult.TraceText}\ncompiled C: {d.KernelResult.Fate}: {d.KernelResult.TraceText}"));
            x.WriteEndElement();
            x.WriteEndElement();
        }
        foreach (var e in r.Errors)
        {
            x.WriteStartElement("testcase");
            x.WriteAttributeString("name", "build and run");
            x.WriteStartElement("error");
            x.WriteAttributeString("message", Clean(e.Split('\n')[0]));
            x.WriteString(Clean(e));
            x.WriteEndElement();
            x.WriteEndElement();
        }
        if (r.Classes.Count == 0 && r.Errors.Count == 0)
        {
            x.WriteStartElement("testcase");
            x.WriteAttributeString("name", $"{r.Compared} inputs agree");
            x.WriteEndElement();
        }
        x.WriteEndElement();
        x.WriteEndElement();
    }

    /// <summary>Text XML 1.0 can carry: other control characters become \xNN.</summary>
    static string Clean(string s)
    {
        var sb = new StringBuilder(s.Length);
        foreach (char c in s) sb.Append(c < 0x20 && c is not ('\n' or '\t' or '\r') ? $"\\x{(int)c:x2}" : c.ToString());
        return sb.ToString();
    }
}
