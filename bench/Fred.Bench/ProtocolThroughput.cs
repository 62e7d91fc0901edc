using BenchmarkDotNet.Attributes;
using Fred.Dut;
using Fred.Generators;
using Fred.Model;

namespace Fred.Bench;

/// <summary>
/// The benchmarks' protocol corpus: the campaign's own generated cases (seed 3, index 0 upward, shape of the model
/// DUT's hello), taken in order until they hold exactly <see cref="ProtocolCorpus.Events"/> steps; the last case is cut
/// short to make the count exact. An event is one step (deliver, execute, ERETU, ERETS, WRMSR, MOV CR4, ADD RSP).
/// </summary>
public static class ProtocolCorpus
{
    /// <summary>Steps in the corpus; every protocol benchmark's reported mean is per step.</summary>
    public const int Events = 10_000;

    /// <summary>The campaign seed the corpus is generated from (the seed of the README's CLI figure).</summary>
    public const ulong Seed = 3;

    /// <summary>How many generated cases the corpus starts from (the last one possibly cut short).</summary>
    public static int CasesFor(Arbitraries.DutShape shape)
    {
        int steps = 0, n = 0;
        while (steps < Events) steps += Campaign.Generate(shape, Seed, n++).Steps.Count;
        return n;
    }

    /// <summary>Cuts the generated cases down to exactly <see cref="Events"/> steps.</summary>
    public static DutCase[] Trim(IReadOnlyList<DutCase> generated)
    {
        var cases = new List<DutCase>();
        int steps = 0;
        foreach (var c in generated)
        {
            if (steps == Events) break;
            int take = Math.Min(c.Steps.Count, Events - steps);
            cases.Add(take == c.Steps.Count ? c : c with { Steps = [.. c.Steps.Take(take)] });
            steps += take;
        }
        return steps == Events ? [.. cases] : throw new InvalidOperationException($"the corpus holds {steps} steps, not {Events}");
    }

    /// <summary>The corpus.</summary>
    public static DutCase[] Build() => Trim(Generate(Arbitraries.DutShape.Full, CasesFor(Arbitraries.DutShape.Full)));

    /// <summary>Cases 0 to n-1 of the corpus seed.</summary>
    public static DutCase[] Generate(Arbitraries.DutShape shape, int n) =>
        [.. Enumerable.Range(0, n).Select(i => Campaign.Generate(shape, Seed, i))];

    /// <summary>The DUT command: FRED_BENCH_DUT when set (your own adapter), else the model DUT shipped with the benchmarks.</summary>
    public static string DutCommandLine() =>
        Environment.GetEnvironmentVariable("FRED_BENCH_DUT") is { Length: > 0 } d ? DutCommand.Resolve(d) : DutCommand.ModelDut();

    /// <summary>Throws unless every answer agrees with the model's, so a broken DUT or codec cannot be timed.</summary>
    public static void CheckAgainstModel(IReadOnlyList<DutCase> cases, IReadOnlyList<CaseResult> results)
    {
        for (int i = 0; i < cases.Count; i++)
        {
            if (results[i] is not Answered a) throw new InvalidOperationException($"case {cases[i].Id}: {results[i]}");
            var ms = Comparator.Compare(cases[i], Campaign.Expect(cases[i]), a, DutProfile.Strict);
            if (ms.Count > 0) throw new InvalidOperationException($"case {cases[i].Id} disagrees with the model: {string.Join("; ", ms)}");
        }
    }
}

/// <summary>
/// Protocol throughput over pipes: pre-generated cases sent in batches to the model DUT process (fred-model-dut, or
/// FRED_BENCH_DUT) and its answers read back and decoded, as a campaign does. Case generation, the model's own answers
/// and the comparison are left out (see <see cref="ProtocolPhases"/>). Target (issue): at least 100k events/s.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(EventsPerSecondConfig))]
public class ProtocolThroughput
{
    /// <summary>Cases written before their answers are read (the CLI's --batch).</summary>
    [Params(100, 1000)]
    public int Batch { get; set; }

    DutCase[][] batches = [];
    ProcessDut? dut;

    /// <summary>Generates the corpus, starts the DUT and checks one full pass of answers against the model.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var cases = ProtocolCorpus.Build();
        batches = [.. cases.Chunk(Batch)];
        dut = ProcessDut.Start(ProtocolCorpus.DutCommandLine(), TimeSpan.FromSeconds(30));
        ProtocolCorpus.CheckAgainstModel(cases, [.. batches.SelectMany(b => dut.Run(b))]);
    }

    /// <summary>Says bye to the DUT.</summary>
    [GlobalCleanup]
    public void Cleanup() => dut?.Dispose();

    /// <summary>Every batch of the corpus through the DUT; a case the DUT broke on makes the run throw.</summary>
    [Benchmark(OperationsPerInvoke = ProtocolCorpus.Events)]
    public int OverPipes()
    {
        int answered = 0;
        foreach (var b in batches)
            foreach (var r in dut!.Run(b))
                answered += r is Answered ? 1 : throw new InvalidOperationException($"case {r.Id}: {r}");
        return answered;
    }
}

