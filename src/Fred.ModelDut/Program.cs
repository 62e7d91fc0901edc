using System.Text;
using Fred.Dut;
using Fred.Model;

// fred-model-dut: the FRED model as a DUT speaking the protocol of spec/dut-protocol.md on stdin/stdout.
// --mutant NAME serves a member of the mutant zoo instead; --misbehave makes it break the protocol on purpose,
// so that the runner's handling of crashing, hanging and garbled DUTs can be tested.

const string Usage = """
usage: fred-model-dut [--mutant NAME] [--revisions fred3,fred5] [--features cet,compat] [--misbehave KIND@N]
       fred-model-dut --list-mutants
  --mutant NAME        serve a mutant from the zoo instead of the model (--list-mutants lists them)
  --revisions LIST     the revisions to announce (default fred3,fred5)
  --features LIST      the features to announce (default cet,compat; "none" for none)
  --misbehave KIND@N   at the Nth result: crash, hang, garbage or reorder (swap with the next result)
""";

string? mutantName = null, misbehave = null;
Revision[] revisions = [Revision.Fred3, Revision.Fred5];
string[] features = DutFeatures.All;
for (int i = 0; i < args.Length; i++)
{
    string Value() => i + 1 < args.Length ? args[++i] : Fail<string>($"{args[i]} needs a value");
    switch (args[i])
    {
        case "--mutant": mutantName = Value(); break;
        case "--misbehave": misbehave = Value(); break;
        case "--revisions":
            revisions = Value().Split(',', StringSplitOptions.TrimEntries).Select(r => r switch
            {
                "fred3" => Revision.Fred3, "fred5" => Revision.Fred5, _ => Fail<Revision>($"--revisions: unknown revision \"{r}\" (fred3, fred5)"),
            }).ToArray();
            break;
        case "--features":
            var f = Value();
            features = f == "none" ? [] : f.Split(',', StringSplitOptions.TrimEntries);
            foreach (var x in features) if (!DutFeatures.Known.Contains(x)) Fail<int>($"--features: unknown feature \"{x}\" ({string.Join(", ", DutFeatures.Known)})");
            break;
        case "--list-mutants":
            foreach (var m in Mutants.All) Console.WriteLine($"{m.Name,-32} {m.Rule,-15} {m.Breaks}");
            return 0;
        case "-h" or "--help": Console.Write(Usage); return 0;
        default: Fail<int>($"unknown argument \"{args[i]}\""); break;
    }
}

Implementation impl = CaseRunner.Model;
string name = "fred model";
if (mutantName is not null)
{
    var m = Mutants.Find(mutantName) ?? Fail<Mutant>($"--mutant: no mutant \"{mutantName}\" (see --list-mutants)");
    impl = m.Impl;
    name = $"fred model, mutant {m.Name}";
}
var stdout = new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false), 1 << 16) { AutoFlush = false };
TextWriter output = stdout;
if (misbehave is not null)
{
    var parts = misbehave.Split('@');
    if (parts.Length != 2 || !int.TryParse(parts[1], out int n) || n < 1 || parts[0] is not ("crash" or "hang" or "garbage" or "reorder"))
        Fail<int>($"--misbehave: expected KIND@N with KIND crash, hang, garbage or reorder and N >= 1, found \"{misbehave}\"");
    else output = new Misbehaving(stdout, parts[0], n);
}
var stdin = new StreamReader(Console.OpenStandardInput(), new UTF8Encoding(false), false, 1 << 16);
return DutServer.Serve(stdin, output, Console.Error, new DutHello(name, ProtocolVersion.Current, revisions, features), impl);

static T Fail<T>(string message)
{
    Console.Error.WriteLine($"fred-model-dut: {message}");
    Console.Error.WriteLine("run fred-model-dut --help for usage");
    Environment.Exit(2);
    return default!;
}

/// <summary>Passes lines through until the Nth result line, then breaks the protocol as asked.</summary>
sealed class Misbehaving(TextWriter inner, string kind, int at) : TextWriter
{
    int results;
    string? held;
    public override Encoding Encoding => inner.Encoding;
    public override void Flush() => inner.Flush();
    public override void WriteLine(string? line)
    {
        if (line is null || !line.StartsWith("{\"type\":\"result\"", StringComparison.Ordinal)) { inner.WriteLine(line); return; }
        results++;
        if (held is not null) { inner.WriteLine(line); inner.WriteLine(held); held = null; return; }
        if (results != at) { inner.WriteLine(line); return; }
        switch (kind)
        {
            case "crash": inner.Flush(); Console.Error.WriteLine("fred-model-dut: crashing on purpose"); Environment.Exit(3); break;
            case "hang": inner.Flush(); Thread.Sleep(Timeout.Infinite); break;
            case "garbage": inner.WriteLine("this is not JSON " + line[..20]); break;
            case "reorder": held = line; break;
        }
    }
}
