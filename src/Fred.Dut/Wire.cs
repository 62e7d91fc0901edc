using System.Buffers;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Fred.Model;

namespace Fred.Dut;

/// <summary>A protocol line that does not follow spec/dut-protocol.md: where in the line, and what is wrong.</summary>
public sealed class WireException(string path, string problem) : Exception($"{path}: {problem}")
{
    /// <summary>The JSON path of the offending value, e.g. <c>$.steps[2].value</c>.</summary>
    public string Path { get; } = path;
    /// <summary>What is wrong with it.</summary>
    public string Problem { get; } = problem;
}

/// <summary>A decoded message from either side of the protocol.</summary>
public abstract record Message;
/// <summary>hello, from Fred (with the revisions it can test) or from the DUT (with what it implements).</summary>
public sealed record HelloMessage(DutHello Hello) : Message;
/// <summary>case: run these steps from this state.</summary>
public sealed record CaseMessage(DutCase Case) : Message;
/// <summary>result: the answers for one case.</summary>
public sealed record ResultMessage(CaseResult Result) : Message;
/// <summary>bye: no more cases; the DUT exits.</summary>
public sealed record ByeMessage : Message;

/// <summary>The JSON-lines encoding of protocol version 1 (spec/dut-protocol.md), both directions.</summary>
public static class Wire
{
    static readonly JsonWriterOptions WriterOptions = new() { Indented = false, SkipValidation = true };

    // ---- encoding ----------------------------------------------------------------------------------

    /// <summary>One hello line.</summary>
    public static string Hello(DutHello h) => Line(w =>
    {
        w.WriteString("type", "hello");
        w.WriteNumber("protocol", h.Protocol);
        w.WriteString("name", h.Name);
        w.WriteStartArray("revisions");
        foreach (var r in h.Revisions) w.WriteStringValue(RevisionName(r));
        w.WriteEndArray();
        w.WriteStartArray("features");
        foreach (var f in h.Features) w.WriteStringValue(f);
        w.WriteEndArray();
    });

    /// <summary>The bye line.</summary>
    public static string Bye() => "{\"type\":\"bye\"}";

    /// <summary>One case line.</summary>
    public static string Case(DutCase c) => Line(w => CaseBody(w, c));

    /// <summary>Appends one case line and its line end (<see cref="Environment.NewLine"/>) to a buffer, as UTF-8.</summary>
    public static void WriteCase(IBufferWriter<byte> output, DutCase c) => WriteLine(output, c, static (w, c) => CaseBody(w, c));

    /// <summary>Appends one result line and its line end to a buffer, as UTF-8 (see <see cref="Result"/>).</summary>
    public static void WriteResult(IBufferWriter<byte> output, CaseResult r, MachineState initial) =>
        WriteLine(output, (r, initial), static (w, x) => ResultBody(w, x.r, x.initial));

    static readonly byte[] NewLine = Encoding.UTF8.GetBytes(Environment.NewLine);

    [ThreadStatic] static Utf8JsonWriter? cachedWriter;

    static void WriteLine<T>(IBufferWriter<byte> output, T value, Action<Utf8JsonWriter, T> body)
    {
        var w = cachedWriter ??= new Utf8JsonWriter(output, WriterOptions);
        w.Reset(output);
        w.WriteStartObject();
        body(w, value);
        w.WriteEndObject();
        w.Flush();
        w.Reset(Stream.Null);
        output.Write(NewLine);
    }

