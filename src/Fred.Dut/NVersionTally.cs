namespace Fred.Dut;

/// <summary>The counts of one N-version run as it goes: per DUT, per pair of members, per kind of case. Local to a run.</summary>
sealed class NVersionTally
{
    readonly int n, size;
    readonly string[] labels;
    readonly int[] passed, unsupported, disagreed, modelErrorCases, agreed, compared;
    readonly int[] byKind = new int[Enum.GetValues<CaseAgreement>().Length];
    readonly List<BrokenCase>[] broken;
    readonly List<Failure>[] failures;
    readonly Dictionary<string, int>[] failed, bySignature;
    readonly Dictionary<string, int> exercised = new(), partitions = new();

    /// <summary>Cases counted.</summary>
    public int Run { get; private set; }

    /// <summary>Cases on which some DUT disagreed with the model.</summary>
    public int DisagreedCases { get; private set; }

    /// <summary>Cases on which some DUT broke.</summary>
    public int BrokenCases { get; private set; }

    /// <summary>Per DUT, its disagreeing cases that were possible model errors.</summary>
    public IReadOnlyList<int> ModelErrorCases => modelErrorCases;

    public NVersionTally(int duts)
    {
        n = duts;
        size = n + 1;
        labels = ["model", .. Enumerable.Range(0, n).Select(NVersionResult.Label)];
        passed = new int[n]; unsupported = new int[n]; disagreed = new int[n]; modelErrorCases = new int[n];
        agreed = new int[size * size]; compared = new int[size * size];
        broken = Enumerable.Range(0, n).Select(_ => new List<BrokenCase>()).ToArray();
        failures = Enumerable.Range(0, n).Select(_ => new List<Failure>()).ToArray();
        failed = Enumerable.Range(0, n).Select(_ => new Dictionary<string, int>()).ToArray();
        bySignature = Enumerable.Range(0, n).Select(_ => new Dictionary<string, int>()).ToArray();
    }

    /// <summary>Counts one case: what each DUT answered, its mismatches against the model, and who agreed with whom.</summary>
    public void Count(DutCase c, Answered expected, IReadOnlyList<CaseResult> results, IReadOnlyList<IReadOnlyList<Mismatch>> judged, CaseAgreements a)
    {
        Run++;
        foreach (var rule in Campaign.Exercised(c, expected)) exercised[rule] = exercised.GetValueOrDefault(rule) + 1;
        for (int i = 0; i < n; i++)
        {
            switch (results[i])
            {
                case Unsupported: unsupported[i]++; break;
                case DutBroke b: broken[i].Add(new BrokenCase(c.Id, c, b)); break;
                case Answered when judged[i].Count == 0: passed[i]++; break;
                case Answered:
                    disagreed[i]++;
                    if (a.Kind == CaseAgreement.PossibleModelError) modelErrorCases[i]++;
                    foreach (var rule in judged[i].SelectMany(m => m.Rules).Distinct()) failed[i][rule] = failed[i].GetValueOrDefault(rule) + 1;
                    break;
            }
        }
        if (judged.Any(m => m.Count > 0)) DisagreedCases++;
        if (results.Any(r => r is DutBroke)) BrokenCases++;
        for (int i = 0; i < size; i++)
            for (int j = 0; j < size; j++)
            {
                if (!a.Present[i] || !a.Present[j]) continue;
                compared[i * size + j]++;
                if (a.Agree(i, j)) agreed[i * size + j]++;
            }
        byKind[(int)a.Kind]++;
        string shown = Agreement.Show(a, labels);
        partitions[shown] = partitions.GetValueOrDefault(shown) + 1;
    }

    /// <summary>True when DUT i already failed with this signature (and counts one more occurrence).</summary>
    public bool Seen(int i, string signature)
    {
        if (!bySignature[i].TryGetValue(signature, out int at)) return false;
        failures[i][at] = failures[i][at] with { Occurrences = failures[i][at].Occurrences + 1 };
        return true;
    }

    /// <summary>Records DUT i's first failure with a signature.</summary>
    public void Add(int i, string signature, Failure f)
    {
        bySignature[i][signature] = failures[i].Count;
        failures[i].Add(f);
    }

    /// <summary>DUT i's own verdict, as a one-DUT campaign reports it.</summary>
    public CampaignResult Verdict(int i, DutHello hello, string name, DutProfile profile, CampaignOptions o, TimeSpan elapsed)
    {
        var tallies = exercised.Keys.Union(failed[i].Keys).Order(StringComparer.Ordinal)
            .Select(r => new RuleTally(r, exercised.GetValueOrDefault(r), failed[i].GetValueOrDefault(r))).ToArray();
        return new CampaignResult(hello, name, profile, o, Run, passed[i], unsupported[i], failures[i].ToArray(), broken[i].ToArray(),
            tallies, elapsed, disagreed[i]);
    }

    /// <summary>The agreement matrix so far.</summary>
    public AgreementMatrix Matrix(IReadOnlyList<string> members) => new(members, agreed.ToArray(), compared.ToArray(), byKind.ToArray(),
        partitions.OrderByDescending(p => p.Value).ThenBy(p => p.Key, StringComparer.Ordinal).ToArray());
}
