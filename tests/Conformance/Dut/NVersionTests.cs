using System.Text.Json;
using Fred.Dut;

namespace Fred.Conformance.Dut;

/// <summary>N-version runs (FRED-DUT-13): every case on the model and on several DUTs, who agrees with whom.</summary>
public class NVersionTests
{
    const string Rf = "rf-kept-for-instruction-events";

    static NamedDut Mutant(string name) => new($"mutant:{name}", new InProcessDut(name, Mutants.Find(name)!.Impl));

    static NamedDut Model() => new("model", new InProcessDut("model", CaseRunner.Model));

    /// <summary>A DUT that answers some cases with another DUT's answers, or declines or breaks on them.</summary>
    sealed class Routing(IDut usual, Func<DutCase, bool> when, Func<DutCase, CaseResult>? instead = null, IDut? other = null) : IDut
    {
        public DutHello Hello => usual.Hello;

        public IReadOnlyList<CaseResult> Run(IReadOnlyList<DutCase> batch)
        {
            var mine = usual.Run(batch);
            var theirs = other?.Run(batch);
            return batch.Select((c, i) => !when(c) ? mine[i] : instead is not null ? instead(c) : theirs![i]).ToArray();
        }

        public void Dispose() { }
    }

    [Fact]
    [Trait("Rule", "FRED-DUT-13")]
    public void A_mutant_is_reported_disagreeing_and_the_model_DUT_agreeing()
    {
        var m = Mutants.Find("pf-event-data-zero")!;
        var r = NVersion.Run([Model(), Mutant(m.Name)], new CampaignOptions(600, 1, MaxFailures: 0));
        Assert.False(r.Ok);
        var (model, mutant) = (r.Verdicts[0], r.Verdicts[1]);
        Assert.True(model.Ok, NVersionReports.Text(r));
        Assert.Equal(r.Run, model.Passed);
        Assert.True(mutant.FailedCases > 0, NVersionReports.Text(r));
        Assert.Contains(mutant.Failures, f => f.Rules.Contains(m.Rule));
        Assert.Empty(r.ModelErrors);
        Assert.Equal(0, r.Matrix.Cases(CaseAgreement.PossibleModelError));
        // The matrix: the model DUT agrees with the model everywhere, the mutant as often as it passed.
        Assert.Equal(r.Run, r.Matrix.Agree(0, 1));
        Assert.Equal(mutant.Passed, r.Matrix.Agree(0, 2));
        Assert.Equal(mutant.Passed, r.Matrix.Agree(1, 2));
        Assert.Equal(mutant.FailedCases, r.Matrix.Cases(CaseAgreement.SomeDisagree));
        Assert.Equal(mutant.FailedCases, r.Matrix.Partitions.Single(p => p.Key == "{model, dut1} {dut2}").Value);
        // Each failure names every DUT's answer to the shrunk case.
        var f = mutant.Failures[0];
        Assert.Equal(["model agrees", $"mutant:{m.Name} disagrees"], f.Answers.Select(a => $"{a.Dut} {a.Verdict}"));
        string text = NVersionReports.Text(r);
        Assert.Contains("FAILURE of dut2", text);
        Assert.DoesNotContain("FAILURE of dut1", text);
        Assert.Contains($"dut1   PASS  model: {r.Run} agreed", text);
    }

