using System.Collections.Concurrent;
using System.Diagnostics;
using FsCheck;
using FsCheck.Fluent;
using Fred.Generators;
using Fred.Model;

namespace Fred.Dut;

/// <summary>How a campaign runs.</summary>
/// <param name="Count">How many generated cases.</param>
/// <param name="Seed">The seed; case i is generated from (Seed, i) alone, so any case can be regenerated.</param>
/// <param name="BatchSize">Cases sent to the DUT before reading their answers.</param>
/// <param name="Profile">Allowed divergences and revisions.</param>
/// <param name="Shrink">Shrink failures through the DUT.</param>
/// <param name="MaxFailures">Stop after this many failures with distinct signatures (0: never stop early).</param>
/// <param name="ShrinkBudget">At most this many candidate cases per shrink.</param>
/// <param name="SaveDirectory">Where counterexample files go (null: not saved).</param>
/// <param name="From">The index of the first case (so one case of a long run can be regenerated alone).</param>
/// <param name="MaxBrokenInARow">Stop when this many cases in a row broke (0: never stop for that).</param>
public sealed record CampaignOptions(
    int Count = 1000, ulong Seed = 1, int BatchSize = 100, DutProfile? Profile = null, bool Shrink = true,
    int MaxFailures = 10, int ShrinkBudget = 4000, string? SaveDirectory = null, long From = 0, int MaxBrokenInARow = 10)
{
    /// <summary>The profile, strict when none was given.</summary>
    public DutProfile EffectiveProfile => Profile ?? DutProfile.Strict;
}

/// <summary>A case on which the DUT and the model disagree, shrunk.</summary>
/// <param name="Index">The generated case's index (with the seed, this regenerates the original).</param>
/// <param name="Size">The generator size it was made with.</param>
/// <param name="Original">The case as generated.</param>
/// <param name="Case">The shrunk case.</param>
/// <param name="Mismatches">The differing fields at the first differing step of the shrunk case.</param>
/// <param name="Expected">The model's answers for the shrunk case.</param>
/// <param name="Observed">The DUT's answers for the shrunk case.</param>
/// <param name="Signature">The failure's signature, kept while shrinking.</param>
/// <param name="ShrinkCandidates">How many candidates the shrink tried.</param>
public sealed record Failure(long Index, int Size, DutCase Original, DutCase Case, IReadOnlyList<Mismatch> Mismatches,
    Answered Expected, Answered Observed, string Signature, int ShrinkCandidates)
{
    /// <summary>Every rule the mismatches name.</summary>
    public IEnumerable<string> Rules => Mismatches.SelectMany(m => m.Rules).Distinct().Order();

    /// <summary>Where the counterexample file was written, if it was.</summary>
    public string? File { get; init; }

    /// <summary>How many generated cases failed with this signature.</summary>
    public int Occurrences { get; init; } = 1;

    /// <summary>In an N-version run, every DUT's answer to the shrunk case, in <c>--dut</c> order; empty otherwise.</summary>
    public IReadOnlyList<DutAnswer> Answers { get; init; } = [];
}

/// <summary>A case the DUT could not answer (crash, timeout, garbage, wrong order).</summary>
public sealed record BrokenCase(long Index, DutCase Case, DutBroke Verdict);

/// <summary>Per-rule tally: cases that exercised the rule, and failures that named it.</summary>
public sealed record RuleTally(string Rule, int Cases, int Failures);

/// <summary>What a campaign found.</summary>
public sealed record CampaignResult(
    DutHello Hello, string DutCommand, DutProfile Profile, CampaignOptions Options, int Run, int Passed, int Unsupported,
    IReadOnlyList<Failure> Failures, IReadOnlyList<BrokenCase> Broken, IReadOnlyList<RuleTally> ByRule, TimeSpan Elapsed,
    int FailedCases)
{
    /// <summary>How many cases the DUT declined, by the reason it gave.</summary>
    public IReadOnlyDictionary<string, int> DeclinedBecause { get; init; } = new Dictionary<string, int>();

    /// <summary>Why the run stopped before its last case because of the DUT (it kept breaking, or could not be restarted); null otherwise.</summary>
    public string? Stopped { get; init; }

    /// <summary>True when the run was interrupted (a signal) before its last case: the result holds what was known by then.</summary>
    public bool Interrupted { get; init; }

    /// <summary>True when every case agreed or was declined, at least one agreed, the DUT never broke and the run was not cut short.</summary>
    public bool Ok => FailedCases == 0 && Broken.Count == 0 && (Passed > 0 || Run == 0) && Stopped is null && !Interrupted;
}

