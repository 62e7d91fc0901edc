using System.Buffers;
using System.Text;
using System.Text.Json;
using Fred.Generators;
using Fred.Model;

namespace Fred.Dut;

/// <summary>A malformed counterexample file: the message names the file and the problem.</summary>
public sealed class CounterexampleException(string message) : Exception(message);

/// <summary>
/// A saved, shrunk failure (spec/dut-protocol.md, "Counterexample files"): how to regenerate it (seed, index, size),
/// the shrunk case in the protocol's own form, expected and observed answers, the mismatches and rules, and a
/// readable rendering. <c>fred-conform replay</c> re-runs it; tests/Conformance/Regressions runs every file.
/// </summary>
public sealed record Counterexample(
    string DutName, string DutCommand, string ProfileText, ulong Seed, long Index, int Size, string Signature,
    IReadOnlyList<string> Rules, IReadOnlyList<Mismatch> Mismatches, DutCase Case, Answered Expected, Answered? Observed, string Path)
{
    /// <summary>Format version of the file.</summary>
    public const int FormatVersion = 1;

    /// <summary>In a file of an N-version run, every DUT's answer to the case (FRED-DUT-13); empty otherwise.</summary>
    public IReadOnlyList<DutAnswer> Answers { get; init; } = [];

    /// <summary>True when every DUT agreed against the model on this case: a possible error of the model (FRED-DUT-13).</summary>
    public bool PossibleModelError { get; init; }

    /// <summary>
    /// Writes a failure's counterexample file into a folder; returns its path. An N-version run gives a
    /// <paramref name="tag"/> (the DUT's label, or <c>model-error</c>) so that DUTs failing alike on one case keep a file each.
    /// </summary>
    public static string Save(string directory, Failure f, DutHello hello, string command, DutProfile profile, ulong seed,
        string? tag = null, bool possibleModelError = false)
    {
        Directory.CreateDirectory(directory);
        string slug = new(f.Signature.Select(ch => char.IsLetterOrDigit(ch) ? char.ToLowerInvariant(ch) : '-').ToArray());
        while (slug.Contains("--")) slug = slug.Replace("--", "-");
        slug = slug.Trim('-');
        if (slug.Length > 60) slug = slug[..60].TrimEnd('-');
        string path = System.IO.Path.Combine(directory, $"{slug}-{seed:x}-{f.Index}{(tag is null ? "" : "-" + tag)}.json");
        File.WriteAllText(path, Render(f, hello.Name, command, profile.ToString(), seed, possibleModelError));
        return path;
    }

    /// <summary>The file's text.</summary>
    public static string Render(Failure f, string dutName, string command, string profile, ulong seed, bool possibleModelError = false)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteNumber("fred_counterexample", FormatVersion);
            w.WriteString("dut", dutName);
            w.WriteString("dut_command", command);
            w.WriteString("profile", profile);
            w.WriteString("seed", Wire.Hex(seed));
            w.WriteNumber("index", f.Index);
            w.WriteNumber("size", f.Size);
            w.WriteString("signature", f.Signature);
            w.WriteStartArray("rules");
            foreach (var r in f.Rules) w.WriteStringValue(r);
            w.WriteEndArray();
            w.WriteStartArray("mismatches");
            foreach (var m in f.Mismatches)
            {
                w.WriteStartObject();
                w.WriteNumber("step", m.Step);
                w.WriteString("field", m.Field);
                w.WriteString("expected", m.Expected);
                w.WriteString("observed", m.Observed);
                w.WriteStartArray("rules");
                foreach (var r in m.Rules) w.WriteStringValue(r);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WritePropertyName("case");
            w.WriteRawValue(Wire.Case(f.Case));
            w.WritePropertyName("expected");
            w.WriteRawValue(Wire.Result(f.Expected, f.Case.Initial));
            w.WritePropertyName("observed");
            w.WriteRawValue(Wire.Result(f.Observed, f.Case.Initial));
            // N-version fields (FRED-DUT-13), absent from a one-DUT file so that it reads as it always did.
            if (possibleModelError) w.WriteBoolean("possible_model_error", true);
            if (f.Answers.Count > 0)
            {
                w.WriteStartArray("answers");
                foreach (var a in f.Answers)
                {
                    w.WriteStartObject();
                    w.WriteString("dut", a.Dut);
                    w.WriteString("verdict", a.Verdict);
                    w.WritePropertyName("result");
                    w.WriteRawValue(Wire.Result(a.Result, f.Case.Initial));
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            }
            w.WriteStartArray("readable");
            foreach (var line in Readable(f.Case, f.Mismatches)) w.WriteStringValue(line);
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan) + Environment.NewLine;
    }

    /// <summary>The case as a person reads it: the state, each step disassembled with the frame it pushed by field, then the mismatches.</summary>
    public static IEnumerable<string> Readable(DutCase c, IReadOnlyList<Mismatch> ms) =>
        Fred.Generators.Render.Scenario(new Scenario(c.Initial, [.. c.Steps])).TrimEnd().Split('\n').Select(l => l.TrimEnd('\r'))
            .Concat(ms.Select(m => "MISMATCH " + m));

    /// <summary>Reads a counterexample file; errors name the file and what is wrong.</summary>
    public static Counterexample Load(string path)
    {
        string text;
        try { text = File.ReadAllText(path); }
        catch (IOException ex) { throw new CounterexampleException($"{path}: {ex.Message}"); }
        return Parse(text, path);
    }

    /// <summary>Reads a counterexample file's text; errors name <paramref name="path"/> and what is wrong.</summary>
    public static Counterexample Parse(string text, string path)
    {
        try
        {
            using var doc = JsonDocument.Parse(text);
            var root = doc.RootElement;
            // An object has exactly the listed fields (FRED-DUT-12): a field given twice would make one of its values silently win.
            if (Wire.FirstDuplicate(root, "$") is { } twice)
                throw new CounterexampleException($"{path}: {(twice.LastIndexOf('.') is var dot && dot == 1 ? $"\"{twice[2..]}\"" : twice)} is given twice");
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("fred_counterexample", out var v) || v.ValueKind != JsonValueKind.Number)
                throw new CounterexampleException($"{path}: not a Fred counterexample file (no \"fred_counterexample\" version)");
            if (v.GetInt32() != FormatVersion)
                throw new CounterexampleException($"{path}: format version {v.GetInt32()}; this Fred reads version {FormatVersion}");
            string Str(string name) => root.TryGetProperty(name, out var p) && p.ValueKind == JsonValueKind.String
                ? p.GetString()! : throw new CounterexampleException($"{path}: missing string field \"{name}\"");
            JsonElement Obj(string name) => root.TryGetProperty(name, out var p) && p.ValueKind == JsonValueKind.Object
                ? p : throw new CounterexampleException($"{path}: missing object \"{name}\"");
            long Num(string name) => !root.TryGetProperty(name, out var p) || p.ValueKind != JsonValueKind.Number
                ? throw new CounterexampleException($"{path}: missing number \"{name}\"")
                : p.TryGetInt64(out long n) ? n : throw new CounterexampleException($"{path}: \"{name}\" must be a whole number, found {p.GetRawText()}");

            DutCase c;
            try { c = ((CaseMessage)Wire.Decode(Obj("case").GetRawText())).Case; }
            catch (WireException ex) { throw new CounterexampleException($"{path}: case{ex.Path.TrimStart('$')}: {ex.Problem}"); }
            catch (InvalidCastException) { throw new CounterexampleException($"{path}: \"case\" is not a case message"); }
            CaseResult Result(JsonElement e, string name)
            {
                try
                {
                    return Wire.Decode(e.GetRawText(), id => id == c.Id ? c : null) is ResultMessage { Result: var r }
                        ? r : throw new CounterexampleException($"{path}: \"{name}\" is not a result message");
                }
                catch (WireException ex) { throw new CounterexampleException($"{path}: {name}{ex.Path.TrimStart('$')}: {ex.Problem}"); }
            }
            Answered Answers(string name)
            {
                try
                {
                    return Wire.Decode(Obj(name).GetRawText(), id => id == c.Id ? c : null) is ResultMessage { Result: Answered a }
                        ? a : throw new CounterexampleException($"{path}: \"{name}\" is not a result with steps");
                }
                catch (WireException ex) { throw new CounterexampleException($"{path}: {name}{ex.Path.TrimStart('$')}: {ex.Problem}"); }
            }
            var rules = root.TryGetProperty("rules", out var rs) && rs.ValueKind == JsonValueKind.Array
                ? rs.EnumerateArray().Select(r => r.GetString() ?? "").ToArray() : [];
            var mismatches = root.TryGetProperty("mismatches", out var mm) && mm.ValueKind == JsonValueKind.Array
                ? mm.EnumerateArray().Select(m => new Mismatch(m.GetProperty("step").GetInt32(), m.GetProperty("field").GetString()!,
                    m.GetProperty("expected").GetString()!, m.GetProperty("observed").GetString()!,
                    m.GetProperty("rules").EnumerateArray().Select(r => r.GetString()!).ToArray())).ToArray()
                : [];
            var answers = root.TryGetProperty("answers", out var aa) && aa.ValueKind == JsonValueKind.Array
                ? aa.EnumerateArray().Select((x, i) => new DutAnswer(
                    x.TryGetProperty("dut", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString()! : throw new CounterexampleException($"{path}: answers[{i}] lacks \"dut\""),
                    Result(x.TryGetProperty("result", out var res) && res.ValueKind == JsonValueKind.Object ? res : throw new CounterexampleException($"{path}: answers[{i}] lacks \"result\""), $"answers[{i}].result"),
                    x.TryGetProperty("verdict", out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : "")).ToArray()
                : [];
            return new Counterexample(DutText.Clean(Str("dut")), root.TryGetProperty("dut_command", out var dc) ? dc.GetString() ?? "" : "",
                root.TryGetProperty("profile", out var pr) ? pr.GetString() ?? "" : "",
                Wire.ParseHex(Str("seed"), "seed"), Num("index"), (int)Num("size"), Str("signature"), rules, mismatches,
                c, Answers("expected"), root.TryGetProperty("observed", out _) ? Answers("observed") : null, path)
            {
                Answers = answers,
                PossibleModelError = root.TryGetProperty("possible_model_error", out var pme) && pme.ValueKind == JsonValueKind.True,
            };
        }
        catch (JsonException ex)
        {
            // System.Text.Json counts lines and columns from 0 and appends them to its message; name them as editors do.
            string where = ex.LineNumber is long line ? $":{line + 1}:{(ex.BytePositionInLine ?? 0) + 1}" : "";
            string why = ex.Message.Split(" LineNumber:")[0].Split(" Path:")[0].TrimEnd('.', ' ');
            throw new CounterexampleException($"{path}{where}: not valid JSON: {why}");
        }
        catch (FormatException) { throw new CounterexampleException($"{path}: a number that must be a whole number is not one"); }
        catch (ArgumentException) { throw new CounterexampleException($"{path}: not text: an unpaired UTF-16 surrogate"); }
        catch (WireException ex) { throw new CounterexampleException($"{path}: {ex.Message}"); }
        catch (KeyNotFoundException) { throw new CounterexampleException($"{path}: a mismatch lacks step, field, expected, observed or rules"); }
        catch (InvalidOperationException ex) { throw new CounterexampleException($"{path}: a field has the wrong JSON type ({ex.Message})"); }
    }
}