    static void CaseBody(Utf8JsonWriter w, DutCase c)
    {
        w.WriteString("type", "case");
        w.WriteNumber("id", c.Id);
        w.WriteString("revision", RevisionName(c.Initial.Revision));
        w.WriteStartObject("state");
        WriteState(w, c.Initial, null);
        w.WriteEndObject();
        w.WriteStartArray("pages");
        foreach (var (start, count, access) in PageRuns(c.Initial.Memory))
        {
            w.WriteStartObject();
            WriteHex(w, "base", start);
            w.WriteNumber("count", count);
            w.WriteString("access", AccessName(access));
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteStartArray("memory");
        foreach (var q in c.Initial.Memory.NonZeroQuadwords) WritePair(w, q.Key, q.Value);
        w.WriteEndArray();
        w.WriteStartArray("steps");
        foreach (var s in c.Steps) WriteStep(w, s);
        w.WriteEndArray();
    }

    /// <summary>One result line. Each step's state is written as the fields that changed since the state before it.</summary>
    public static string Result(CaseResult r, MachineState initial) => Line(w => ResultBody(w, r, initial));

    static void ResultBody(Utf8JsonWriter w, CaseResult r, MachineState initial)
    {
        w.WriteString("type", "result");
        w.WriteNumber("id", r.Id);
        switch (r)
        {
            case Unsupported u:
                w.WriteString("unsupported", u.Reason);
                break;
            case Answered a:
                w.WriteStartArray("steps");
                var before = initial;
                foreach (var s in a.Steps)
                {
                    w.WriteStartObject();
                    WriteOutcome(w, s.Outcome);
                    w.WriteStartObject("state");
                    WriteState(w, s.State, before);
                    w.WriteEndObject();
                    w.WriteStartArray("writes");
                    foreach (var q in s.Writes) WritePair(w, q.Key, q.Value);
                    w.WriteEndArray();
                    w.WriteEndObject();
                    before = s.State;
                }
                w.WriteEndArray();
                break;
            case DutBroke b:
                w.WriteString("error", $"{b.Kind}: {b.Detail}");
                break;
        }
    }

    static string Line(Action<Utf8JsonWriter> body)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var w = new Utf8JsonWriter(buffer, WriterOptions))
        {
            w.WriteStartObject();
            body(w);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    static readonly JsonEncodedText[] U64Names = [.. StateFields.U64.Select(f => JsonEncodedText.Encode(f.Name))];
    static readonly JsonEncodedText[] BoolNames = [.. StateFields.Bool.Select(f => JsonEncodedText.Encode(f.Name))];

    static void WriteState(Utf8JsonWriter w, MachineState s, MachineState? before)
    {
        var u64 = StateFields.U64;
        for (int i = 0; i < u64.Length; i++)
        {
            ulong v = u64[i].Get(s);
            if (before is not { } b || u64[i].Get(b) != v) WriteHex(w, U64Names[i], v);
        }
        var flags = StateFields.Bool;
        for (int i = 0; i < flags.Length; i++)
        {
            bool v = flags[i].Get(s);
            if (before is not { } b || flags[i].Get(b) != v) w.WriteBoolean(BoolNames[i], v);
        }
    }

    /// <summary>The hex form of <see cref="Hex"/>, as UTF-8 into a buffer of at least 18 bytes; the length written.</summary>
    static int FormatHex(ulong v, Span<byte> into)
    {
        into[0] = (byte)'0';
        into[1] = (byte)'x';
        v.TryFormat(into[2..], out int n, "x", CultureInfo.InvariantCulture);
        return n + 2;
    }

    static void WriteHex(Utf8JsonWriter w, JsonEncodedText name, ulong v)
    {
        Span<byte> buf = stackalloc byte[18];
        w.WriteString(name, buf[..FormatHex(v, buf)]);
    }

    static void WriteHex(Utf8JsonWriter w, string name, ulong v)
    {
        Span<byte> buf = stackalloc byte[18];
        w.WriteString(name, buf[..FormatHex(v, buf)]);
    }

    static void WriteHexValue(Utf8JsonWriter w, ulong v)
    {
        Span<byte> buf = stackalloc byte[18];
        w.WriteStringValue(buf[..FormatHex(v, buf)]);
    }

    static void WritePair(Utf8JsonWriter w, ulong a, ulong v)
    {
        w.WriteStartArray();
        WriteHexValue(w, a);
        WriteHexValue(w, v);
        w.WriteEndArray();
    }

    static void WriteEvent(Utf8JsonWriter w, string name, Event e, bool full)
    {
        w.WriteStartObject(name);
        w.WriteNumber("type", (int)e.Type);
        w.WriteNumber("vector", e.Vector);
        WriteHex(w, "error", e.ErrorCode);
        if (full)
        {
            WriteHex(w, "data", e.EventData);
            w.WriteNumber("length", e.InstructionLength);
            if (e.Nested) w.WriteBoolean("nested", true);
        }
        w.WriteEndObject();
    }

    static void WriteOutcome(Utf8JsonWriter w, Outcome o)
    {
        w.WriteString("outcome", OutcomeName(o.Kind));
        if (o.Kind is OutcomeKind.Delivered or OutcomeKind.Fault) WriteEvent(w, "event", o.Event, false);
    }

    static void WriteStep(Utf8JsonWriter w, Step s)
    {
        w.WriteStartObject();
        switch (s)
        {
            case DeliverStep d: w.WriteString("op", "deliver"); WriteEvent(w, "event", d.Event, true); break;
            case ExecuteStep x: w.WriteString("op", "execute"); w.WriteString("bytes", Convert.ToHexStringLower(x.Bytes)); break;
            case EretuStep: w.WriteString("op", "eretu"); break;
            case EretsStep: w.WriteString("op", "erets"); break;
            case WrmsrStep m: w.WriteString("op", "wrmsr"); WriteHex(w, "msr", m.Msr); WriteHex(w, "value", m.Value); break;
            case MovCr4Step c: w.WriteString("op", "mov-cr4"); WriteHex(w, "value", c.Value); break;
            case AddRspStep a: w.WriteString("op", "add-rsp"); w.WriteNumber("delta", a.Delta); break;
            default: throw new ArgumentException($"no wire form for step {s}");
        }
        w.WriteEndObject();
    }

    /// <summary>The most pages one entry of <c>pages</c> may hold.</summary>
    public const int MaxRunPages = 1 << 20;

    /// <summary>Consecutive pages with the same permissions, as (first page, count, access), split so no run holds more than <see cref="MaxRunPages"/>.</summary>
    public static IEnumerable<(ulong Start, int Count, PageAccess Access)> PageRuns(Memory m)
    {
        foreach (var r in m.PageRuns)
            for (ulong start = r.First, left = r.Count; left > 0;)
            {
                int n = (int)Math.Min(left, MaxRunPages);
                yield return (start, n, r.Access);
                left -= (ulong)n;
                start += (ulong)n * Memory.PageSize;
            }
    }

    // ---- names ---------------------------------------------------------------------------------------

    /// <summary>A u64 as the protocol writes it: 0x and lower-case hex, no leading zeros.</summary>
    public static string Hex(ulong v) => "0x" + v.ToString("x", CultureInfo.InvariantCulture);

    /// <summary>fred3 or fred5.</summary>
    public static string RevisionName(Revision r) => r switch { Revision.Fred3 => "fred3", Revision.Fred5 => "fred5", _ => $"revision-{(int)r}" };

    static string AccessName(PageAccess a) =>
        "r" + ((a & PageAccess.Writable) != 0 ? "w" : "") + ((a & PageAccess.User) != 0 ? "u" : "");

    static readonly (OutcomeKind Kind, string Name)[] OutcomeNames =
    [
        (OutcomeKind.Delivered, "delivered"), (OutcomeKind.Returned, "returned"), (OutcomeKind.Completed, "completed"),
        (OutcomeKind.Fault, "fault"), (OutcomeKind.Masked, "masked"), (OutcomeKind.Shutdown, "shutdown"),
        (OutcomeKind.InvalidEvent, "invalid-event"), (OutcomeKind.NotFredMode, "not-fred-mode"),
    ];

    /// <summary>The wire name of an outcome kind.</summary>
    public static string OutcomeName(OutcomeKind k) => OutcomeNames.First(o => o.Kind == k).Name;

    // ---- decoding ------------------------------------------------------------------------------------

    /// <summary>Decodes one line. Throws <see cref="WireException"/> naming the JSON path and the problem.</summary>
    /// <param name="line">The line.</param>
    /// <param name="pending">For result lines: the case each id refers to (its initial state anchors the state deltas).</param>
    public static Message Decode(string line, Func<long, DutCase?>? pending = null)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(line); }
        catch (JsonException ex) { throw new WireException("$", $"not JSON ({ex.Message.Split('.')[0]})"); }
        catch (ArgumentException) { throw new WireException("$", "not text: an unpaired UTF-16 surrogate"); }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new WireException("$", "expected a JSON object");
            try
            {
                string type = Str(root, "type", "$");
                return type switch
                {
                    "hello" => new HelloMessage(DecodeHello(root)),
                    "case" => new CaseMessage(DecodeCase(root)),
                    "result" => new ResultMessage(DecodeResult(root, pending)),
                    "bye" => Only(root, "$", ["type"], new ByeMessage()),
                    _ => throw new WireException("$.type", $"unknown message type \"{type}\" (expected hello, case, result or bye)"),
                };
            }
            catch (InvalidOperationException)
            {
                // System.Text.Json refuses to turn an escaped unpaired surrogate (\ud800) into a string, name or value.
                throw new WireException("$", "a string or field name holds an escaped unpaired surrogate (\\ud800 to \\udfff)");
            }
        }
    }

    /// <summary>Checks that an object holds only the allowed fields, each at most once (FRED-DUT-01); returns the value.</summary>
    static T Only<T>(JsonElement o, string path, string[] allowed, T value)
    {
        uint seen = 0;
        foreach (var p in o.EnumerateObject())
        {
            int k = Array.IndexOf(allowed, p.Name);
            if (k < 0) throw new WireException($"{path}.{p.Name}", $"unknown field (allowed here: {string.Join(", ", allowed)})");
            if ((seen & (1u << k)) != 0) throw new WireException($"{path}.{p.Name}", "field given twice");
            seen |= 1u << k;
        }
        return value;
    }

    /// <summary>The path and name of the first field given twice in an object or anywhere below it, or null.</summary>
    public static string? FirstDuplicate(JsonElement e, string path)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.Object:
                var names = new HashSet<string>(StringComparer.Ordinal);
                foreach (var p in e.EnumerateObject())
                    if (!names.Add(p.Name)) return $"{path}.{p.Name}";
                foreach (var p in e.EnumerateObject())
                    if (FirstDuplicate(p.Value, $"{path}.{p.Name}") is { } d) return d;
                return null;
            case JsonValueKind.Array:
                int i = 0;
                foreach (var x in e.EnumerateArray())
                    if (FirstDuplicate(x, $"{path}[{i++}]") is { } d) return d;
                return null;
            default:
                return null;
        }
    }

    static DutHello DecodeHello(JsonElement o)
    {
        Only(o, "$", ["type", "protocol", "name", "revisions", "features"], 0);
        int protocol = Int(o, "protocol", "$", 1, int.MaxValue);
        string name = o.TryGetProperty("name", out var n) ? StrValue(n, "$.name") : "unnamed";
        var revisions = Arr(o, "revisions", "$").Select((e, i) => ParseRevision(StrValue(e, $"$.revisions[{i}]"), $"$.revisions[{i}]")).ToArray();
        if (revisions.Length == 0) throw new WireException("$.revisions", "must name at least one revision (fred3, fred5)");
        var features = o.TryGetProperty("features", out _)
            ? Arr(o, "features", "$").Select((e, i) => StrValue(e, $"$.features[{i}]")).ToArray()
            : [];
        return new DutHello(name, protocol, revisions, features);
    }

    static Revision ParseRevision(string s, string path) => s switch
    {
        "fred3" => Revision.Fred3,
        "fred5" => Revision.Fred5,
        _ => throw new WireException(path, $"unknown revision \"{s}\" (expected fred3 or fred5)"),
    };

    static DutCase DecodeCase(JsonElement o)
    {
        Only(o, "$", ["type", "id", "revision", "state", "pages", "memory", "steps"], 0);
        long id = Long(o, "id", "$");
        var rev = ParseRevision(Str(o, "revision", "$"), "$.revision");
        var runs = new List<(ulong, int, PageAccess)>();
        int i = 0;
        foreach (var p in Arr(o, "pages", "$"))
        {
            string path = $"$.pages[{i++}]";
            Only(p, path, ["base", "count", "access"], 0);
            ulong b = U64(p, "base", path);
            if ((b & (Memory.PageSize - 1)) != 0) throw new WireException(path + ".base", "must be 4 KiB aligned");
            int count = Int(p, "count", path, 1, MaxRunPages);
            if (b + ((ulong)count * Memory.PageSize - 1) < b)
                throw new WireException(path + ".count", $"{count} pages from {Hex(b)} pass the end of the 64-bit address space");
            runs.Add((b, count, ParseAccess(Str(p, "access", path), path + ".access")));
        }
        var contents = Pairs(o, "memory", "$");
        for (i = 0; i < contents.Count; i++)
            if ((contents[i].Key & 7) != 0) throw new WireException($"$.memory[{i}]", "address must be 8-byte aligned");
        // The same memory as mapping every run and poking every pair in order, built at once.
        var memory = Memory.Build(CollectionsMarshal.AsSpan(runs), CollectionsMarshal.AsSpan(contents));
        var state = ReadState(Obj(o, "state", "$"), "$.state", new MachineState { Revision = rev, Memory = memory }, requireAll: true);
        var steps = Arr(o, "steps", "$").Select((e, k) => ReadStep(e, $"$.steps[{k}]")).ToArray();
        return new DutCase(id, state, steps);
    }

    static PageAccess ParseAccess(string s, string path) => s switch
    {
        "r" => PageAccess.Present,
        "rw" => PageAccess.SupervisorData,
        "ru" => PageAccess.Present | PageAccess.User,
        "rwu" => PageAccess.UserData,
        _ => throw new WireException(path, $"unknown access \"{s}\" (expected r, rw, ru or rwu)"),
    };

    static CaseResult DecodeResult(JsonElement o, Func<long, DutCase?>? pending)
    {
        long id = Long(o, "id", "$");
        if (o.TryGetProperty("unsupported", out var u))
            return Only(o, "$", ["type", "id", "unsupported"], new Unsupported(id, StrValue(u, "$.unsupported")));
        if (o.TryGetProperty("error", out var err))
            return Only(o, "$", ["type", "id", "error"], new DutBroke(id, "dut-error", StrValue(err, "$.error")));
        Only(o, "$", ["type", "id", "steps"], 0);
        var c = pending?.Invoke(id) ?? throw new WireException("$.id", $"no case with id {id} is waiting for an answer");
        var before = c.Initial;
        var answers = new List<StepAnswer>();
        int k = 0;
        foreach (var e in Arr(o, "steps", "$"))
        {
            string path = $"$.steps[{k++}]";
            Only(e, path, ["outcome", "event", "state", "writes"], 0);
            var kind = OutcomeNames.FirstOrDefault(n => n.Name == Str(e, "outcome", path));
            if (kind.Name is null)
                throw new WireException(path + ".outcome", $"unknown outcome \"{Str(e, "outcome", path)}\" (expected {string.Join(", ", OutcomeNames.Select(n => n.Name))})");
            Event ev = default;
            if (kind.Kind is OutcomeKind.Delivered or OutcomeKind.Fault)
                ev = ReadEvent(Obj(e, "event", path), path + ".event");
            else if (e.TryGetProperty("event", out _))
                throw new WireException(path + ".event", $"only delivered and fault outcomes carry an event, not {kind.Name}");
            var writes = Pairs(e, "writes", path).ToArray();
            for (int w = 0; w < writes.Length; w++)
                if ((writes[w].Key & 7) != 0) throw new WireException($"{path}.writes[{w}]", "address must be 8-byte aligned");
            var memory = before.Memory.PokeAll(writes);
            var after = ReadState(e.TryGetProperty("state", out var st) ? st : default, path + ".state", before with { Memory = memory }, requireAll: false);
            answers.Add(new StepAnswer(new Outcome(kind.Kind, ev), after, writes));
            before = after;
        }
        return new Answered(id, answers);
    }

    /// <summary>Field name to its index: the U64 fields first, then the booleans (fewer than 64 in all).</summary>
    static readonly Dictionary<string, int> FieldIndex = StateFields.Names.Select((n, i) => (n, i)).ToDictionary(x => x.n, x => x.i);

    static MachineState ReadState(JsonElement o, string path, MachineState s, bool requireAll)
    {
        if (o.ValueKind == JsonValueKind.Undefined) return s;
        if (o.ValueKind != JsonValueKind.Object) throw new WireException(path, "expected an object of registers");
        var u64 = StateFields.U64;
        ulong seen = 0;
        foreach (var p in o.EnumerateObject())
        {
            string name = p.Name;
            if (!FieldIndex.TryGetValue(name, out int k))
                throw new WireException($"{path}.{name}", "unknown register (see spec/dut-protocol.md, \"State\")");
            if ((seen & (1UL << k)) != 0) throw new WireException($"{path}.{name}", "field given twice");
            seen |= 1UL << k;
            if (k < u64.Length)
            {
                var u = u64[k];
                ulong v = U64Value(p.Value, path, name);
                if (v > u.Max) throw new WireException($"{path}.{name}", $"0x{v:x} does not fit (maximum 0x{u.Max:x})");
                s = u.Set(s, v);
            }
            else
            {
                if (p.Value.ValueKind is not (JsonValueKind.True or JsonValueKind.False)) throw new WireException($"{path}.{name}", "expected true or false");
                s = StateFields.Bool[k - u64.Length].Set(s, p.Value.GetBoolean());
            }
        }
        if (requireAll && seen != (1UL << FieldIndex.Count) - 1)
            foreach (var name in StateFields.Names)
                if ((seen & (1UL << FieldIndex[name])) == 0) throw new WireException(path, $"missing register \"{name}\"");
        return s;
    }

    static Step ReadStep(JsonElement e, string path)
    {
        if (e.ValueKind != JsonValueKind.Object) throw new WireException(path, "expected a step object");
        string op = Str(e, "op", path);
        return op switch
        {
            "deliver" => Only(e, path, ["op", "event"], new DeliverStep(ReadEvent(Obj(e, "event", path), path + ".event"))),
            "execute" => Only(e, path, ["op", "bytes"], new ExecuteStep(Bytes(Str(e, "bytes", path), path + ".bytes"))),
            "eretu" => Only(e, path, ["op"], (Step)new EretuStep()),
            "erets" => Only(e, path, ["op"], (Step)new EretsStep()),
            "wrmsr" => Only(e, path, ["op", "msr", "value"], new WrmsrStep(U64(e, "msr", path) is var msr && msr <= uint.MaxValue
                ? (uint)msr : throw new WireException(path + ".msr", $"0x{msr:x} is not a 32-bit MSR number"), U64(e, "value", path))),
            "mov-cr4" => Only(e, path, ["op", "value"], new MovCr4Step(U64(e, "value", path))),
            "add-rsp" => Only(e, path, ["op", "delta"], new AddRspStep(Int(e, "delta", path, -4096, 4096))),
            _ => throw new WireException(path + ".op", $"unknown op \"{op}\" (expected deliver, execute, eretu, erets, wrmsr, mov-cr4 or add-rsp)"),
        };
    }

    static byte[] Bytes(string hex, string path)
    {
        if (hex.Length % 2 != 0 || hex.Length > 64) throw new WireException(path, "expected 0 to 32 bytes as an even number of hex digits");
        try { return Convert.FromHexString(hex); }
        catch (FormatException) { throw new WireException(path, $"\"{hex}\" is not hex"); }
    }

    static Event ReadEvent(JsonElement o, string path)
    {
        Only(o, path, ["type", "vector", "error", "data", "length", "nested"], 0);
        return new Event(
            (EventType)Int(o, "type", path, 0, 15),
            (byte)Int(o, "vector", path, 0, 255),
            o.TryGetProperty("error", out _) ? U64(o, "error", path) : 0,
            o.TryGetProperty("data", out _) ? U64(o, "data", path) : 0,
            o.TryGetProperty("length", out _) ? (byte)Int(o, "length", path, 0, 15) : (byte)0,
            o.TryGetProperty("nested", out var n) && (n.ValueKind is JsonValueKind.True or JsonValueKind.False
                ? n.GetBoolean() : throw new WireException(path + ".nested", "expected true or false")));
    }

    // ---- primitive readers ---------------------------------------------------------------------------

    static JsonElement Prop(JsonElement o, string name, string path) =>
        o.TryGetProperty(name, out var v) ? v : throw new WireException(path, $"missing field \"{name}\"");

    static JsonElement Obj(JsonElement o, string name, string path)
    {
        var v = Prop(o, name, path);
        return v.ValueKind == JsonValueKind.Object ? v : throw new WireException($"{path}.{name}", "expected an object");
    }

    static JsonElement.ArrayEnumerator Arr(JsonElement o, string name, string path)
    {
        var v = Prop(o, name, path);
        return v.ValueKind == JsonValueKind.Array ? v.EnumerateArray() : throw new WireException($"{path}.{name}", "expected an array");
    }

    static List<KeyValuePair<ulong, ulong>> Pairs(JsonElement o, string name, string path)
    {
        int i = 0;
        var array = Prop(o, name, path);
        if (array.ValueKind != JsonValueKind.Array) throw new WireException($"{path}.{name}", "expected an array");
        var list = new List<KeyValuePair<ulong, ulong>>(array.GetArrayLength());
        foreach (var e in array.EnumerateArray())
        {
            if (e.ValueKind != JsonValueKind.Array || e.GetArrayLength() != 2) throw new WireException($"{path}.{name}[{i}]", "expected [\"0xaddress\", \"0xvalue\"]");
            ulong a = TryHex(e[0], out ulong av) ? av : U64Value(e[0], $"{path}.{name}[{i}][0]");
            ulong v = TryHex(e[1], out ulong vv) ? vv : U64Value(e[1], $"{path}.{name}[{i}][1]");
            list.Add(new(a, v));
            i++;
        }
        return list;
    }

    static string Str(JsonElement o, string name, string path) => StrValue(Prop(o, name, path), $"{path}.{name}");

    static string StrValue(JsonElement v, string path) =>
        v.ValueKind == JsonValueKind.String ? v.GetString()! : throw new WireException(path, "expected a string");

    static ulong U64(JsonElement o, string name, string path) => U64Value(Prop(o, name, path), path, name);

    /// <summary><see cref="U64Value(JsonElement, string)"/> with the path <c>parent.name</c>, built only for an error.</summary>
    static ulong U64Value(JsonElement v, string parent, string name) => TryHex(v, out ulong r) ? r : U64Value(v, $"{parent}.{name}");

    /// <summary>
    /// The fast path of <see cref="U64Value(JsonElement, string)"/>: a JSON string without escapes holding 0x and 1 to
    /// 16 hex digits, read from the line's UTF-8 in place. False for anything else, which the slow path then parses
    /// (accepting escapes) or refuses with its message.
    /// </summary>
    static bool TryHex(JsonElement v, out ulong value)
    {
        value = 0;
        if (v.ValueKind != JsonValueKind.String) return false;
        var raw = JsonMarshal.GetRawUtf8Value(v);
        if (raw.Length < 5 || raw[0] != (byte)'"' || raw[^1] != (byte)'"') return false;
        var text = raw[1..^1];
        if (text.Length > 18 || text[0] != (byte)'0' || (text[1] | 0x20) != (byte)'x') return false;
        ulong r = 0;
        foreach (byte c in text[2..])
        {
            int d = c is >= (byte)'0' and <= (byte)'9' ? c - '0' : (c | 0x20) is >= (byte)'a' and <= (byte)'f' ? (c | 0x20) - 'a' + 10 : -1;
            if (d < 0) return false;
            r = (r << 4) | (uint)d;
        }
        value = r;
        return true;
    }

    /// <summary>Parses a protocol u64: a string of 0x and 1 to 16 hex digits.</summary>
    public static ulong U64Value(JsonElement v, string path)
    {
        if (v.ValueKind != JsonValueKind.String) throw new WireException(path, "expected a hex string such as \"0x1f\" (64-bit values are strings)");
        return ParseHex(v.GetString()!, path);
    }

    /// <summary>Parses 0x and 1 to 16 hex digits.</summary>
    public static ulong ParseHex(string s, string path)
    {
        if (s.Length < 3 || s.Length > 18 || !s.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            || !ulong.TryParse(s.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var r))
            throw new WireException(path, $"\"{s}\" is not 0x followed by 1 to 16 hex digits");
        return r;
    }

    static long Long(JsonElement o, string name, string path)
    {
        var v = Prop(o, name, path);
        return v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var r) ? r : throw new WireException($"{path}.{name}", "expected an integer");
    }

    static int Int(JsonElement o, string name, string path, int min, int max)
    {
        long v = Long(o, name, path);
        return v >= min && v <= max ? (int)v : throw new WireException($"{path}.{name}", $"{v} is out of range [{min}, {max}]");
    }
}