/// <summary>Progress of a running campaign: cases done of the total, how many disagreed, broke the DUT or were declined.</summary>
public readonly record struct CampaignProgress(int Done, int Total, int Failed, int Broken, TimeSpan Elapsed, int Declined = 0)
{
    /// <summary>Cases the DUT answered and agreed on (N-version: on which every DUT that answered agreed with the model).</summary>
    public int Agreed => Done - Failed - Broken - Declined;
}

/// <summary>Runs generated cases on the model and a DUT in lock step, shrinks failures through the DUT and saves them.</summary>
public static class Campaign
{
    /// <summary>The generator size for case i: cycles so that small and large cases alternate.</summary>
    public static int SizeOf(long index) => (int)(index % 100) + 1;

    /// <summary>The random source for case i of a seed.</summary>
    public static Rnd RndOf(ulong seed, long index) => new(seed ^ (0x9E37_79B9_7F4A_7C15UL * (ulong)(index + 1)), 0xBF58_476D_1CE4_E5B9UL | 1);

    /// <summary>The generator shape a DUT and profile call for.</summary>
    public static Arbitraries.DutShape ShapeFor(DutHello hello, DutProfile profile) => new(
        profile.Revisions.Intersect(hello.Revisions).ToArray(),
        hello.Features.Contains(DutFeatures.Cet) && !profile.Allows(DutProfile.NoCet),
        hello.Features.Contains(DutFeatures.Compat) && !profile.Allows(DutProfile.NoCompat),
        hello.Features.Contains(DutFeatures.RealEvents));

    /// <summary>Regenerates case i of a seed.</summary>
    /// <remarks>
    /// FsCheck 3.6's <c>Gen.Sample(gen, a, rnd, b)</c> makes <c>a</c> values at size <c>b</c> (not <c>b</c> values at size
    /// <c>a</c>), so the call this replaces, <c>Sample(gen, size, rnd, 1)[0]</c>, made <paramref name="size"/> values at size 1
    /// and kept the first. This makes only that first value: the same case, without the wasted ones. The size is therefore
    /// not applied (every case is generated at size 1), as before; <paramref name="size"/> is kept for callers.
    /// </remarks>
    public static DutCase Generate(Arbitraries.DutShape shape, ulong seed, long index, int? size = null)
    {
        // One value at the case's size (FsCheck's Sample takes the count first and the size last).
        var sc = Gen.Sample(GeneratorFor(shape), 1, RndOf(seed, index), size ?? SizeOf(index))[0];
        return new DutCase(index, sc.Initial, sc.Steps);
    }

    static readonly ConcurrentDictionary<(string Revisions, bool Cet, bool Compat, bool RealEvents), Gen<Scenario>> Generators = new();

    /// <summary>The scenario generator of a shape, built once per shape (building it costs as much as a small case).</summary>
    static Gen<Scenario> GeneratorFor(Arbitraries.DutShape shape) =>
        Generators.GetOrAdd((string.Join(",", shape.Revisions), shape.Cet, shape.Compat, shape.RealEvents), _ => Arbitraries.DutScenario(shape));

    /// <summary>
    /// Cases start..start+n-1 and the model's answers, generated on every core. Case i depends on (seed, i) alone, so
    /// the cases are the same as generating them one by one.
    /// </summary>
    internal static (DutCase[] Cases, Answered[] Expected) Prepare(Arbitraries.DutShape shape, ulong seed, long start, int n)
    {
        var cases = new DutCase[n];
        var expected = new Answered[n];
        Parallel.For(0, n, k =>
        {
            cases[k] = Generate(shape, seed, start + k);
            expected[k] = Expect(cases[k]);
        });
        return (cases, expected);
    }

