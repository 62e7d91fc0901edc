using System.Diagnostics;
using Fred.Model;

namespace Fred.Dut;

/// <summary>One DUT of an N-version run: the name it was given (<c>--dut</c>) and the DUT.</summary>
public sealed record NamedDut(string Name, IDut Dut);

/// <summary>
/// Pairwise agreement over a run (FRED-DUT-13). Member 0 is the model, member i the i-th DUT.
/// </summary>
/// <param name="Members">The model's label, then each DUT's (<c>dut1</c> ...).</param>
/// <param name="Agreed">Row-major: cases on which both members answered and agreed.</param>
/// <param name="Compared">Row-major: cases on which both members answered.</param>
/// <param name="ByKind">Cases by <see cref="CaseAgreement"/>, indexed by its value.</param>
/// <param name="Partitions">Each partition seen, as <see cref="Agreement.Show"/> prints it, with its case count, most frequent first.</param>
public sealed record AgreementMatrix(IReadOnlyList<string> Members, IReadOnlyList<int> Agreed, IReadOnlyList<int> Compared,
    IReadOnlyList<int> ByKind, IReadOnlyList<KeyValuePair<string, int>> Partitions)
{
    /// <summary>Cases on which members i and j both answered and agreed.</summary>
    public int Agree(int i, int j) => Agreed[i * Members.Count + j];

    /// <summary>Cases on which members i and j both answered.</summary>
    public int Both(int i, int j) => Compared[i * Members.Count + j];

    /// <summary>Cases of one kind.</summary>
    public int Cases(CaseAgreement kind) => ByKind[(int)kind];
}

/// <summary>What an N-version run found.</summary>
/// <param name="Names">Each DUT as it was given, in <c>--dut</c> order.</param>
/// <param name="Verdicts">Each DUT's own verdict against the model; its failures are those attributed to it alone.</param>
/// <param name="ModelErrors">Possible model errors: failures on which every DUT that answered agreed against the model, shrunk through all of them.</param>
/// <param name="ModelErrorCases">Per DUT, how many of its disagreeing cases were possible model errors.</param>
/// <param name="Matrix">Who agreed with whom.</param>
public sealed record NVersionResult(IReadOnlyList<string> Names, IReadOnlyList<CampaignResult> Verdicts, IReadOnlyList<Failure> ModelErrors,
    IReadOnlyList<int> ModelErrorCases, AgreementMatrix Matrix, DutProfile Profile, CampaignOptions Options, int Run, TimeSpan Elapsed)
{
    /// <summary>True when every DUT's verdict passes: no DUT disagreed with the model or broke.</summary>
    public bool Ok => Verdicts.All(v => v.Ok);

    /// <summary>The label of DUT i (0-based) in matrices: <c>dut1</c> ...</summary>
    public static string Label(int i) => $"dut{i + 1}";
}

/// <summary>
/// N-version campaigns (spec/dut-protocol.md, FRED-DUT-13): every case runs on the model and on each DUT; each DUT is
/// judged against the model as in a one-DUT run, and the DUTs against each other, so that a disagreement where all
/// DUTs agree against the model is reported first, as a possible error of the model.
/// </summary>
public static class NVersion
{
    /// <summary>What the DUTs have in common: the revisions and features all implement; real events if any needs them.</summary>
    public static DutHello Common(IReadOnlyList<DutHello> hellos) => new(
        "n-version", ProtocolVersion.Current,
        hellos.Select(h => h.Revisions.AsEnumerable()).Aggregate((a, b) => a.Intersect(b)).Order().ToArray(),
        DutFeatures.All.Where(f => hellos.All(h => h.Features.Contains(f)))
            .Concat(hellos.Any(h => h.Features.Contains(DutFeatures.RealEvents)) ? [DutFeatures.RealEvents] : []).ToArray());

    /// <summary>Sends a batch to every DUT at once (each DUT is its own process, or pure); results in DUT order.</summary>
    public static IReadOnlyList<CaseResult>[] RunOnAll(IReadOnlyList<IDut> duts, IReadOnlyList<DutCase> batch, CancellationToken cancel = default)
    {
        if (duts.Count == 1) return [duts[0].Run(batch, 0, cancel)];
        var tasks = duts.Select(d => Task.Factory.StartNew(() => d.Run(batch, 0, cancel), TaskCreationOptions.LongRunning)).ToArray();
        return tasks.Select(t => t.GetAwaiter().GetResult()).ToArray();
    }