/// <summary>
/// The wire codec alone, per step of the corpus: every case encoded and decoded (both ends of a case line), every
/// model answer encoded as a result line and decoded against its case (both ends of a result line).
/// </summary>
[MemoryDiagnoser]
[Config(typeof(EventsPerSecondConfig))]
public class ProtocolCodec
{
    DutCase[] cases = [];
    Answered[] answers = [];

    /// <summary>The corpus and the model's answers; one round trip of each is checked.</summary>
    [GlobalSetup]
    public void Setup()
    {
        cases = ProtocolCorpus.Build();
        answers = [.. cases.Select(Campaign.Expect)];
        ProtocolCorpus.CheckAgainstModel(cases, [.. cases.Select((c, i) => ((ResultMessage)Wire.Decode(Wire.Result(answers[i], c.Initial), _ => c)).Result)]);
        for (int i = 0; i < cases.Length; i++)
            if (Wire.Case(((CaseMessage)Wire.Decode(Wire.Case(cases[i]))).Case) != Wire.Case(cases[i]))
                throw new InvalidOperationException($"case {cases[i].Id} does not survive the wire");
    }

    /// <summary>Wire.Case then Wire.Decode of every case.</summary>
    [Benchmark(OperationsPerInvoke = ProtocolCorpus.Events)]
    public int CaseEncodeDecode()
    {
        int n = 0;
        foreach (var c in cases) n += ((CaseMessage)Wire.Decode(Wire.Case(c))).Case.Steps.Count;
        return n;
    }

    /// <summary>Wire.Result then Wire.Decode of every model answer.</summary>
    [Benchmark(OperationsPerInvoke = ProtocolCorpus.Events)]
    public int ResultEncodeDecode()
    {
        int n = 0;
        for (int i = 0; i < cases.Length; i++)
        {
            var c = cases[i];
            n += ((Answered)((ResultMessage)Wire.Decode(Wire.Result(answers[i], c.Initial), _ => c)).Result).Steps.Count;
        }
        return n;
    }
}

/// <summary>
/// The rest of a campaign's work per step, in process and on one thread: generating the cases (FsCheck, the same
/// generator and per-index seeds as Campaign.Generate), the model's answers (CaseRunner over Step.Apply), and
/// comparing an answer with them (Comparator, on answers already decoded).
/// </summary>
[MemoryDiagnoser]
[Config(typeof(EventsPerSecondConfig))]
public class ProtocolPhases
{
    int generated;
    DutCase[] cases = [];
    Answered[] expected = [];
    Answered[] observed = [];

    /// <summary>The corpus, its answers, and the answers decoded from the wire as a DUT's would be.</summary>
    [GlobalSetup]
    public void Setup()
    {
        generated = ProtocolCorpus.CasesFor(Arbitraries.DutShape.Full);
        cases = ProtocolCorpus.Build();
        expected = [.. cases.Select(Campaign.Expect)];
        observed = [.. cases.Select((c, i) => (Answered)((ResultMessage)Wire.Decode(Wire.Result(expected[i], c.Initial), _ => c)).Result)];
        ProtocolCorpus.CheckAgainstModel(cases, observed);
    }

    /// <summary>Generating the corpus's cases (its last case in full).</summary>
    [Benchmark(OperationsPerInvoke = ProtocolCorpus.Events)]
    public int Generate() => ProtocolCorpus.Generate(Arbitraries.DutShape.Full, generated).Length;

    /// <summary>The model's answers for every case.</summary>
    [Benchmark(OperationsPerInvoke = ProtocolCorpus.Events)]
    public int Expect()
    {
        int n = 0;
        foreach (var c in cases) n += Campaign.Expect(c).Steps.Count;
        return n;
    }

    /// <summary>Comparing every decoded answer with the model's.</summary>
    [Benchmark(OperationsPerInvoke = ProtocolCorpus.Events)]
    public int Compare()
    {
        int n = 0;
        for (int i = 0; i < cases.Length; i++) n += Comparator.Compare(cases[i], expected[i], observed[i], DutProfile.Strict).Count;
        return n == 0 ? n : throw new InvalidOperationException($"{n} mismatches");
    }
}
