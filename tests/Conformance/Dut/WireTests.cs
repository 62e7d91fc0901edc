using FsCheck;
using FsCheck.Fluent;
using Fred.Dut;
using Fred.Generators;
using Fred.Model;
using static Fred.Conformance.Support.Conformance;

namespace Fred.Conformance.Dut;

/// <summary>spec/dut-protocol.md: the wire form carries every case and answer exactly, and rejects malformed lines clearly.</summary>
public class WireTests
{
    static Arbitrary<Scenario> Cases => Arb.From(Arbitraries.DutScenario(Arbitraries.DutShape.Full), Arbitraries.ShrinkDutScenario);

    [Fact]
    [Trait("Rule", "FRED-DUT-03")]
    [Trait("Rule", "FRED-DUT-04")]
    public void A_case_survives_the_wire_exactly() => Check(Cases, sc =>
    {
        var c = new DutCase(42, sc.Initial, sc.Steps);
        string line = Wire.Case(c);
        Expect(!line.Contains('\n'), () => "a case must be one line");
        var back = ((CaseMessage)Wire.Decode(line)).Case;
        Expect(back.Id == 42, () => $"id {back.Id}");
        var diff = StateFields.Differing(c.Initial, back.Initial).ToList();
        Expect(diff.Count == 0 && back.Initial.Revision == c.Initial.Revision, () => $"fields changed on the wire: {string.Join(", ", diff)}\n{line}");
        Expect(back.Initial.Memory.Equals(c.Initial.Memory), () => $"memory changed on the wire\n{line}");
        Expect(back.Steps.Count == c.Steps.Count, () => $"{c.Steps.Count} steps sent, {back.Steps.Count} decoded");
        for (int i = 0; i < c.Steps.Count; i++)
            Expect(Wire.Case(c with { Steps = [c.Steps[i]] }) == Wire.Case(c with { Steps = [back.Steps[i]] }), () => $"step {i + 1} changed: {c.Steps[i]} became {back.Steps[i]}");
    }, cases: 200);

    [Fact]
    [Trait("Rule", "FRED-DUT-05")]
    [Trait("Rule", "FRED-DUT-06")]
    public void Answers_survive_the_wire_as_deltas_and_writes() => Check(Cases, sc =>
    {
        var c = new DutCase(7, sc.Initial, sc.Steps);
        var answered = Campaign.Expect(c);
        string line = Wire.Result(answered, c.Initial);
        var back = (Answered)((ResultMessage)Wire.Decode(line, id => id == 7 ? c : null)).Result;
        Expect(back.Steps.Count == answered.Steps.Count, () => $"{answered.Steps.Count} answers sent, {back.Steps.Count} decoded");
        var ms = Comparator.Compare(c, answered, back, DutProfile.Strict);
        Expect(ms.Count == 0, () => $"the decoded answers differ from the sent ones: {string.Join("; ", ms)}\n{line}");
    }, cases: 200);

    /// <summary>A well-formed case line with the given steps array.</summary>
    static string WithSteps(string steps)
    {
        string line = Wire.Case(new DutCase(1, World.Kernel(), []));
        return line.Replace("\"steps\":[]", $"\"steps\":{steps}");
    }

