using System.Diagnostics;
using Fred.Dut;

namespace Fred.Bench;

/// <summary>
/// `-- protocol [COUNT [BATCH]]`: the phases of a campaign against the model DUT, timed apart with a stopwatch on one
/// cold run (JIT tiers included), outside BenchmarkDotNet: cases of seed 3 generated, the model's answers, the codec,
/// the DUT over pipes, the comparison and the rule tally.
/// </summary>
public static class ProtocolProbe
{
    /// <summary>Runs the phases; exit code 1 when any answer disagrees with the model.</summary>
    public static int Run(int count, int batch, ulong seed)
    {
        var shape = Fred.Generators.Arbitraries.DutShape.Full;
        var sw = Stopwatch.StartNew();
        var cases = Enumerable.Range(0, count).Select(i => Campaign.Generate(shape, seed, i)).ToArray();
        long steps = cases.Sum(c => (long)c.Steps.Count);
        Report("generate", sw, count, steps);
        sw.Restart();
        var expected = cases.Select(Campaign.Expect).ToArray();
        Report("expect (model)", sw, count, steps);
        sw.Restart();
        long chars = 0;
        foreach (var c in cases) chars += Wire.Case(c).Length;
        Report($"encode cases ({chars / count:N0} characters each)", sw, count, steps);
        sw.Restart();
        foreach (var c in cases) Wire.Decode(Wire.Case(c));
        Report("encode+decode cases", sw, count, steps);
        sw.Restart();
        for (int i = 0; i < count; i++) Wire.Decode(Wire.Result(expected[i], cases[i].Initial), _ => cases[i]);
        Report("encode+decode results", sw, count, steps);
        using var dut = ProcessDut.Start(ProtocolCorpus.DutCommandLine(), TimeSpan.FromSeconds(30));
        sw.Restart();
        var results = new List<CaseResult>();
        for (int i = 0; i < count; i += batch) results.AddRange(dut.Run(cases[i..Math.Min(count, i + batch)]));
        Report($"ProcessDut.Run, batches of {batch}", sw, count, steps);
        sw.Restart();
        int bad = 0;
        for (int i = 0; i < count; i++) if (results[i] is not Answered a || Comparator.Compare(cases[i], expected[i], a, DutProfile.Strict).Count != 0) bad++;
        Report("compare", sw, count, steps);
        sw.Restart();
        foreach (var i in Enumerable.Range(0, count)) Campaign.Exercised(cases[i], expected[i]).Count();
        Report("exercised rules", sw, count, steps);
        Console.WriteLine($"{count:N0} cases, {steps:N0} events (steps), {bad} disagreed");
        Console.WriteLine($"the benchmarks' corpus: {ProtocolCorpus.Build().Length:N0} cases, {ProtocolCorpus.Events:N0} steps");
        return bad == 0 ? 0 : 1;
    }

    static void Report(string what, Stopwatch sw, int count, long steps) =>
        Console.WriteLine($"{what,-45} {sw.ElapsedMilliseconds,7:N0} ms  {count / sw.Elapsed.TotalSeconds,12:N0} cases/s  {steps / sw.Elapsed.TotalSeconds,12:N0} events/s");
}
