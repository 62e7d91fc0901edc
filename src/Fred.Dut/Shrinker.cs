using Fred.Generators;

namespace Fred.Dut;

/// <summary>
/// The shrink loop of every campaign (spec/dut-protocol.md, FRED-DUT-08): each round offers the FRED-aware shrinks of the
/// current case as one batch, and keeps the first that still fails the same way, so one bug cannot turn into another.
/// </summary>
public static class Shrinker
{
    /// <summary>Shrink candidates get ids from here up (FRED-DUT-09), apart from every generated case's.</summary>
    public const long FirstCandidateId = 1L << 40;

    /// <summary>At most this many candidates per round.</summary>
    public const int RoundSize = 64;

    /// <summary>
    /// Shrinks a case. <paramref name="firstKept"/> is given one round of candidates and returns the index of the first
    /// that still fails the same way with what it observed, or null; the loop stops when no candidate is kept or
    /// <paramref name="budget"/> candidates have been tried. Returns the smallest case kept, its witness and the count tried.
    /// </summary>
    public static (DutCase Case, T Witness, int Tried) Shrink<T>(DutCase c, T witness,
        Func<IReadOnlyList<DutCase>, (int Index, T Witness)?> firstKept, int budget)
    {
        var cur = (Case: c, Witness: witness);
        int tried = 0;
        long nextId = FirstCandidateId;
        var seen = new HashSet<string> { Wire.Case(c with { Id = 0 }) };
        while (tried < budget)
        {
            var candidates = new List<DutCase>();
            foreach (var s in Arbitraries.ShrinkDutScenario(new Scenario(cur.Case.Initial, [.. cur.Case.Steps])))
            {
                if (s.Steps.Length == 0) continue;
                var cand = new DutCase(nextId++, s.Initial, s.Steps);
                if (!seen.Add(Wire.Case(cand with { Id = 0 }))) continue;
                candidates.Add(cand);
                if (candidates.Count == RoundSize) break;
            }
            if (candidates.Count == 0) break;
            tried += candidates.Count;
            if (firstKept(candidates) is not { } kept) break;
            cur = (candidates[kept.Index], kept.Witness);
        }
        return (cur.Case, cur.Witness, tried);
    }
}
