using System.Globalization;
using System.Text;
using System.Xml.Linq;

namespace Fred.Dut;

/// <summary>Campaign reports: the console summary, Markdown and JUnit XML.</summary>
public static class Reports
{
    static string Rate(CampaignResult r) =>
        r.Elapsed.TotalSeconds > 0 ? (r.Run / r.Elapsed.TotalSeconds).ToString("N0", CultureInfo.InvariantCulture) : "-";

    /// <summary>The console summary: the DUT, the profile, the verdict by rule, then each failure and breakage.</summary>
    /// <param name="r">The campaign.</param>
    /// <param name="ruleTable">Renders the per-rule table (a terminal draws its own); the plain table when null.</param>
    public static string Text(CampaignResult r, Func<IReadOnlyList<RuleTally>, string>? ruleTable = null)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"DUT      {r.Hello.Name} ({r.DutCommand}); protocol {r.Hello.Protocol}; revisions {string.Join(", ", r.Hello.Revisions.Select(Wire.RevisionName))}; features {(r.Hello.Features.Count == 0 ? "none" : string.Join(", ", r.Hello.Features))}");
        sb.AppendLine($"profile  {r.Profile}");
        sb.AppendLine($"seed     0x{r.Options.Seed:x}   cases {r.Run} ({r.Passed} agreed, {r.FailedCases} disagreed, {r.Unsupported} declined, {r.Broken.Count} broke)   {r.Elapsed.TotalSeconds:0.0} s, {Rate(r)} cases/s");
        foreach (var (why, n) in r.DeclinedBecause.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal))
            sb.AppendLine($"declined {n,6}: {Shorten(why, 160)}");
        sb.AppendLine();
        sb.Append(ruleTable is null ? RuleTable(r.ByRule) : ruleTable(r.ByRule));
        foreach (var f in r.Failures)
        {
            sb.AppendLine();
            FailureText(sb, f, "FAILURE", r.DutCommand, $"--dut \"{r.DutCommand}\"", r.Options.Seed, r.Profile);
        }
        foreach (var b in r.Broken.Take(20))
        {
            sb.AppendLine();
            sb.AppendLine($"DUT BROKE on case {b.Index}: {b.Verdict.Kind}: {b.Verdict.Detail}");
        }
        if (r.Broken.Count > 20) sb.AppendLine($"... and {r.Broken.Count - 20} more cases on which the DUT broke");
        sb.AppendLine();
        sb.AppendLine(Verdict(r));
        return sb.ToString();
    }

    /// <summary>The per-rule table of the text report: cases, passed and failed by spec rule, failing rules marked.</summary>
    public static string RuleTable(IReadOnlyList<RuleTally> byRule)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"{"rule",-15} {"cases",8} {"passed",8} {"failed",7}  title");
        foreach (var t in byRule)
            sb.AppendLine($"{t.Rule,-15} {t.Cases,8} {t.Cases - t.Failures,8} {t.Failures,7}  {SpecRules.Title(t.Rule)}{(t.Failures > 0 ? "   <-- FAIL" : "")}");
        return sb.ToString();
    }

    /// <summary>The verdict line: PASS, FAIL, STOPPED (the DUT kept breaking or could not be restarted) or INTERRUPTED.</summary>
    public static string Verdict(CampaignResult r)
    {
        string found = $"{r.Failures.Count} distinct failure(s), {r.Broken.Count} broken case(s)";
        return r.Stopped is { } why ? $"VERDICT: STOPPED: {why}; {r.Run} of {r.Options.Count} cases run ({found})"
            : r.Interrupted ? $"VERDICT: INTERRUPTED after {r.Run} of {r.Options.Count} cases ({found} so far)"
            : r.Ok ? $"VERDICT: PASS ({r.ByRule.Count} rules exercised)"
            : $"VERDICT: FAIL ({found})";
    }

    static string VerdictWord(CampaignResult r) => r.Stopped is not null ? "STOPPED" : r.Interrupted ? "INTERRUPTED" : r.Ok ? "PASS" : "FAIL";

    /// <summary>A failure as the console shows it, under a title; <paramref name="duts"/> are the <c>--dut</c> options that regenerate it.</summary>
    internal static void FailureText(StringBuilder sb, Failure f, string title, string replayDut, string duts, ulong seed, DutProfile profile)
    {
        string p = ProfileOption(profile);
        sb.AppendLine($"{title} {f.Signature}  (case {f.Index}, size {f.Size}; {f.Occurrences} case(s) failed this way; shrunk from {f.Original.Steps.Count} to {f.Case.Steps.Count} step(s) with {f.ShrinkCandidates} candidates)");
        foreach (var m in f.Mismatches) sb.AppendLine($"  {m}");
        foreach (var line in Counterexample.Readable(f.Case, [])) sb.AppendLine($"  | {line}");
        if (f.Answers.Count > 0) sb.AppendLine($"  answers: {string.Join(", ", f.Answers.Select(a => $"{a.Dut} {a.Verdict}"))}");
        if (f.File is not null) sb.AppendLine($"  saved: {f.File}   replay: fred-conform replay {f.File} --dut \"{replayDut}\"{p}");
        sb.AppendLine($"  regenerate: fred-conform run {duts}{p} --seed 0x{seed:x} --from {f.Index} --count 1");
    }

    /// <summary>A Markdown report.</summary>
    public static string Markdown(CampaignResult r)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"# Fred conformance report: {r.Hello.Name}");
        sb.AppendLine();
        sb.AppendLine($"- verdict: **{VerdictWord(r)}**{(r.Stopped is null && !r.Interrupted ? "" : $" ({Verdict(r)["VERDICT: ".Length..]})")}");
        sb.AppendLine($"- DUT: `{r.DutCommand}` (protocol {r.Hello.Protocol}; revisions {string.Join(", ", r.Hello.Revisions.Select(Wire.RevisionName))}; features {(r.Hello.Features.Count == 0 ? "none" : string.Join(", ", r.Hello.Features))})");
        sb.AppendLine($"- profile: {r.Profile}");
        sb.AppendLine($"- seed `0x{r.Options.Seed:x}`, {r.Run} cases: {r.Passed} agreed, {r.FailedCases} disagreed, {r.Unsupported} declined, {r.Broken.Count} broke; {r.Elapsed.TotalSeconds:0.0} s ({Rate(r)} cases/s)");
        foreach (var (why, n) in r.DeclinedBecause.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal))
            sb.AppendLine($"  - declined {n}: {Shorten(why, 160)}");
        sb.AppendLine();
        sb.AppendLine("| rule | title | cases | passed | failed |");
        sb.AppendLine("|---|---|---:|---:|---:|");
        foreach (var t in r.ByRule)
            sb.AppendLine($"| {t.Rule} | {SpecRules.Title(t.Rule)} | {t.Cases} | {t.Cases - t.Failures} | {(t.Failures > 0 ? $"**{t.Failures}**" : "0")} |");
        foreach (var f in r.Failures)
        {
            sb.AppendLine();
            FailureMarkdown(sb, f, f.Signature);
        }
        if (r.Broken.Count > 0)
        {
            sb.AppendLine();
            sb.AppendLine("## The DUT broke");
            sb.AppendLine();
            foreach (var b in r.Broken) sb.AppendLine($"- case {b.Index}: {b.Verdict.Kind}: {b.Verdict.Detail}");
        }
        return sb.ToString();
    }

    /// <summary>A failure as a Markdown section under a heading.</summary>
    internal static void FailureMarkdown(StringBuilder sb, Failure f, string heading)
    {
        sb.AppendLine($"## {heading}");
        sb.AppendLine();
        sb.AppendLine($"Case {f.Index} (size {f.Size}), {f.Occurrences} failing case(s) with this signature; shrunk to {f.Case.Steps.Count} step(s). Rules: {string.Join(", ", f.Rules)}.");
        if (f.File is not null) sb.AppendLine($"Counterexample: `{f.File}`.");
        if (f.Answers.Count > 0) sb.AppendLine($"Answers: {string.Join(", ", f.Answers.Select(a => $"`{a.Dut}` {a.Verdict}"))}.");
        sb.AppendLine();
        sb.AppendLine("| step | field | expected | observed |");
        sb.AppendLine("|---:|---|---|---|");
        foreach (var m in f.Mismatches) sb.AppendLine($"| {m.Step} | `{m.Field}` | `{m.Expected}` | `{m.Observed}` |");
        sb.AppendLine();
        sb.AppendLine("```");
        foreach (var line in Counterexample.Readable(f.Case, [])) sb.AppendLine(line);
        sb.AppendLine("```");
    }

    /// <summary>JUnit XML: one test case per exercised rule, failing with its counterexamples; one per broken case.</summary>
    public static string JUnit(CampaignResult r) =>
        Xml(new XElement("testsuites", Suite(r, $"fred-conform {r.Hello.Name}")));

    /// <summary>
    /// An XML document's text, every attribute and text node made printable first (<see cref="DutText.Printable"/>): XML
    /// 1.0 cannot carry most control characters, and a command line or profile given by a person may hold them too.
    /// </summary>
    internal static string Xml(XElement root)
    {
        foreach (var a in root.DescendantsAndSelf().Attributes()) a.Value = Printable(a.Value);
        foreach (var t in root.DescendantNodes().OfType<XText>()) t.Value = Printable(t.Value);
        return new XDocument(new XDeclaration("1.0", "utf-8", null), root).ToString();
    }

    /// <summary>One line or several: each line printable.</summary>
    static string Printable(string s) => s.Contains('\n') ? string.Join("\n", s.Split('\n').Select(DutText.Printable)) : DutText.Printable(s);

    /// <summary>A campaign's JUnit test suite: one test case per exercised rule, one per broken case.</summary>
    internal static XElement Suite(CampaignResult r, string name)
    {
        var cases = r.ByRule.Select(t =>
        {
            var tc = new XElement("testcase", new XAttribute("classname", $"fred.{SpecRules.All.FirstOrDefault(x => x.Id == t.Rule)?.Area ?? "RULE"}"),
                new XAttribute("name", $"{t.Rule} {SpecRules.Title(t.Rule)}"), new XAttribute("time", "0"));
            var fs = r.Failures.Where(f => f.Rules.Contains(t.Rule)).ToArray();
            if (t.Failures > 0)
                tc.Add(new XElement("failure", new XAttribute("message", $"{t.Failures} of {t.Cases} cases failed"), new XAttribute("type", "mismatch"),
                    string.Join("\n\n", fs.Select(f => $"{f.Signature}\n{string.Join("\n", f.Mismatches)}\n{f.File}"))));
            return tc;
        }).ToList();
        if (r.Stopped is not null || r.Interrupted)
            cases.Add(new XElement("testcase", new XAttribute("classname", "fred.RUN"), new XAttribute("name", "the run"),
                new XElement("error", new XAttribute("message", Verdict(r)), new XAttribute("type", r.Interrupted ? "interrupted" : "stopped"))));
        cases.AddRange(r.Broken.Select(b => new XElement("testcase", new XAttribute("classname", "fred.DUT"), new XAttribute("name", $"case {b.Index}"),
            new XElement("error", new XAttribute("message", b.Verdict.Kind), new XAttribute("type", b.Verdict.Kind), b.Verdict.Detail))));
        return new XElement("testsuite",
            new XAttribute("name", name),
            new XAttribute("tests", cases.Count),
            new XAttribute("failures", r.ByRule.Count(t => t.Failures > 0)),
            new XAttribute("errors", cases.Count(c => c.Element("error") is not null)),
            new XAttribute("time", r.Elapsed.TotalSeconds.ToString("0.000", CultureInfo.InvariantCulture)),
            new XElement("properties",
                new XElement("property", new XAttribute("name", "seed"), new XAttribute("value", $"0x{r.Options.Seed:x}")),
                new XElement("property", new XAttribute("name", "profile"), new XAttribute("value", r.Profile.ToString())),
                new XElement("property", new XAttribute("name", "dut"), new XAttribute("value", r.DutCommand))),
            cases);
    }

    static string Shorten(string s, int max) => s.Length <= max ? s : s[..(max - 3)] + "...";

    /// <summary>The --profile option that reproduces a run's judgement: the profile's file, when it came from one.</summary>
    internal static string ProfileOption(DutProfile profile) => File.Exists(profile.Source) ? $" --profile \"{profile.Source}\"" : "";
}