    public static TheoryData<string, string, string> Malformed => new()
    {
        { "not json", "$", "not JSON" },
        { "[1,2]", "$", "expected a JSON object" },
        { "{\"type\":\"nonsense\"}", "$.type", "unknown message type" },
        { "{\"type\":\"bye\",\"extra\":1}", "$.extra", "unknown field" },
        { "{\"type\":\"hello\",\"protocol\":1,\"revisions\":[]}", "$.revisions", "at least one revision" },
        { "{\"type\":\"hello\",\"protocol\":1,\"revisions\":[\"fred4\"]}", "$.revisions[0]", "unknown revision" },
        { "{\"type\":\"case\",\"id\":1,\"revision\":\"fred5\",\"state\":{},\"pages\":[],\"memory\":[],\"steps\":[]}", "$.state", "missing register \"rip\"" },
        { "{\"type\":\"case\",\"id\":1,\"revision\":\"fred5\",\"state\":{\"rip\":17},\"pages\":[],\"memory\":[],\"steps\":[]}", "$.state.rip", "hex string" },
        { "{\"type\":\"case\",\"id\":1,\"revision\":\"fred5\",\"state\":{\"rip\":\"0xZZ\"},\"pages\":[],\"memory\":[],\"steps\":[]}", "$.state.rip", "not 0x followed by 1 to 16 hex digits" },
        { "{\"type\":\"case\",\"id\":1,\"revision\":\"fred5\",\"state\":{\"cs\":\"0x10000\"},\"pages\":[],\"memory\":[],\"steps\":[]}", "$.state.cs", "does not fit" },
        { "{\"type\":\"case\",\"id\":1,\"revision\":\"fred5\",\"state\":{\"bogus\":\"0x1\"},\"pages\":[],\"memory\":[],\"steps\":[]}", "$.state.bogus", "unknown register" },
        { "{\"type\":\"case\",\"id\":1,\"revision\":\"fred5\",\"state\":{},\"pages\":[{\"base\":\"0x1001\",\"count\":1,\"access\":\"rw\"}],\"memory\":[],\"steps\":[]}", "$.pages[0].base", "4 KiB aligned" },
        { "{\"type\":\"case\",\"id\":1,\"revision\":\"fred5\",\"state\":{},\"pages\":[{\"base\":\"0x1000\",\"count\":1,\"access\":\"x\"}],\"memory\":[],\"steps\":[]}", "$.pages[0].access", "unknown access" },
        { "{\"type\":\"case\",\"id\":1,\"revision\":\"fred5\",\"state\":{},\"pages\":[],\"memory\":[[\"0x3\",\"0x1\"]],\"steps\":[]}", "$.memory[0]", "8-byte aligned" },
        { WithSteps("[{\"op\":\"jump\"}]"), "$.steps[0].op", "unknown op" },
        { WithSteps("[{\"op\":\"eretu\"},{\"op\":\"execute\",\"bytes\":\"cd8\"}]"), "$.steps[1].bytes", "even number of hex digits" },
        { WithSteps("[{\"op\":\"deliver\",\"event\":{\"type\":16,\"vector\":1}}]"), "$.steps[0].event.type", "out of range" },
        { WithSteps("[{\"op\":\"wrmsr\",\"msr\":\"0x1d4\"}]"), "$.steps[0]", "missing field \"value\"" },
        { WithSteps("[{\"op\":\"add-rsp\",\"delta\":100000}]"), "$.steps[0].delta", "out of range" },
        { "{\"type\":\"result\",\"id\":99,\"steps\":[]}", "$.id", "no case with id 99" },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    [Trait("Rule", "FRED-DUT-01")]
    public void A_malformed_line_is_refused_naming_where_and_what(string line, string path, string problem)
    {
        var ex = Assert.Throws<WireException>(() => Wire.Decode(line, _ => null));
        Assert.Equal(path, ex.Path);
        Assert.Contains(problem, ex.Problem);
    }

    [Fact]
    [Trait("Rule", "FRED-DUT-06")]
    public void A_state_field_left_out_of_an_answer_is_unchanged()
    {
        var s = World.User();
        var c = new DutCase(1, s, [new DeliverStep(Event.Exception(Vector.UD))]);
        var back = (Answered)((ResultMessage)Wire.Decode("{\"type\":\"result\",\"id\":1,\"steps\":[{\"outcome\":\"delivered\",\"event\":{\"type\":3,\"vector\":6,\"error\":\"0x0\"},\"state\":{\"rip\":\"0x1234\"},\"writes\":[[\"0x8\",\"0x5\"]]}]}", _ => c)).Result;
        var after = back.Steps[0].State;
        Assert.Equal(0x1234UL, after.Rip);
        Assert.Equal(s.Rsp, after.Rsp);
        Assert.Equal(s.Fred, after.Fred);
        Assert.Equal(5UL, after.Memory.Peek(8, 8));
    }
}
