using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Fred.Dut;

/// <summary>One row of the kill matrix.</summary>
/// <param name="Mutant">The mutant.</param>
/// <param name="Killed">A campaign found a case that tells it from the model.</param>
/// <param name="CasesToKill">Cases generated until the first failure (or all, when it survived).</param>
/// <param name="ShrunkSteps">Steps in the shrunk counterexample.</param>
/// <param name="Signature">The failure's signature.</param>
/// <param name="Rules">The rules the failure named.</param>
/// <param name="Elapsed">Wall time for the mutant, DUT start and shrinking included.</param>
/// <param name="Broke">Set when the mutant DUT broke instead of answering.</param>
public sealed record KillRow(Mutant Mutant, bool Killed, long CasesToKill, int ShrunkSteps, string Signature, IReadOnlyList<string> Rules, TimeSpan Elapsed, string? Broke);

/// <summary>Runs every mutant of the zoo through the protocol and records how fast each is killed.</summary>
public static class Zoo
{
    /// <summary>Runs one mutant as a DUT process until its first failure, at most <paramref name="count"/> cases.</summary>
    public static KillRow Hunt(Mutant m, Func<Mutant, IDut> start, int count, ulong seed, int batch)
    {
        var watch = Stopwatch.StartNew();
        using var dut = start(m);
        var r = Campaign.Run(dut, $"mutant:{m.Name}", new CampaignOptions(count, seed, batch, MaxFailures: 1));
        var f = r.Failures.FirstOrDefault();
        var broke = r.Broken.FirstOrDefault();
        return new KillRow(m, f is not null, f is not null ? f.Index + 1 : r.Run, f?.Case.Steps.Count ?? 0, f?.Signature ?? "",
            f?.Rules.ToArray() ?? [], watch.Elapsed, broke is null ? null : $"{broke.Verdict.Kind}: {broke.Verdict.Detail}");
    }

    /// <summary>The kill matrix as a Markdown table.</summary>
    public static string Markdown(IReadOnlyList<KillRow> rows)
    {
        var sb = new StringBuilder();
        sb.AppendLine("| mutant | breaks | killed | cases to kill | shrunk steps | failure signature | time |");
        sb.AppendLine("|---|---|---|---:|---:|---|---:|");
        foreach (var k in rows)
            sb.AppendLine($"| `{k.Mutant.Name}`{(k.Mutant.History is null ? "" : " (historical)")} | {k.Mutant.Rule} | {(k.Killed ? "yes" : "**NO**")} | {k.CasesToKill} | {k.ShrunkSteps} | `{k.Signature}` | {k.Elapsed.TotalSeconds.ToString("0.00", CultureInfo.InvariantCulture)} s |");
        int killed = rows.Count(r => r.Killed);
        sb.AppendLine();
        sb.AppendLine($"{killed} of {rows.Count} mutants killed; median cases to kill {Median(rows.Where(r => r.Killed).Select(r => r.CasesToKill))}, largest {(killed == 0 ? 0 : rows.Where(r => r.Killed).Max(r => r.CasesToKill))}; median shrunk size {Median(rows.Where(r => r.Killed).Select(r => (long)r.ShrunkSteps))} step(s).");
        return sb.ToString();
    }

    static long Median(IEnumerable<long> xs)
    {
        var a = xs.Order().ToArray();
        return a.Length == 0 ? 0 : a[a.Length / 2];
    }
}
