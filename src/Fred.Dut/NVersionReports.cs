using System.Globalization;
using System.Text;
using System.Xml.Linq;

namespace Fred.Dut;

/// <summary>N-version reports (FRED-DUT-13): the agreement matrix, possible model errors first, then each DUT's verdict.</summary>
public static class NVersionReports
{
    static readonly string[] KindNames = ["all agree", "some DUTs disagree with the model", "possible model error (DUTs agree against the model)", "no DUT answered"];

    static string Duts(NVersionResult r) => string.Join(" ", r.Names.Select(n => $"--dut \"{n}\""));

    static string Cell(AgreementMatrix m, int i, int j) => i == j ? "-" : $"{m.Agree(i, j)}/{m.Both(i, j)}";

    static string Counts(CampaignResult v, int modelErrorCases) =>
        $"{v.Passed} agreed, {v.FailedCases} disagreed{(modelErrorCases > 0 ? $" ({modelErrorCases} as possible model errors)" : "")}, {v.Unsupported} declined, {v.Broken.Count} broke";

    /// <summary>The agreement matrix as console text: pairwise counts, then cases by kind and by partition.</summary>
    public static string MatrixText(AgreementMatrix m)
    {
        var sb = new StringBuilder();
        int w = Math.Max(9, m.Members.Max(x => x.Length) + 2);
        for (int i = 0; i < m.Members.Count; i++)
            for (int j = 0; j < m.Members.Count; j++) w = Math.Max(w, Cell(m, i, j).Length + 2);
        sb.AppendLine("agreement (cases both answered and agreed / cases both answered)");
        sb.AppendLine($"  {"",-8}" + string.Concat(m.Members.Select(x => x.PadLeft(w))));
        for (int i = 0; i < m.Members.Count; i++)
            sb.AppendLine($"  {m.Members[i],-8}" + string.Concat(Enumerable.Range(0, m.Members.Count).Select(j => Cell(m, i, j).PadLeft(w))));
        sb.AppendLine();
        sb.AppendLine("cases by agreement");
        foreach (var k in Enum.GetValues<CaseAgreement>()) sb.AppendLine($"  {KindNames[(int)k],-52} {m.Cases(k),7}");
        sb.AppendLine("cases by partition (agreement classes, the model's first)");
        foreach (var p in m.Partitions) sb.AppendLine($"  {p.Key,-52} {p.Value,7}");
        return sb.ToString();
    }

    /// <summary>Every rule exercised: its case count and, per DUT, the cases that failed it.</summary>
    static IEnumerable<(string Rule, int Cases, int[] Failed)> ByRule(NVersionResult r) =>
        r.Verdicts.SelectMany(v => v.ByRule.Select(t => t.Rule)).Distinct().Order(StringComparer.Ordinal).Select(rule => (rule,
            r.Verdicts.Select(v => v.ByRule.FirstOrDefault(t => t.Rule == rule)?.Cases ?? 0).Max(),
            r.Verdicts.Select(v => v.ByRule.FirstOrDefault(t => t.Rule == rule)?.Failures ?? 0).ToArray()));