    /// <summary>Runs an N-version campaign over two or more DUTs.</summary>
    /// <remarks>A cancelled token (Ctrl-C, SIGTERM) ends the run after the batch in progress: every DUT's verdict is marked
    /// interrupted and holds the cases run until then.</remarks>
    public static NVersionResult Run(IReadOnlyList<NamedDut> duts, CampaignOptions o, Action<CampaignProgress>? progress = null, CancellationToken cancel = default)
    {
        var watch = Stopwatch.StartNew();
        var profile = o.EffectiveProfile;
        int n = duts.Count;
        var devices = duts.Select(d => d.Dut).ToArray();
        var shape = Campaign.ShapeFor(Common(devices.Select(d => d.Hello).ToArray()), profile);
        if (shape.Revisions.Count == 0)
            throw new DutStartException($"nothing to test: the DUTs implement no revision in common that the profile asks for ({string.Join(", ", profile.Revisions.Select(Wire.RevisionName))})");
        var tally = new NVersionTally(n);
        var modelErrors = new List<Failure>();
        var modelErrorAt = new Dictionary<string, int>();
        int distinct = 0;
        bool stop = false;
        var brokenInARow = new int[n];
        var stoppedBy = new string?[n];
        Task<(DutCase[], Answered[])>? PrepareFrom(long start) => start < o.From + o.Count
            ? Task.Run(() => Campaign.Prepare(shape, o.Seed, start, (int)Math.Min(o.BatchSize, o.From + o.Count - start)))
            : null;
        var next = PrepareFrom(o.From);
        for (long start = o.From; next is not null && !stop; start += o.BatchSize)
        {
            var (batch, expected) = next.GetAwaiter().GetResult();
            next = PrepareFrom(start + o.BatchSize);
            var results = RunOnAll(devices, batch, cancel);
            if (cancel.IsCancellationRequested) { stop = true; break; }          // a cut-short batch is not judged
            for (int k = 0; k < batch.Length && !stop; k++)
            {
                var c = batch[k];
                // A DUT that could not be restarted stops the run (for every DUT) before this case, as in a one-DUT run.
                if (Enumerable.Range(0, n).FirstOrDefault(i => results[i][k] is DutBroke { Kind: DutBroke.NotRun }, -1) is var gone and >= 0)
                {
                    stoppedBy[gone] ??= ((DutBroke)results[gone][k]).Detail;
                    stop = true;
                    break;
                }
                for (int i = 0; i < n; i++)
                {
                    brokenInARow[i] = results[i][k] is DutBroke ? brokenInARow[i] + 1 : 0;
                    if (o.MaxBrokenInARow > 0 && brokenInARow[i] >= o.MaxBrokenInARow)
                    {
                        stoppedBy[i] ??= $"the DUT broke on {brokenInARow[i]} cases in a row (the limit is {o.MaxBrokenInARow})";
                        stop = true;                                   // after this case, which is judged as usual
                    }
                }
                var answers = results.Select(r => r[k] as Answered).ToArray();
                var judged = answers.Select(a => a is null ? [] : Comparator.Judge(c, expected[k], a, profile)).ToArray();
                var agreements = Agreement.Of(c, answers, judged.Select(m => m.Count == 0).ToArray(), profile);
                tally.Count(c, expected[k], results.Select(r => r[k]).ToArray(), judged, agreements);
                if (agreements.Kind == CaseAgreement.PossibleModelError)
                {
                    int first = Array.FindIndex(answers, a => a is not null);
                    string sig = Comparator.Signature(c, judged[first]);
                    if (modelErrorAt.TryGetValue(sig, out int at))
                    {
                        modelErrors[at] = modelErrors[at] with { Occurrences = modelErrors[at].Occurrences + 1 };
                        continue;
                    }
                    var f = ModelError(duts, agreements, profile, c, expected[k], answers, judged[first], sig, o);
                    if (o.SaveDirectory is { } dir)
                        f = f with { File = Counterexample.Save(dir, f, devices[first].Hello, duts[first].Name, profile, o.Seed, "model-error", possibleModelError: true) };
                    modelErrorAt[sig] = modelErrors.Count;
                    modelErrors.Add(f);
                    distinct++;
                }
                else
                    for (int i = 0; i < n; i++)
                    {
                        if (judged[i].Count == 0) continue;
                        string sig = Comparator.Signature(c, judged[i]);
                        if (tally.Seen(i, sig)) continue;
                        var f = o.Shrink ? Campaign.ShrinkFailure(devices[i], profile, c, expected[k], answers[i]!, judged[i], sig, o.ShrinkBudget)
                                         : new Failure(c.Id, Campaign.SizeOf(c.Id), c, c, judged[i], expected[k], answers[i]!, sig, 0);
                        f = f with { Answers = AnswersOn(duts, f.Case, f.Expected, new Dictionary<int, CaseResult> { [i] = f.Observed }, profile) };
                        if (o.SaveDirectory is { } dir)
                            f = f with { File = Counterexample.Save(dir, f, devices[i].Hello, duts[i].Name, profile, o.Seed, NVersionResult.Label(i)) };
                        tally.Add(i, sig, f);
                        distinct++;
                    }
                if (o.MaxFailures > 0 && distinct >= o.MaxFailures) stop = true;
            }
            progress?.Invoke(new CampaignProgress(tally.Run, o.Count, tally.DisagreedCases, tally.BrokenCases, watch.Elapsed));
        }
        var elapsed = watch.Elapsed;
        var verdicts = Enumerable.Range(0, n).Select(i => tally.Verdict(i, devices[i].Hello, duts[i].Name, profile, o, elapsed)
            with { Interrupted = cancel.IsCancellationRequested, Stopped = stoppedBy[i] }).ToArray();
        var labels = new[] { "model" }.Concat(Enumerable.Range(0, n).Select(NVersionResult.Label)).ToArray();
        return new NVersionResult(duts.Select(d => d.Name).ToArray(), verdicts, modelErrors, tally.ModelErrorCases, tally.Matrix(labels),
            profile, o, tally.Run, elapsed);
    }