    [Fact]
    [Trait("Rule", "FRED-DUT-13")]
    public void DUTs_that_agree_against_the_model_are_a_possible_model_error_listed_first()
    {
        // dut2 follows the same mutant as dut1 on even cases, and another mutant on odd ones: both kinds of case occur.
        var other = Mutant("pf-event-data-zero").Dut;
        var mixed = new NamedDut("mixed", new Routing(Mutant(Rf).Dut, c => c.Id % 2 == 1, other: other));
        var r = NVersion.Run([Mutant(Rf), mixed], new CampaignOptions(800, 1, MaxFailures: 0));
        string text = NVersionReports.Text(r), markdown = NVersionReports.Markdown(r), junit = NVersionReports.JUnit(r);
        var e = Assert.Single(r.ModelErrors, f => f.Rules.Contains("FRED-FRAME-09"));
        Assert.True(r.Matrix.Cases(CaseAgreement.PossibleModelError) > 0);
        Assert.Equal(r.Matrix.Cases(CaseAgreement.PossibleModelError), r.ModelErrorCases[0]);
        Assert.Equal(r.Matrix.Cases(CaseAgreement.PossibleModelError), r.ModelErrors.Sum(f => f.Occurrences));
        Assert.All(r.ModelErrors, f => Assert.Equal(["disagrees", "disagrees"], f.Answers.Select(a => a.Verdict)));
        // Shrunk while every DUT still agrees against the model.
        var expected = Campaign.Expect(e.Case);
        var answer = CaseRunner.Run(Mutants.Find(Rf)!.Impl, e.Case);
        Assert.Equal(e.Signature, Comparator.Signature(e.Case, Comparator.Compare(e.Case, expected, answer, DutProfile.Strict)));
        Assert.True(e.Case.Steps.Count <= e.Original.Steps.Count);
        // Ordinary failures are still attributed: dut2's #PF event data on odd cases.
        Assert.Contains(r.Verdicts[1].Failures, f => f.Rules.Contains("FRED-DATA-01"));
        Assert.False(r.Ok);
        // Listed first, in every report.
        int first = text.IndexOf("POSSIBLE MODEL ERROR", StringComparison.Ordinal);
        Assert.InRange(first, 0, text.IndexOf("FAILURE of", StringComparison.Ordinal));
        Assert.True(first < text.IndexOf("title (failed cases per DUT)", StringComparison.Ordinal), text);
        int mdFirst = markdown.IndexOf("## Possible model error", StringComparison.Ordinal);
        Assert.InRange(mdFirst, 0, markdown.IndexOf("## dut", StringComparison.Ordinal));
        Assert.True(junit.IndexOf("possible-model-error", StringComparison.Ordinal) is var j && j > 0 && j < junit.IndexOf("fred-conform dut1", StringComparison.Ordinal));
    }

    [Fact]
    [Trait("Rule", "FRED-DUT-13")]
    public void A_DUT_that_declines_or_breaks_is_left_out_of_that_case_and_counted()
    {
        var declining = new NamedDut("declining", new Routing(Mutant(Rf).Dut, c => c.Id % 3 == 0, c => new Unsupported(c.Id, "not today")));
        var breaking = new NamedDut("breaking", new Routing(Mutant(Rf).Dut, c => c.Id % 7 == 0, c => new DutBroke(c.Id, "crash", "on purpose")));
        var o = new CampaignOptions(700, 1, MaxFailures: 0);
        var r = NVersion.Run([Mutant(Rf), declining, breaking], o);
        int declined = Enumerable.Range(0, o.Count).Count(i => i % 3 == 0), broke = Enumerable.Range(0, o.Count).Count(i => i % 7 == 0);
        Assert.Equal(declined, r.Verdicts[1].Unsupported);
        Assert.Equal(broke, r.Verdicts[2].Broken.Count);
        Assert.Equal(0, r.Verdicts[0].Unsupported + r.Verdicts[0].Broken.Count);
        Assert.Equal(r.Run - declined, r.Matrix.Both(0, 2));
        Assert.Equal(r.Run - broke, r.Matrix.Both(0, 3));
        int neither = Enumerable.Range(0, o.Count).Count(i => i % 3 == 0 && i % 7 == 0);
        Assert.Equal(r.Run - declined - broke + neither, r.Matrix.Both(2, 3));
        Assert.Equal(declined - neither, r.Matrix.Partitions.Where(p => p.Key.EndsWith("| absent: dut2", StringComparison.Ordinal)).Sum(p => p.Value));
        Assert.Equal(neither, r.Matrix.Partitions.Where(p => p.Key.EndsWith("| absent: dut2, dut3", StringComparison.Ordinal)).Sum(p => p.Value));
        // Every answering DUT follows the same mutant, so each disagreement is a possible model error among those that
        // answered (two at least), and an absent DUT's disagreement count leaves out the cases it missed.
        Assert.Equal(0, r.Matrix.Cases(CaseAgreement.SomeDisagree));
        Assert.Equal(r.Verdicts[0].FailedCases, r.Matrix.Cases(CaseAgreement.PossibleModelError));
        Assert.True(r.Verdicts[1].FailedCases < r.Verdicts[0].FailedCases);
        Assert.Equal(r.Verdicts[1].FailedCases, r.ModelErrorCases[1]);
        Assert.False(r.Verdicts[2].Ok);
    }

