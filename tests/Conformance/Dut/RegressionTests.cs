using Fred.Dut;

namespace Fred.Conformance.Dut;

/// <summary>
/// Every counterexample file in tests/Conformance/Regressions is a regression case: the model must still give the
/// answers recorded as expected, and a DUT named by FRED_DUT must agree with the model on it.
/// </summary>
public class RegressionTests
{
    static string Folder => Path.Combine(SpecCoverageTests.RepositoryRoot(), "tests", "Conformance", "Regressions");

    public static TheoryData<string> Files => new(Directory.GetFiles(Folder, "*.json").Select(Path.GetFileName).Order()!);

    [Theory]
    [MemberData(nameof(Files))]
    [Trait("Rule", "FRED-DUT-12")]
    public void A_saved_counterexample_still_holds(string file)
    {
        var cx = Counterexample.Load(Path.Combine(Folder, file));
        var now = Campaign.Expect(cx.Case);
        var drift = Comparator.Compare(cx.Case, cx.Expected, now, DutProfile.Strict);
        Assert.True(drift.Count == 0, $"{file}: the model's answers changed: {string.Join("; ", drift)}");
        if (cx.Observed is { } observed)
        {
            // The recorded observation still fails the same way: the file documents a real disagreement.
            var ms = Comparator.Compare(cx.Case, now, observed, DutProfile.FromDescription(cx.ProfileText) ?? DutProfile.Strict);
            Assert.Equal(cx.Signature, Comparator.Signature(cx.Case, ms));
        }
        if (Environment.GetEnvironmentVariable("FRED_DUT") is { Length: > 0 } dut)
        {
            using var p = ProcessDut.Start(DutCommand.Resolve(dut), TimeSpan.FromSeconds(30));
            var r = p.Run([cx.Case])[0];
            if (r is Answered a)
                Assert.True(Comparator.Compare(cx.Case, now, a, DutProfile.Strict).Count == 0, $"{file}: {dut} disagrees with the model");
            else Assert.IsType<Unsupported>(r);
        }
    }

    public static TheoryData<string, string> BadFiles => new()
    {
        { "{}", "not a Fred counterexample file" },
        { "{\"fred_counterexample\":2}", "format version 2" },
        { "{\"fred_counterexample\":1,\"dut\":\"x\",\"seed\":\"0x1\",\"index\":1,\"size\":1,\"signature\":\"s\",\"case\":{\"type\":\"case\"}}", "case: missing field \"id\"" },
        { "[", "not valid JSON" },
        { "{\n  \"fred_counterexample\": }", ":2:" },
        { "{\"fred_counterexample\":1.5}", "whole number" },
    };

    [Fact]
    [Trait("Rule", "FRED-DUT-12")]
    public void A_fractional_index_is_refused_not_a_crash()
    {
        string text = File.ReadAllText(Path.Combine(Folder, "bochs-eretu-compat-fast-path.json"));
        text = System.Text.RegularExpressions.Regex.Replace(text, "\"index\": *[0-9]+", "\"index\": 421.5");
        string path = Path.Combine(Path.GetTempPath(), $"fred-cx-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, text);
        try
        {
            var ex = Assert.Throws<CounterexampleException>(() => Counterexample.Load(path));
            Assert.Contains("\"index\" must be a whole number, found 421.5", ex.Message);
        }
        finally { File.Delete(path); }
    }

    [Theory]
    [MemberData(nameof(BadFiles))]
    [Trait("Rule", "FRED-DUT-12")]
    public void A_malformed_counterexample_file_is_refused_naming_the_file(string text, string message)
    {
        string path = Path.Combine(Path.GetTempPath(), $"fred-cx-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, text);
        try
        {
            var ex = Assert.Throws<CounterexampleException>(() => Counterexample.Load(path));
            Assert.StartsWith(path, ex.Message);
            Assert.Contains(message, ex.Message);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    [Trait("Rule", "FRED-DUT-12")]
    public void A_counterexample_file_round_trips()
    {
        var m = Mutants.Find("syscall-cs-ss-stale")!;
        using var dut = new InProcessDut(m.Name, m.Impl);
        var r = Campaign.Run(dut, "mutant:" + m.Name, new CampaignOptions(2000, 4, MaxFailures: 1));
        var f = Assert.Single(r.Failures);
        string dir = Path.Combine(Path.GetTempPath(), $"fred-cx-{Guid.NewGuid():N}");
        try
        {
            string path = Counterexample.Save(dir, f, dut.Hello, "mutant:" + m.Name, DutProfile.Strict, 4);
            var cx = Counterexample.Load(path);
            Assert.Equal(f.Signature, cx.Signature);
            Assert.Equal(4UL, cx.Seed);
            Assert.Equal(f.Index, cx.Index);
            Assert.Equal(Wire.Case(f.Case), Wire.Case(cx.Case));
            Assert.Empty(Comparator.Compare(f.Case, f.Expected, cx.Expected, DutProfile.Strict));
            Assert.Equal(f.Mismatches.Select(x => x.ToString()), cx.Mismatches.Select(x => x.ToString()));
            Assert.Contains("syscall", File.ReadAllText(path));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    [Trait("Rule", "FRED-DUT-12")]
    public void A_files_profile_description_reads_back_as_the_profile()
    {
        var p = DutProfile.Load(Path.Combine(SpecCoverageTests.RepositoryRoot(), "profiles", "bochs-image.profile"));
        var back = DutProfile.FromDescription(p.ToString());
        Assert.NotNull(back);
        Assert.Equal(p.ToString(), back!.ToString());
        Assert.Equal(DutProfile.Strict.ToString(), DutProfile.FromDescription(DutProfile.Strict.ToString())!.ToString());
        Assert.Null(DutProfile.FromDescription("not a profile"));
    }
}
