using Fred.Dut;
using Fred.Generators;
using Fred.Model;

namespace Fred.Conformance.Dut;

/// <summary>Hostile protocol input: a clear error or a value, in memory proportional to the input (issue 13).</summary>
public class BoundedInputTests
{
    /// <summary>A well-formed case line with the given pages array.</summary>
    static string WithPages(string pages)
    {
        string line = Wire.Case(new DutCase(1, World.Kernel(), []));
        int at = line.IndexOf("\"pages\":[", StringComparison.Ordinal) + "\"pages\":".Length;
        int end = line.IndexOf("],\"memory\"", at, StringComparison.Ordinal) + 1;
        return line[..at] + pages + line[end..];
    }

    static string Run(ulong b, long count, string access = "rw") => $"{{\"base\":\"{Wire.Hex(b)}\",\"count\":{count},\"access\":\"{access}\"}}";

    static (Message Message, long Bytes) Measure(string line)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        var m = Wire.Decode(line);
        return (m, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    [Trait("Rule", "FRED-DUT-03")]
    public void Page_runs_are_stored_as_runs_so_a_short_line_maps_many_pages_in_little_memory()
    {
        // 24 runs of 2^20 pages (96 GiB each), far apart: a line of about 2 KB.
        string line = WithPages("[" + string.Join(",", Enumerable.Range(0, 24).Select(i => Run((ulong)i << 36, 1 << 20))) + "]");
        var (m, bytes) = Measure(line);
        var memory = ((CaseMessage)m).Case.Initial.Memory;
        Assert.True(bytes < 4 << 20, $"decoding a {line.Length}-byte line allocated {bytes:N0} bytes");
        Assert.Equal(PageAccess.SupervisorData, memory.AccessOf((23UL << 36) + (1UL << 32) - 1));
        Assert.Equal(PageAccess.None, memory.AccessOf((23UL << 36) + (1UL << 32)));
        // Encoded again, the same runs come out.
        Assert.Contains(Run(23UL << 36, 1 << 20), Wire.Case(((CaseMessage)m).Case));
    }

    [Fact]
    [Trait("Rule", "FRED-DUT-03")]
    public void Overlapping_runs_and_more_than_two_to_the_31_pages_decode_without_overflow()
    {
        // 2,100 runs of 2^20 pages: more pages than an int counts; and 40 runs over the same 4 GiB.
        string many = WithPages("[" + string.Join(",", Enumerable.Range(0, 2100).Select(i => Run((ulong)i << 33, 1 << 20))) + "]");
        var (m, bytes) = Measure(many);
        Assert.Equal(PageAccess.SupervisorData, ((CaseMessage)m).Case.Initial.Memory.AccessOf(2099UL << 33));
        Assert.True(bytes < 64L * many.Length + (4 << 20), $"decoding a {many.Length}-byte line allocated {bytes:N0} bytes");
        string same = WithPages("[" + string.Join(",", Enumerable.Range(0, 40).Select(i => Run(0x100000, 1 << 20, i % 2 == 0 ? "rw" : "r"))) + "]");
        (m, bytes) = Measure(same);
        Assert.Equal(PageAccess.Present, ((CaseMessage)m).Case.Initial.Memory.AccessOf(0x100000));
        Assert.True(bytes < 4 << 20, $"decoding a {same.Length}-byte line allocated {bytes:N0} bytes");
    }

    [Fact]
    [Trait("Rule", "FRED-DUT-03")]
    public void A_run_past_the_end_of_the_address_space_is_refused()
    {
        var ex = Assert.Throws<WireException>(() => Wire.Decode(WithPages("[" + Run(0xFFFF_FFFF_FFF0_0000, 1 << 20) + "]")));
        Assert.Equal("$.pages[0].count", ex.Path);
        Assert.Contains("pass the end of the 64-bit address space", ex.Problem);
    }

    /// <summary>A DUT script (sh) in a temporary file that greets as the model does and then runs <paramref name="body"/>.</summary>
    internal static string ScriptDut(string body, string name = "script dut", string prelude = "")
    {
        string file = Path.Combine(Path.GetTempPath(), $"fred-dut-{Guid.NewGuid():N}.sh");
        string hello = Wire.Hello(new DutHello(name, ProtocolVersion.Current, [Revision.Fred3, Revision.Fred5], DutFeatures.All)).Replace("'", "'\\''");
        File.WriteAllText(file, $"{prelude}\nprintf '%s\\n' '{hello}'\n{body}\n");
        return $"sh {file}";
    }

    [Fact]
    [Trait("Rule", "FRED-DUT-09")]
    public void An_output_line_past_the_limit_is_a_garbage_verdict_at_once_not_a_timeout_in_unbounded_memory()
    {
        // 40 MB without a line end, then silence: the limit for a generated case is a few MiB.
        string command = ScriptDut("read line; head -c 40000000 /dev/zero | tr '\\0' a; sleep 60");
        using var dut = ProcessDut.Start(command, TimeSpan.FromSeconds(20));
        var c = Campaign.Generate(Arbitraries.DutShape.Full, 1, 0);
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var broke = Assert.IsType<DutBroke>(dut.Run([c])[0]);
        Assert.Equal("garbage", broke.Kind);
        long limit = ProcessDut.LineLimit(System.Text.Encoding.UTF8.GetByteCount(Wire.Case(c) + Environment.NewLine));
        Assert.Contains($"output line 2 is longer than {limit} bytes", broke.Detail);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(15), $"took {watch.Elapsed}");
    }