    [Fact]
    [Trait("Rule", "FRED-DUT-13")]
    public void One_DUT_left_alone_against_the_model_is_its_failure_not_a_model_error()
    {
        // 0 = model, 1 and 2 = DUTs; pairs row-major.
        bool[] P(params int[] agreeing)
        {
            var p = new bool[9];
            for (int i = 0; i < 3; i++) p[i * 3 + i] = true;
            foreach (int x in agreeing) { p[x / 10 * 3 + x % 10] = true; p[x % 10 * 3 + x / 10] = true; }
            return p;
        }
        Assert.Equal(CaseAgreement.AllAgree, Agreement.Classify([true, true, true], P(01, 02, 12)));
        Assert.Equal(CaseAgreement.PossibleModelError, Agreement.Classify([true, true, true], P(12)));
        Assert.Equal(CaseAgreement.SomeDisagree, Agreement.Classify([true, true, true], P()));
        Assert.Equal(CaseAgreement.SomeDisagree, Agreement.Classify([true, true, true], P(01)));
        Assert.Equal(CaseAgreement.SomeDisagree, Agreement.Classify([true, true, false], P()));
        Assert.Equal(CaseAgreement.NoAnswer, Agreement.Classify([true, false, false], P()));
        Assert.Equal([[0], [1, 2]], Agreement.Partition([true, true, true], P(12)).Select(k => k.ToArray()).ToArray());
    }

    static (int Code, string Out, string Err) Cli(params string[] args) => Support.ShippedPrograms.FredConform(args);

    [Fact]
    [Trait("Rule", "FRED-DUT-13")]
    [Trait("Rule", "FRED-DUT-12")]
    public void The_CLI_runs_two_DUT_processes_prints_the_matrix_and_saves_every_answer()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"fred-nver-{Guid.NewGuid():N}");
        try
        {
            var (code, output, err) = Cli("run", "--dut", $"mutant:{Rf}", "--dut", $"mutant:{Rf}", "--count", "300", "--seed", "1",
                "--quiet", "--save", dir);
            Assert.True(code == 1, $"exit {code}\n{output}\n{err}");
            Assert.Contains("agreement (cases both answered and agreed / cases both answered)", output);
            Assert.Matches(@"possible model error \(DUTs agree against the model\) +[1-9]", output);
            Assert.Contains("{model} {dut1, dut2}", output);
            int first = output.IndexOf("POSSIBLE MODEL ERROR ", StringComparison.Ordinal);
            Assert.InRange(first, 0, output.IndexOf("VERDICT", StringComparison.Ordinal));
            var file = Assert.Single(Directory.GetFiles(dir, "*.json"));
            Assert.EndsWith("-model-error.json", file);
            var cx = Counterexample.Load(file);
            Assert.True(cx.PossibleModelError);
            Assert.Equal([$"mutant:{Rf}", $"mutant:{Rf}"], cx.Answers.Select(a => a.Dut));
            Assert.All(cx.Answers, a => Assert.Equal("disagrees", a.Verdict));
            Assert.All(cx.Answers, a => Assert.Equal(cx.Signature,
                Comparator.Signature(cx.Case, Comparator.Compare(cx.Case, cx.Expected, Assert.IsType<Answered>(a.Result), DutProfile.Strict))));
        }
        finally { if (Directory.Exists(dir)) Directory.Delete(dir, true); }
    }

    [Fact]
    [Trait("Rule", "FRED-DUT-12")]
    public void A_one_DUT_counterexample_file_has_no_N_version_fields()
    {
        var m = Mutants.Find("syscall-cs-ss-stale")!;
        using var dut = new InProcessDut(m.Name, m.Impl);
        var f = Campaign.Run(dut, "mutant:" + m.Name, new CampaignOptions(2000, 4, MaxFailures: 1)).Failures[0];
        using var doc = JsonDocument.Parse(Counterexample.Render(f, dut.Hello.Name, "mutant:" + m.Name, "strict", 4));
        Assert.Equal(["fred_counterexample", "dut", "dut_command", "profile", "seed", "index", "size", "signature", "rules", "mismatches",
            "case", "expected", "observed", "readable"], doc.RootElement.EnumerateObject().Select(p => p.Name));
    }
}