    /// <summary>The console report.</summary>
    public static string Text(NVersionResult r)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"N-VERSION  the model and {r.Names.Count} DUTs");
        for (int i = 0; i < r.Names.Count; i++)
        {
            var h = r.Verdicts[i].Hello;
            sb.AppendLine($"  {NVersionResult.Label(i),-6} {r.Names[i]}: {h.Name}; protocol {h.Protocol}; revisions {string.Join(", ", h.Revisions.Select(Wire.RevisionName))}; features {(h.Features.Count == 0 ? "none" : string.Join(", ", h.Features))}");
        }
        sb.AppendLine($"profile  {r.Profile}");
        sb.AppendLine($"seed     0x{r.Options.Seed:x}   cases {r.Run}   {r.Elapsed.TotalSeconds:0.0} s");
        sb.AppendLine();
        sb.Append(MatrixText(r.Matrix));
        foreach (var f in r.ModelErrors)
        {
            sb.AppendLine();
            Reports.FailureText(sb, f, "POSSIBLE MODEL ERROR", f.Answers.FirstOrDefault(a => a.Verdict == "disagrees")?.Dut ?? r.Names[0], Duts(r), r.Options.Seed, r.Options.EffectiveProfile);
        }
        sb.AppendLine();
        sb.AppendLine($"{"rule",-15} {"cases",8} " + string.Concat(r.Names.Select((_, i) => $"{NVersionResult.Label(i),7}")) + "  title (failed cases per DUT)");
        foreach (var (rule, cases, fails) in ByRule(r))
            sb.AppendLine($"{rule,-15} {cases,8} " + string.Concat(fails.Select(f => $"{f,7}")) + $"  {SpecRules.Title(rule)}{(fails.Any(f => f > 0) ? "   <-- FAIL" : "")}");
        for (int i = 0; i < r.Names.Count; i++)
        {
            var v = r.Verdicts[i];
            foreach (var f in v.Failures)
            {
                sb.AppendLine();
                Reports.FailureText(sb, f, $"FAILURE of {NVersionResult.Label(i)} ({r.Names[i]})", r.Names[i], Duts(r), r.Options.Seed, r.Options.EffectiveProfile);
            }
            foreach (var b in v.Broken.Take(20))
            {
                sb.AppendLine();
                sb.AppendLine($"{NVersionResult.Label(i)} BROKE on case {b.Index}: {b.Verdict.Kind}: {b.Verdict.Detail}");
            }
            if (v.Broken.Count > 20) sb.AppendLine($"... and {v.Broken.Count - 20} more cases on which {NVersionResult.Label(i)} broke");
        }
        sb.AppendLine();
        if (r.ModelErrors.Count > 0)
            sb.AppendLine($"POSSIBLE MODEL ERRORS: {r.ModelErrors.Count} distinct ({r.Matrix.Cases(CaseAgreement.PossibleModelError)} case(s)); listed first, after the matrix");
        for (int i = 0; i < r.Names.Count; i++)
        {
            var v = r.Verdicts[i];
            sb.AppendLine($"{NVersionResult.Label(i),-6} {(v.Ok ? "PASS" : "FAIL")}  {r.Names[i]}: {Counts(v, r.ModelErrorCases[i])}; {v.Failures.Count} distinct failure(s) of its own");
        }
        var stopped = r.Verdicts.Select((v, i) => (v, i)).Where(t => t.v.Stopped is not null).ToArray();
        if (stopped.Length > 0)
            sb.AppendLine($"VERDICT: STOPPED: {string.Join("; ", stopped.Select(t => $"{NVersionResult.Label(t.i)}: {t.v.Stopped}"))}; {r.Run} of {r.Options.Count} cases run");
        else if (r.Verdicts.Any(v => v.Interrupted))
            sb.AppendLine($"VERDICT: INTERRUPTED after {r.Run} of {r.Options.Count} cases");
        else
        sb.AppendLine(r.Ok ? "VERDICT: PASS (every DUT agrees with the model)"
            : $"VERDICT: FAIL ({r.ModelErrors.Count} possible model error(s), {r.Verdicts.Sum(v => v.Failures.Count)} DUT failure(s), {r.Verdicts.Sum(v => v.Broken.Count)} broken case(s))");
        return sb.ToString();
    }

    /// <summary>A Markdown report.</summary>
    public static string Markdown(NVersionResult r)
    {
        var sb = new StringBuilder();
        var m = r.Matrix;
        sb.AppendLine($"# Fred N-version report: the model and {r.Names.Count} DUTs");
        sb.AppendLine();
        sb.AppendLine($"- verdict: **{(r.Ok ? "PASS" : "FAIL")}**; possible model errors: **{r.ModelErrors.Count}**");
        sb.AppendLine($"- profile: {r.Profile}");
        sb.AppendLine($"- seed `0x{r.Options.Seed:x}`, {r.Run} cases; {r.Elapsed.TotalSeconds:0.0} s");
        sb.AppendLine();
        sb.AppendLine("| DUT | given as | hello | verdict | agreed | disagreed | of which possible model errors | declined | broke |");
        sb.AppendLine("|---|---|---|---|---:|---:|---:|---:|---:|");
        for (int i = 0; i < r.Names.Count; i++)
        {
            var v = r.Verdicts[i];
            sb.AppendLine($"| {NVersionResult.Label(i)} | `{r.Names[i]}` | {v.Hello.Name} | {(v.Ok ? "PASS" : "**FAIL**")} | {v.Passed} | {v.FailedCases} | {r.ModelErrorCases[i]} | {v.Unsupported} | {v.Broken.Count} |");
        }
        sb.AppendLine();
        sb.AppendLine("## Agreement matrix");
        sb.AppendLine();
        sb.AppendLine("Cases on which both answered and agreed / cases on which both answered.");
        sb.AppendLine();
        sb.AppendLine("| | " + string.Join(" | ", m.Members) + " |");
        sb.AppendLine("|---|" + string.Concat(m.Members.Select(_ => "---:|")));
        for (int i = 0; i < m.Members.Count; i++)
            sb.AppendLine($"| **{m.Members[i]}** | " + string.Join(" | ", Enumerable.Range(0, m.Members.Count).Select(j => Cell(m, i, j))) + " |");
        sb.AppendLine();
        sb.AppendLine("| cases | count |");
        sb.AppendLine("|---|---:|");
        foreach (var k in Enum.GetValues<CaseAgreement>()) sb.AppendLine($"| {KindNames[(int)k]} | {m.Cases(k)} |");
        foreach (var p in m.Partitions) sb.AppendLine($"| partition `{p.Key}` | {p.Value} |");
        foreach (var f in r.ModelErrors)
        {
            sb.AppendLine();
            Reports.FailureMarkdown(sb, f, $"Possible model error: {f.Signature}");
        }
        sb.AppendLine();
        sb.AppendLine("## Rules");
        sb.AppendLine();
        sb.AppendLine("| rule | title | cases | " + string.Join(" | ", r.Names.Select((_, i) => $"{NVersionResult.Label(i)} failed")) + " |");
        sb.AppendLine("|---|---|---:|" + string.Concat(r.Names.Select(_ => "---:|")));
        foreach (var (rule, cases, fails) in ByRule(r))
            sb.AppendLine($"| {rule} | {SpecRules.Title(rule)} | {cases} | " + string.Join(" | ", fails.Select(f => f > 0 ? $"**{f}**" : "0")) + " |");
        for (int i = 0; i < r.Names.Count; i++)
            foreach (var f in r.Verdicts[i].Failures)
            {
                sb.AppendLine();
                Reports.FailureMarkdown(sb, f, $"{NVersionResult.Label(i)} (`{r.Names[i]}`): {f.Signature}");
            }
        for (int i = 0; i < r.Names.Count; i++)
        {
            if (r.Verdicts[i].Broken.Count == 0) continue;
            sb.AppendLine();
            sb.AppendLine($"## {NVersionResult.Label(i)} (`{r.Names[i]}`) broke");
            sb.AppendLine();
            foreach (var b in r.Verdicts[i].Broken) sb.AppendLine($"- case {b.Index}: {b.Verdict.Kind}: {b.Verdict.Detail}");
        }
        return sb.ToString();
    }

    /// <summary>JUnit XML: a suite of possible model errors first, then each DUT's suite as a one-DUT run writes it.</summary>
    public static string JUnit(NVersionResult r)
    {
        var errors = r.ModelErrors.Select(f => new XElement("testcase", new XAttribute("classname", "fred.MODEL"),
            new XAttribute("name", $"possible model error: {f.Signature}"), new XAttribute("time", "0"),
            new XElement("failure", new XAttribute("message", $"every DUT agrees against the model on {f.Occurrences} case(s)"), new XAttribute("type", "possible-model-error"),
                $"{f.Signature}\n{string.Join("\n", f.Mismatches)}\n{string.Join(", ", f.Answers.Select(a => $"{a.Dut} {a.Verdict}"))}\n{f.File}"))).ToList();
        if (errors.Count == 0)
            errors.Add(new XElement("testcase", new XAttribute("classname", "fred.MODEL"), new XAttribute("name", "no possible model error"), new XAttribute("time", "0")));
        var suite = new XElement("testsuite", new XAttribute("name", "fred-conform n-version: possible model errors"),
            new XAttribute("tests", errors.Count), new XAttribute("failures", r.ModelErrors.Count), new XAttribute("errors", 0),
            new XAttribute("time", r.Elapsed.TotalSeconds.ToString("0.000", CultureInfo.InvariantCulture)),
            new XElement("properties",
                new XElement("property", new XAttribute("name", "seed"), new XAttribute("value", $"0x{r.Options.Seed:x}")),
                new XElement("property", new XAttribute("name", "profile"), new XAttribute("value", r.Profile.ToString())),
                r.Names.Select((n, i) => new XElement("property", new XAttribute("name", NVersionResult.Label(i)), new XAttribute("value", n)))),
            errors);
        var suites = r.Verdicts.Select((v, i) => Reports.Suite(v, $"fred-conform {NVersionResult.Label(i)} {v.Hello.Name}"));
        return Reports.Xml(new XElement("testsuites", suite, suites));
    }
}