    /// <summary>The model's answers.</summary>
    public static Answered Expect(DutCase c) => CaseRunner.Run(CaseRunner.Model, c);

    /// <summary>
    /// Runs a campaign. It stops early after <see cref="CampaignOptions.MaxFailures"/> distinct failures, after
    /// <see cref="CampaignOptions.MaxBrokenInARow"/> broken cases in a row or when the DUT cannot be restarted
    /// (<see cref="CampaignResult.Stopped"/>), and when <paramref name="cancel"/> is signalled
    /// (<see cref="CampaignResult.Interrupted"/>); the result always holds every case run until then.
    /// </summary>
    public static CampaignResult Run(IDut dut, string dutCommand, CampaignOptions o, Action<CampaignProgress>? progress = null,
        CancellationToken cancel = default)
    {
        var watch = Stopwatch.StartNew();
        var profile = o.EffectiveProfile;
        var shape = ShapeFor(dut.Hello, profile);
        if (shape.Revisions.Count == 0)
            throw new DutStartException($"nothing to test: the DUT implements {string.Join(", ", dut.Hello.Revisions.Select(Wire.RevisionName))} and the profile asks for {string.Join(", ", profile.Revisions.Select(Wire.RevisionName))}");
        var failures = new List<Failure>();
        var bySignature = new Dictionary<string, int>();
        var broken = new List<BrokenCase>();
        var cases = new Dictionary<string, int>();
        var failed = new Dictionary<string, int>();
        int run = 0, passed = 0, unsupported = 0, failedCases = 0;
        var declinedBecause = new Dictionary<string, int>();
        bool stop = false;
        string? stopped = null;
        int brokenInARow = 0;
        // The next batch is generated (with the model's answers) in the background while the DUT runs this one.
        Task<(DutCase[], Answered[])>? PrepareFrom(long start) => start < o.From + o.Count
            ? Task.Run(() => Prepare(shape, o.Seed, start, (int)Math.Min(o.BatchSize, o.From + o.Count - start)))
            : null;
        var next = PrepareFrom(o.From);
        for (long start = o.From; next is not null && !stop; start += o.BatchSize)
        {
            var (batch, expected) = next.GetAwaiter().GetResult();
            int n = batch.Length;
            next = PrepareFrom(start + o.BatchSize);
            var results = dut.Run(batch, o.MaxBrokenInARow > 0 ? o.MaxBrokenInARow - brokenInARow : 0, cancel);
            for (int k = 0; k < n && !stop; k++)
            {
                var c = batch[k];
                if (results[k] is DutBroke { Kind: DutBroke.NotRun } notRun)
                {
                    // Never sent: the DUT could not be restarted, or the run was interrupted. What ran so far stands.
                    if (!cancel.IsCancellationRequested) stopped ??= notRun.Detail;
                    stop = true;
                    break;
                }
                run++;
                brokenInARow = results[k] is DutBroke ? brokenInARow + 1 : 0;
                foreach (var rule in Exercised(c, expected[k])) cases[rule] = cases.GetValueOrDefault(rule) + 1;
                switch (results[k])
                {
                    case Unsupported u:
                        unsupported++;
                        declinedBecause[u.Reason] = declinedBecause.GetValueOrDefault(u.Reason) + 1;
                        break;
                    case DutBroke b:
                        broken.Add(new BrokenCase(c.Id, c, b));
                        if (o.MaxBrokenInARow > 0 && brokenInARow >= o.MaxBrokenInARow)
                        {
                            stopped = $"the DUT broke on {brokenInARow} cases in a row (the limit is {o.MaxBrokenInARow})";
                            stop = true;
                        }
                        break;
                    case Answered a:
                        var ms = Comparator.Judge(c, expected[k], a, profile);
                        if (ms.Count == 0) { passed++; break; }
                        failedCases++;
                        foreach (var rule in ms.SelectMany(m => m.Rules).Distinct()) failed[rule] = failed.GetValueOrDefault(rule) + 1;
                        string sig = Comparator.Signature(c, ms);
                        if (bySignature.TryGetValue(sig, out int at))
                        {
                            failures[at] = failures[at] with { Occurrences = failures[at].Occurrences + 1 };
                            break;
                        }
                        var f = o.Shrink && !cancel.IsCancellationRequested ? ShrinkFailure(dut, profile, c, expected[k], a, ms, sig, o.ShrinkBudget, cancel)
                                         : new Failure(c.Id, SizeOf(c.Id), c, c, ms, expected[k], a, sig, 0);
                        if (o.SaveDirectory is { } dir) f = f with { File = Counterexample.Save(dir, f, dut.Hello, dutCommand, profile, o.Seed) };
                        bySignature[sig] = failures.Count;
                        failures.Add(f);
                        if (o.MaxFailures > 0 && failures.Count >= o.MaxFailures) stop = true;
                        break;
                }
            }
            progress?.Invoke(new CampaignProgress(run, o.Count, failedCases, broken.Count, watch.Elapsed, unsupported));
            if (cancel.IsCancellationRequested) stop = true;
        }
        var tallies = cases.Keys.Union(failed.Keys).Order(StringComparer.Ordinal)
            .Select(r => new RuleTally(r, cases.GetValueOrDefault(r), failed.GetValueOrDefault(r))).ToArray();
        return new CampaignResult(dut.Hello, dutCommand, profile, o, run, passed, unsupported, failures, broken, tallies, watch.Elapsed, failedCases)
        {
            DeclinedBecause = declinedBecause,
            Stopped = stopped,
            Interrupted = cancel.IsCancellationRequested && run < o.Count && stopped is null,
        };
    }

