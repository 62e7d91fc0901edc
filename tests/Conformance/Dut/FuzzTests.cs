using FsCheck;
using FsCheck.Fluent;
using Fred.Dut;
using Fred.Generators;
using static Fred.Conformance.Support.Conformance;

namespace Fred.Conformance.Dut;

/// <summary>
/// Any text, and valid inputs mutated, given to the wire decoder, the profile parser and the counterexample reader: a
/// value or the reader's own clear error, in bounded time and memory, never another exception (issue 13).
/// </summary>
public class FuzzTests
{
    static readonly string Root = SpecCoverageTests.RepositoryRoot();

    static readonly DutCase[] Sample = [.. Enumerable.Range(0, 4).Select(i => Campaign.Generate(Arbitraries.DutShape.Full, 3, i))];

    static readonly string[] Lines =
    [
        .. Sample.Select(Wire.Case),
        .. Sample.Select(c => Wire.Result(Campaign.Expect(c), c.Initial)),
        Wire.Hello(new DutHello("fuzz", ProtocolVersion.Current, [Fred.Model.Revision.Fred5], DutFeatures.All)),
        Wire.Bye(),
        "{\"type\":\"result\",\"id\":0,\"unsupported\":\"no\"}",
    ];

    /// <summary>Runs <paramref name="read"/>; any exception other than <typeparamref name="TClear"/>, or too much time or memory, fails.</summary>
    static void Bounded<TClear>(string input, Action read) where TClear : Exception
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        long before = GC.GetAllocatedBytesForCurrentThread();
        try { read(); }
        catch (TClear ex) { Expect(ex.Message.Length > 0, () => "an empty error message"); }
        catch (Exception ex) { Expect(false, () => $"{ex.GetType().Name}: {ex.Message}\ninput: {Printable(input)}"); }
        long bytes = GC.GetAllocatedBytesForCurrentThread() - before;
        Expect(watch.Elapsed < TimeSpan.FromSeconds(2), () => $"took {watch.Elapsed}\ninput: {Printable(input)}");
        Expect(bytes < (8 << 20) + 512L * input.Length, () => $"allocated {bytes:N0} bytes for {input.Length} characters\ninput: {Printable(input)}");
    }

    static string Printable(string s) => DutText.Clean(s, 2000);

    [Fact]
    [Trait("Rule", "FRED-DUT-01")]
    public void The_wire_decoder_gives_a_message_or_a_clear_error() => Check(Arb.From(Arbitraries.HostileText(Lines)), line =>
        Bounded<WireException>(line, () => Wire.Decode(line, id => Sample.FirstOrDefault(c => c.Id == id))), cases: 3000);

    [Fact]
    [Trait("Rule", "FRED-DUT-11")]
    public void The_profile_parser_gives_a_profile_or_a_clear_error()
    {
        var profiles = Directory.GetFiles(Path.Combine(Root, "profiles"), "*.profile").Select(File.ReadAllText).ToArray();
        Check(Arb.From(Arbitraries.HostileText(profiles)), text =>
            Bounded<ProfileException>(text, () => DutProfile.Parse(text.Split('\n'), "fuzz.profile")), cases: 2000);
    }

    [Fact]
    [Trait("Rule", "FRED-DUT-12")]
    public void The_counterexample_reader_gives_a_counterexample_or_a_clear_error()
    {
        var files = Directory.GetFiles(Path.Combine(Root, "tests", "Conformance", "Regressions"), "*.json").Order().Take(4).Select(File.ReadAllText).ToArray();
        Check(Arb.From(Arbitraries.HostileText(files)), text =>
            Bounded<CounterexampleException>(text, () => Counterexample.Parse(text, "fuzz.json")), cases: 800);
    }
}