    [Fact]
    [Trait("Rule", "FRED-DUT-09")]
    public void The_line_limit_grows_with_the_longest_case_line()
    {
        Assert.Equal(1 << 20, ProcessDut.LineLimit(0));
        Assert.Equal(1 << 20, ProcessDut.LineLimit(1000));
        Assert.Equal(256L * 100_000, ProcessDut.LineLimit(100_000));
    }

    [Fact]
    [Trait("Rule", "FRED-DUT-09")]
    public void The_line_reader_drops_only_the_long_line_and_reads_on()
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes("one\r\n" + new string('x', 200_000) + "\ntwo\n\nlast");
        var r = new LineReader(new MemoryStream(bytes), () => 100_000);
        Assert.Equal("one", r.Next()!.Text);
        Assert.True(r.Next()!.TooLong);
        Assert.Equal("two", r.Next()!.Text);
        Assert.Equal("", r.Next()!.Text);
        Assert.Equal("last", r.Next()!.Text);
        Assert.Null(r.Next());
    }

    /// <summary>A script DUT that answers every case with an error message holding control characters.</summary>
    static string HostileDut(string name) => ScriptDut(
        """
        while read line; do
          id=$(printf '%s' "$line" | sed -n 's/.*"id":\([0-9]*\).*/\1/p')
          [ -n "$id" ] && printf '{"type":"result","id":%s,"error":"\\u0000 boom \\u001b[2J\\u001b[31mred \\u0007"}\n' "$id"
        done
        """, name);

    static bool Clean(string s) => s.All(ch => ch is '\n' or '\r' || (ch >= ' ' && ch != '\u007f' && !(ch >= '\u0080' && ch < '\u00a0')));

    [Fact]
    [Trait("Rule", "FRED-DUT-07")]
    public void Control_characters_from_a_DUT_reach_no_report_raw_and_the_JUnit_report_is_written()
    {
        string name = "evil\u0001dut \u001b[31mred\u001b[0m";
        using var dut = ProcessDut.Start(HostileDut(name), TimeSpan.FromSeconds(30));
        var r = Campaign.Run(dut, "hostile", new CampaignOptions(3, 1, Shrink: false));
        Assert.Equal(3, r.Broken.Count);
        string text = Reports.Text(r), markdown = Reports.Markdown(r);
        Assert.True(Clean(text), text);
        Assert.True(Clean(markdown), markdown);
        Assert.Contains("evil\\x01dut \\x1b[31mred\\x1b[0m", text);
        Assert.Contains("\\x00 boom \\x1b[2J\\x1b[31mred \\x07", text);
        string junit = Reports.JUnit(r);
        var back = System.Xml.Linq.XDocument.Parse(junit);
        Assert.Contains("\\x00 boom", back.ToString());
    }

    [Fact]
    [Trait("Rule", "FRED-DUT-02")]
    public void A_long_DUT_name_is_printed_shortened()
    {
        string name = "n" + new string('x', 20_000);
        using var dut = ProcessDut.Start(HostileDut(name), TimeSpan.FromSeconds(30));
        var r = Campaign.Run(dut, "hostile", new CampaignOptions(1, 1, Shrink: false));
        string text = Reports.Text(r);
        Assert.Contains(name[..200] + "... (19801 more characters)", text);
        Assert.True(text.Length < 6000, $"the report is {text.Length} characters");
        Assert.True(Reports.Markdown(r).Length < 6000);
        Assert.True(Reports.JUnit(r).Length < 8000);
    }

    public static TheoryData<string, string> Duplicated => new()
    {
        { "{\"type\":\"bye\",\"type\":\"bye\"}", "$.type" },
        { "{\"type\":\"hello\",\"protocol\":1,\"protocol\":1,\"revisions\":[\"fred5\"]}", "$.protocol" },
        { Wire.Case(new DutCase(1, World.Kernel(), [])).Replace("\"state\":{", "\"state\":{\"rip\":\"0x5\","), "$.state.rip" },
        { Wire.Case(new DutCase(1, World.Kernel(), [new EretuStep()])).Replace("{\"op\":\"eretu\"}", "{\"op\":\"eretu\",\"op\":\"erets\"}"), "$.steps[0].op" },
        { "{\"type\":\"result\",\"id\":1,\"id\":2,\"error\":\"x\"}", "$.id" },
    };

    [Theory]
    [MemberData(nameof(Duplicated))]
    [Trait("Rule", "FRED-DUT-01")]
    public void A_field_given_twice_is_refused(string line, string path)
    {
        var ex = Assert.Throws<WireException>(() => Wire.Decode(line));
        Assert.Equal(path, ex.Path);
        Assert.Equal("field given twice", ex.Problem);
    }

    [Fact]
    [Trait("Rule", "FRED-DUT-12")]
    public void A_counterexample_file_with_a_field_given_twice_is_refused()
    {
        string file = Path.Combine(Path.GetTempPath(), $"fred-cx-{Guid.NewGuid():N}.json");
        string text = File.ReadAllText(Path.Combine(SpecCoverageTests.RepositoryRoot(), "tests", "Conformance", "Regressions", "bochs-syscall-cs-ss-stale.json"));
        File.WriteAllText(file, text.Replace("\"seed\":", "\"seed\": \"0x2\", \"seed\":"));
        try
        {
            var ex = Assert.Throws<CounterexampleException>(() => Counterexample.Load(file));
            Assert.Contains("\"seed\" is given twice", ex.Message);
        }
        finally { File.Delete(file); }
    }

    [Fact]
    [Trait("Rule", "FRED-DUT-03")]
    public void The_model_DUT_refuses_an_over_long_input_line_in_bounded_memory()
    {
        // 40 MB without a line end against a 1 MB limit: a clear error and exit 2, without holding the line.
        var bytes = new byte[40 << 20];
        bytes.AsSpan().Fill((byte)'x');
        var input = new MemoryStream(bytes, writable: false);
        var (output, errors) = (new StringWriter(), new StringWriter());
        long before = GC.GetAllocatedBytesForCurrentThread();
        int code = DutServer.Serve(input, output, errors, new DutHello("m", ProtocolVersion.Current, [Revision.Fred5], DutFeatures.All),
            CaseRunner.Model, maxLineBytes: 1 << 20);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(2, code);
        Assert.Equal("fred-model-dut: input line 1 is longer than 1048576 bytes", errors.ToString().Trim());
        Assert.True(allocated < 8 << 20, $"{allocated} bytes allocated");
    }
}
