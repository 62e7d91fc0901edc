namespace Fred.Dut;

/// <summary>One DUT's answer to a case, under the name it was given (<c>--dut</c>).</summary>
/// <param name="Dut">The DUT as given.</param>
/// <param name="Result">Its answer.</param>
/// <param name="Verdict">Against the model under the run's profile: <c>agrees</c>, <c>disagrees</c>, <c>declined</c> or <c>broke</c>.</param>
public sealed record DutAnswer(string Dut, CaseResult Result, string Verdict)
{
    /// <summary>A DUT's answer with its verdict against the model's answers, judged as the campaign judges.</summary>
    public static DutAnswer Judged(string dut, DutCase c, Answered expected, CaseResult r, DutProfile profile) => new(dut, r, r switch
    {
        Answered a => Comparator.Judge(c, expected, a, profile).Count == 0 ? "agrees" : "disagrees",
        Unsupported => "declined",
        _ => "broke",
    });
}

/// <summary>How the answers to one case fall out in an N-version run (spec/dut-protocol.md, FRED-DUT-13).</summary>
public enum CaseAgreement
{
    /// <summary>Every DUT that answered agrees with the model.</summary>
    AllAgree,
    /// <summary>Some DUT disagrees with the model, and not every DUT agrees against it: a failure of those DUTs.</summary>
    SomeDisagree,
    /// <summary>At least two DUTs answered, all agree with each other, and none with the model.</summary>
    PossibleModelError,
    /// <summary>No DUT answered (each declined or broke).</summary>
    NoAnswer,
}

/// <summary>
/// Who agrees with whom on one case. Member 0 is the model, member i the i-th DUT; a DUT that declined or broke is absent
/// and agrees with no one.
/// </summary>
/// <param name="Present">Which members answered (the model always does).</param>
/// <param name="Pairs">Row-major, Size x Size: members i and j both answered and agree (a member agrees with itself).</param>
/// <param name="Classes">The agreement classes of the members present, each listed by member; the model's first.</param>
/// <param name="Kind">What the partition means.</param>
public sealed record CaseAgreements(IReadOnlyList<bool> Present, IReadOnlyList<bool> Pairs, IReadOnlyList<IReadOnlyList<int>> Classes, CaseAgreement Kind)
{
    /// <summary>Members: the model and the DUTs.</summary>
    public int Size => Present.Count;

    /// <summary>True when members i and j both answered and agree.</summary>
    public bool Agree(int i, int j) => Pairs[i * Size + j];
}

/// <summary>Agreement classes of the model and N DUTs on a case: pure functions of their answers.</summary>
public static class Agreement
{
    /// <summary>
    /// The agreements on a case. <paramref name="answers"/> holds each DUT's answer, null when it declined or broke;
    /// <paramref name="agreesWithModel"/> whether the DUT passed <see cref="Comparator.Judge"/> (so the readings the
    /// profile allows count). Two DUTs agree when <see cref="Comparator.Compare"/> finds nothing, the earlier one taken
    /// as expected.
    /// </summary>
    public static CaseAgreements Of(DutCase c, IReadOnlyList<Answered?> answers, IReadOnlyList<bool> agreesWithModel, DutProfile profile)
    {
        int size = answers.Count + 1;
        var present = new bool[size];
        present[0] = true;
        for (int i = 1; i < size; i++) present[i] = answers[i - 1] is not null;
        var pairs = new bool[size * size];
        for (int i = 0; i < size; i++)
            for (int j = i; j < size; j++)
            {
                bool agree = present[i] && present[j] && (i == j
                    || (i == 0 ? agreesWithModel[j - 1] : Comparator.Compare(c, answers[i - 1]!, answers[j - 1]!, profile).Count == 0));
                pairs[i * size + j] = pairs[j * size + i] = agree;
            }
        var classes = Partition(present, pairs);
        return new CaseAgreements(present, pairs, classes, Classify(present, pairs));
    }

    /// <summary>
    /// The members present, grouped: each joins the first class whose first member it agrees with, else starts a new
    /// one. (Agreement under a profile need not be transitive; the class is named after its first member.)
    /// </summary>
    public static IReadOnlyList<IReadOnlyList<int>> Partition(IReadOnlyList<bool> present, IReadOnlyList<bool> pairs)
    {
        int size = present.Count;
        var classes = new List<List<int>>();
        for (int m = 0; m < size; m++)
        {
            if (!present[m]) continue;
            var home = classes.FirstOrDefault(k => pairs[k[0] * size + m]);
            if (home is null) classes.Add([m]); else home.Add(m);
        }
        return classes.Select(k => (IReadOnlyList<int>)k.ToArray()).ToArray();
    }

    /// <summary>What a case's agreements mean: the model error needs two DUTs or more, all agreeing pairwise, none with the model.</summary>
    public static CaseAgreement Classify(IReadOnlyList<bool> present, IReadOnlyList<bool> pairs)
    {
        int size = present.Count;
        var duts = Enumerable.Range(1, size - 1).Where(i => present[i]).ToArray();
        if (duts.Length == 0) return CaseAgreement.NoAnswer;
        if (duts.All(i => pairs[i])) return CaseAgreement.AllAgree;
        bool noneWithModel = duts.All(i => !pairs[i]);
        bool allTogether = duts.All(i => duts.All(j => pairs[i * size + j]));
        return duts.Length >= 2 && noneWithModel && allTogether ? CaseAgreement.PossibleModelError : CaseAgreement.SomeDisagree;
    }

    /// <summary>A partition as text: <c>{model, dut1} {dut2, dut3}</c>, absent DUTs after a bar.</summary>
    public static string Show(CaseAgreements a, IReadOnlyList<string> labels)
    {
        string text = string.Join(" ", a.Classes.Select(k => "{" + string.Join(", ", k.Select(m => labels[m])) + "}"));
        var absent = Enumerable.Range(1, a.Size - 1).Where(i => !a.Present[i]).Select(i => labels[i]).ToArray();
        return absent.Length == 0 ? text : $"{text} | absent: {string.Join(", ", absent)}";
    }
}