    /// <summary>
    /// Shrinks a possible model error through every DUT that answered the case: a candidate is kept when all of them
    /// answer it, agree with each other, none agrees with the model, and the first still fails with the same signature.
    /// </summary>
    static Failure ModelError(IReadOnlyList<NamedDut> duts, CaseAgreements agreements, DutProfile profile, DutCase c, Answered expected,
        IReadOnlyList<Answered?> answers, IReadOnlyList<Mismatch> ms, string signature, CampaignOptions o)
    {
        var members = Enumerable.Range(0, duts.Count).Where(i => agreements.Present[i + 1]).ToArray();
        var start = (Expected: expected, Answers: members.Select(i => answers[i]!).ToArray(), Mismatches: ms);
        var (shrunk, w, tried) = !o.Shrink ? (c, start, 0) : Shrinker.Shrink(c, start, candidates =>
        {
            var results = RunOnAll(members.Select(i => duts[i].Dut).ToArray(), candidates);
            for (int k = 0; k < candidates.Count; k++)
            {
                var cand = candidates[k];
                var answered = results.Select(r => r[k] as Answered).ToArray();
                if (answered.Any(a => a is null)) continue;
                var e = Campaign.Expect(cand);
                var m = Comparator.Judge(cand, e, answered[0]!, profile);
                if (m.Count == 0 || Comparator.Signature(cand, m) != signature) continue;
                if (answered.Skip(1).Any(a => Comparator.Judge(cand, e, a!, profile).Count == 0)) continue;
                var again = Agreement.Of(cand, answered, answered.Select(_ => false).ToArray(), profile);
                if (again.Kind != CaseAgreement.PossibleModelError) continue;
                return (k, (e, answered.Select(a => a!).ToArray(), m));
            }
            return null;
        }, o.ShrinkBudget);
        var shrunkCase = shrunk with { Id = c.Id };
        var known = members.Select((m, j) => KeyValuePair.Create(m, (CaseResult)(w.Answers[j] with { Id = c.Id }))).ToDictionary();
        return new Failure(c.Id, Campaign.SizeOf(c.Id), c, shrunkCase, w.Mismatches, w.Expected with { Id = c.Id },
            w.Answers[0] with { Id = c.Id }, signature, tried) { Answers = AnswersOn(duts, shrunkCase, w.Expected with { Id = c.Id }, known, profile) };
    }

    /// <summary>Every DUT's answer to a shrunk case, judged against the model: those in <paramref name="known"/> as recorded, the others asked for.</summary>
    static IReadOnlyList<DutAnswer> AnswersOn(IReadOnlyList<NamedDut> duts, DutCase c, Answered expected, IReadOnlyDictionary<int, CaseResult> known, DutProfile profile)
    {
        var ask = Enumerable.Range(0, duts.Count).Where(i => !known.ContainsKey(i)).ToArray();
        var asked = RunOnAll(ask.Select(i => duts[i].Dut).ToArray(), [c]);
        var all = known.ToDictionary();
        for (int j = 0; j < ask.Length; j++) all[ask[j]] = asked[j][0];
        return Enumerable.Range(0, duts.Count).Select(i => DutAnswer.Judged(duts[i].Name, c, expected, all[i], profile)).ToArray();
    }
}
