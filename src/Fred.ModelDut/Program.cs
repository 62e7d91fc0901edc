using System.CommandLine;
using System.Text;
using Fred.Dut;
using Fred.Model;

// fred-model-dut: the FRED model as a DUT speaking the protocol of spec/dut-protocol.md on stdin/stdout.
// --mutant NAME serves a member of the mutant zoo instead; --misbehave makes it break the protocol on purpose,
// so that the runner's handling of crashing, hanging and garbled DUTs can be tested.

var mutant = new Option<string?>("--mutant") { Description = "serve a mutant from the zoo instead of the model (--list-mutants lists them)", HelpName = "NAME" };
mutant.CompletionSources.Add(_ => Mutants.All.Select(m => m.Name));
mutant.Validators.Add(r =>
{
    if (r.GetValueOrDefault<string?>() is { } n && Mutants.Find(n) is null) r.AddError($"--mutant: no mutant \"{n}\" (see --list-mutants)");
});
var revisions = new Option<Revision[]>("--revisions")
{
    Description = "the revisions to announce, comma-separated: fred3, fred5 (default fred3,fred5)",
    HelpName = "LIST",
    CustomParser = r =>
    {
        var list = new List<Revision>();
        foreach (var x in r.Tokens.Single().Value.Split(',', StringSplitOptions.TrimEntries))
            if (x switch { "fred3" => Revision.Fred3, "fred5" => Revision.Fred5, _ => (Revision?)null } is { } rev) list.Add(rev);
            else r.AddError($"--revisions: unknown revision \"{x}\" (fred3, fred5)");
        return [.. list];
    },
};
var features = new Option<string[]>("--features")
{
    Description = $"the features to announce, comma-separated: {string.Join(", ", DutFeatures.Known)}; \"none\" for none (default {string.Join(",", DutFeatures.All)})",
    HelpName = "LIST",
    CustomParser = r =>
    {
        string v = r.Tokens.Single().Value;
        string[] list = v == "none" ? [] : v.Split(',', StringSplitOptions.TrimEntries);
        foreach (var x in list)
            if (!DutFeatures.Known.Contains(x)) r.AddError($"--features: unknown feature \"{x}\" ({string.Join(", ", DutFeatures.Known)})");
        return list;
    },
};
var misbehave = new Option<(string Kind, int At)?>("--misbehave")
{
    Description = "at the Nth result of each process: crash, hang, garbage or reorder (swap with the next result)",
    HelpName = "KIND@N",
    CustomParser = r =>
    {
        string v = r.Tokens.Single().Value;
        var parts = v.Split('@');
        if (parts.Length == 2 && parts[0] is "crash" or "hang" or "garbage" or "reorder" && int.TryParse(parts[1], out int n) && n >= 1) return (parts[0], n);
        r.AddError($"--misbehave: expected KIND@N with KIND crash, hang, garbage or reorder and N >= 1, found \"{v}\"");
        return null;
    },
};
var listMutants = CommandLines.Flag("--list-mutants", "list the mutant zoo and exit");
var root = CommandLines.Root("""
    fred-model-dut: the FRED model as a DUT speaking the protocol of spec/dut-protocol.md on standard input and output.
    fred-conform starts it for --dut model (--dut "model ARGS" passes ARGS) and --dut mutant:NAME.
    """, _ => """
    0  the protocol ended (bye or end of input), or --list-mutants
    2  bad usage, or a protocol line it cannot use (the problem is on standard error)
    3  --misbehave crash, on purpose
    """);
foreach (var o in new Option[] { mutant, revisions, features, misbehave, listMutants }) root.Options.Add(o);
root.SetAction(p =>
{
    if (p.GetValue(listMutants))
    {
        foreach (var m in Mutants.All) Console.WriteLine($"{m.Name,-32} {m.Rule,-15} {m.Breaks}");
        return 0;
    }
    Implementation impl = CaseRunner.Model;
    string name = "fred model";
    if (p.GetValue(mutant) is { } mutantName)
    {
        var m = Mutants.Find(mutantName)!;
        impl = m.Impl;
        name = $"fred model, mutant {m.Name}";
    }
    var stdout = new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false), 1 << 16) { AutoFlush = false };
    TextWriter output = p.GetValue(misbehave) is { } mis ? new Misbehaving(stdout, mis.Kind, mis.At) : stdout;
    var stdin = Console.OpenStandardInput();
    return DutServer.Serve(stdin, output, Console.Error, new DutHello(name, ProtocolVersion.Current,
        p.GetResult(revisions) is null ? [Revision.Fred3, Revision.Fred5] : p.GetValue(revisions)!,
        p.GetResult(features) is null ? DutFeatures.All : p.GetValue(features)!), impl);
});
return CommandLines.Invoke(root, args);

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