    /// <summary>
    /// Shrinks a failure through the DUT (<see cref="Shrinker"/>): a candidate is kept when the DUT still fails it with the
    /// same signature.
    /// </summary>
    public static Failure ShrinkFailure(IDut dut, DutProfile profile, DutCase c, Answered expected, Answered observed,
        IReadOnlyList<Mismatch> ms, string signature, int budget, CancellationToken cancel = default)
    {
        var (shrunk, w, tried) = Shrinker.Shrink(c, (Expected: expected, Observed: observed, Mismatches: ms), candidates =>
        {
            // Interrupted: no candidate is kept, so the shrink ends with what it has.
            if (cancel.IsCancellationRequested) return null;
            var results = dut.Run(candidates, 0, cancel);
            for (int i = 0; i < candidates.Count; i++)
            {
                if (results[i] is not Answered a) continue;
                var e = Expect(candidates[i]);
                var m = Comparator.Judge(candidates[i], e, a, profile);
                if (m.Count > 0 && Comparator.Signature(candidates[i], m) == signature) return (i, (e, a, m));
            }
            return null;
        }, budget);
        return new Failure(c.Id, SizeOf(c.Id), c, shrunk with { Id = c.Id }, w.Mismatches, w.Expected with { Id = c.Id },
            w.Observed with { Id = c.Id }, signature, tried);
    }

    static readonly string[] ProbeFields = ["outcome", "rip", "rsp", "fred_config", "rflags", "cs", "nmi_blocked", "pending_db", "ssp", "rcx", "cr2"];
    static readonly string[] FrameSlots = ["error_code", "rip", "cs_word", "rflags", "rsp", "ss_word", "event_data", "reserved"];

    /// <summary>
    /// The rules a case exercises: those governing the fields of each step the model ran, and after a delivery every
    /// rule a frame slot's difference can name (every bit differing, the slot left unwritten).
    /// </summary>
    public static IEnumerable<string> Exercised(DutCase c, Answered expected)
    {
        var rules = new HashSet<string>();
        var before = c.Initial;
        for (int i = 0; i < expected.Steps.Count; i++)
        {
            var e = expected.Steps[i];
            foreach (var f in ProbeFields) rules.UnionWith(Comparator.RulesFor(c.Steps[i], f, e, before));
            rules.UnionWith(Comparator.RulesFor(c.Steps[i], "memory[0x0]", e, before));
            if (e.Outcome.Kind == OutcomeKind.Delivered)
                foreach (var slot in FrameSlots) rules.UnionWith(Comparator.RulesForSlot(c.Steps[i], slot, 0, ulong.MaxValue, ulong.MaxValue, e, before));
            before = e.State;
        }
        return rules;
    }
}
