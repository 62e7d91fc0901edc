using System.Diagnostics;
using Fred.Dut;

namespace Fred.Cli;

/// <summary>The commands of fred-conform.</summary>
public static class Commands
{
    /// <summary>run: a campaign against one DUT, or an N-version campaign when --dut is given more than once.</summary>
    public static int Run(Args a, CancellationToken cancel = default)
    {
        if (a.Positional.Count > 0) throw new UsageException($"run: unexpected argument \"{a.Positional[0]}\"");
        string dutName = a.Get("--dut") ?? throw new UsageException("run: --dut is required (model, mutant:NAME or a command)");
        CheckOutputs(a, "--junit", "--markdown");
        if (a.All("--dut").Count > 1) return RunN(a, a.All("--dut"));
        var (o, timeout) = CampaignOptionsOf(a);
        string command = DutCommand.Resolve(dutName);
        Console.Error.WriteLine($"fred-conform: {o.Count} cases, seed 0x{o.Seed:x}, profile {o.EffectiveProfile.Name}, DUT {command}");
        using var dut = ProcessDut.Start(command, timeout);
        var lastPrint = Stopwatch.StartNew();
        var result = Campaign.Run(dut, dutName, o, p => Progress(a, lastPrint, p), cancel);
        Console.Write(Reports.Text(result));
        if (dut.Starts > 1) Console.WriteLine($"(the DUT was restarted {dut.Starts - 1} time(s))");
        Write(a.Get("--junit"), Reports.JUnit(result));
        Write(a.Get("--markdown"), Reports.Markdown(result));
        return result.Interrupted ? 130 : result.Stopped is not null ? 2 : result.Ok ? 0 : 1;
    }

    /// <summary>run with several --dut: the N-version campaign (FRED-DUT-13).</summary>
    static int RunN(Args a, IReadOnlyList<string> names)
    {
        var (o, timeout) = CampaignOptionsOf(a);
        var commands = names.Select(DutCommand.Resolve).ToArray();
        Console.Error.WriteLine($"fred-conform: {o.Count} cases, seed 0x{o.Seed:x}, profile {o.EffectiveProfile.Name}, N-version over {names.Count} DUTs: {string.Join("; ", commands)}");
        var started = new List<ProcessDut>();
        try
        {
            foreach (var command in commands) started.Add(ProcessDut.Start(command, timeout));
            var lastPrint = Stopwatch.StartNew();
            var result = NVersion.Run(names.Select((n, i) => new NamedDut(n, started[i])).ToArray(), o, p => Progress(a, lastPrint, p));
            Console.Write(NVersionReports.Text(result));
            for (int i = 0; i < started.Count; i++)
                if (started[i].Starts > 1) Console.WriteLine($"({NVersionResult.Label(i)} was restarted {started[i].Starts - 1} time(s))");
            Write(a.Get("--junit"), NVersionReports.JUnit(result));
            Write(a.Get("--markdown"), NVersionReports.Markdown(result));
            return result.Ok ? 0 : 1;
        }
        finally
        {
            foreach (var d in started) d.Dispose();
        }
    }

    static (CampaignOptions Options, TimeSpan Timeout) CampaignOptionsOf(Args a)
    {
        var profile = a.Get("--profile") is { } pf ? DutProfile.Load(pf) : DutProfile.Strict;
        ulong seed = a.U64("--seed") ?? (ulong)Random.Shared.NextInt64();
        var o = new CampaignOptions(
            Count: a.Int("--count", 1000, 1, int.MaxValue), Seed: seed, BatchSize: a.Int("--batch", 100, 1, 100_000), Profile: profile,
            Shrink: !a.Has("--no-shrink"), MaxFailures: a.Int("--max-failures", 10, 0, int.MaxValue),
            SaveDirectory: a.Get("--save") ?? "fred-counterexamples", From: FirstIndex(a),
            MaxBrokenInARow: a.Int("--max-broken-in-a-row", 10, 0, int.MaxValue));
        return (o, TimeSpan.FromMilliseconds(a.Int("--timeout-ms", 10_000, 1, int.MaxValue)));
    }

    /// <summary>--from: case indices are non-negative 64-bit integers, and the last one of the run must be one too.</summary>
    static long FirstIndex(Args a)
    {
        ulong from = a.U64("--from") ?? 0;
        long count = a.Int("--count", 1000, 1, int.MaxValue);
        if (from > (ulong)(long.MaxValue - count))
            throw new UsageException($"--from: {from} leaves no room for {count} case(s); the first index can be at most {long.MaxValue - count}");
        return (long)from;
    }

    static void Progress(Args a, Stopwatch lastPrint, CampaignProgress p)
    {
        if (a.Has("--quiet") || (lastPrint.Elapsed.TotalSeconds < 2 && p.Done < p.Total)) return;
        lastPrint.Restart();
        Console.Error.WriteLine($"  [{p.Done}/{p.Total}] {100.0 * p.Done / p.Total:0.0}%  {p.Failed} disagreed, {p.Broken} broke, {p.Done / Math.Max(p.Elapsed.TotalSeconds, 1e-3):N0} cases/s");
    }

    static void Write(string? path, string text)
    {
        if (path is null) return;
        try
        {
            var dir = Path.GetDirectoryName(Path.GetFullPath(path));
            if (dir is not null) Directory.CreateDirectory(dir);
            File.WriteAllText(path, text);
            Console.WriteLine($"wrote {path}");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            // The run is over and its verdict printed; only this report is lost, and the message says which and why.
            Console.Error.WriteLine($"fred-conform: could not write {path}: {e.Message}");
        }
    }

    /// <summary>
    /// Checks, before a campaign starts, that every report and the counterexample directory can be written, so that a
    /// typo does not cost a long run its reports. Throws a usage error naming the option and the problem.
    /// </summary>
    static void CheckOutputs(Args a, params string[] fileOptions)
    {
        foreach (var option in fileOptions)
        {
            if (a.Get(option) is not { } path) continue;
            if (path.Length == 0) throw new UsageException($"{option}: the path is empty");
            string full;
            try { full = Path.GetFullPath(path); }
            catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException) { throw new UsageException($"{option}: {path}: {e.Message}"); }
            if (Directory.Exists(full)) throw new UsageException($"{option}: {path} is a directory; give a file name");
            for (var d = Path.GetDirectoryName(full); d is not null; d = Path.GetDirectoryName(d))
            {
                if (File.Exists(d)) throw new UsageException($"{option}: {path}: {d} is a file, not a directory");
                if (Directory.Exists(d)) break;
            }
            bool existed = File.Exists(full);
            try
            {
                Directory.CreateDirectory(Path.GetDirectoryName(full)!);
                using (new FileStream(full, FileMode.Append, FileAccess.Write)) { }
                if (!existed) File.Delete(full);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new UsageException($"{option}: {path} cannot be written: {e.Message}"); }
        }
        if (a.Get("--save") is { } save)
        {
            if (save.Length == 0) throw new UsageException("--save: the directory name is empty");
            if (File.Exists(save)) throw new UsageException($"--save: {save} is a file, not a directory");
            try
            {
                Directory.CreateDirectory(save);
                string probe = Path.Combine(save, $".fred-write-check-{Environment.ProcessId}");
                File.WriteAllText(probe, "");
                File.Delete(probe);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException) { throw new UsageException($"--save: {save} cannot be written: {e.Message}"); }
        }
    }

    /// <summary>replay: re-runs counterexample files against a DUT (by default the one that produced them).</summary>
    public static int Replay(Args a)
    {
        if (a.Positional.Count == 0) throw new UsageException("replay: name at least one counterexample file");
        var given = a.Get("--profile") is { } pf ? DutProfile.Load(pf) : null;
        var timeout = TimeSpan.FromMilliseconds(a.Int("--timeout-ms", 10_000, 1, int.MaxValue));
        var files = a.Positional.SelectMany(p => Directory.Exists(p) ? Directory.GetFiles(p, "*.json").Order().ToArray() : new[] { p }).ToArray();
        int failed = 0;
        foreach (var file in files)
        {
            var cx = Counterexample.Load(file);
            // Without --profile, the file's own profile judges, as it did in the run that saved it.
            var profile = given ?? DutProfile.FromDescription(cx.ProfileText) ?? DutProfile.Strict;
            // A counterexample file may come from anyone: the command stored in it runs only when asked for, and is shown.
            string command = DutCommand.Resolve(a.Get("--dut") ?? (!a.Has("--dut-from-file") ? "model"
                : cx.DutCommand.Length > 0 ? cx.DutCommand : throw new UsageException($"replay: {file} names no DUT command; give --dut")));
            if (a.Get("--dut") is null && a.Has("--dut-from-file")) Console.Error.WriteLine($"fred-conform: replay: running the file's DUT command: {command}");
            var expected = Campaign.Expect(cx.Case);
            var modelDrift = Comparator.Compare(cx.Case, cx.Expected, expected, DutProfile.Strict);
            using var dut = ProcessDut.Start(command, timeout);
            var r = dut.Run([cx.Case])[0];
            Console.WriteLine($"{file}: {DutText.Clean(cx.Signature)} (recorded against {cx.DutName})");
            foreach (var line in Counterexample.Readable(cx.Case, [])) Console.WriteLine($"  | {line}");
            if (modelDrift.Count > 0)
                Console.WriteLine($"  note: the model now answers differently from the recorded expectation: {string.Join("; ", modelDrift)}");
            switch (r)
            {
                case Answered obs:
                    var ms = Comparator.Judge(cx.Case, expected, obs, profile);
                    if (ms.Count == 0) Console.WriteLine("  PASS: the DUT now agrees with the model");
                    else
                    {
                        failed++;
                        string sig = Comparator.Signature(cx.Case, ms);
                        Console.WriteLine(sig == cx.Signature ? "  FAIL: still fails the same way" : $"  FAIL: fails differently now ({sig})");
                        foreach (var m in ms) Console.WriteLine($"  {m}");
                    }
                    break;
                case Unsupported u:
                    Console.WriteLine($"  DECLINED: {u.Reason}");
                    break;
                case DutBroke b:
                    failed++;
                    Console.WriteLine($"  DUT BROKE: {b.Kind}: {b.Detail}");
                    break;
            }
        }
        Console.WriteLine($"{files.Length} file(s), {failed} still failing");
        return failed == 0 ? 0 : 1;
    }

    /// <summary>zoo: the model DUT must pass; every mutant must be killed.</summary>
    public static int Zoo(Args a)
    {
        CheckOutputs(a, "--markdown");
        int count = a.Int("--count", 2000, 1, int.MaxValue), batch = a.Int("--batch", 100, 1, 100_000);
        ulong seed = a.U64("--seed") ?? 1;
        var mutants = a.Get("--only") is { } only
            ? only.Split(',').Select(n => Mutants.Find(n.Trim()) ?? throw new UsageException($"zoo: no mutant \"{n}\"")).ToArray()
            : Mutants.All.ToArray();
        var timeout = TimeSpan.FromSeconds(30);
        Console.WriteLine($"Validating the model DUT over the protocol: {count} cases, seed 0x{seed:x} ...");
        string modelCmd = DutCommand.Resolve("model");
        CampaignResult model;
        using (var dut = ProcessDut.Start(modelCmd, timeout))
            model = Campaign.Run(dut, modelCmd, new CampaignOptions(count, seed, batch, SaveDirectory: null));
        Console.WriteLine($"  model DUT: {model.Run} cases, {model.Passed} agreed, {model.FailedCases} disagreed, {model.Broken.Count} broke, {model.ByRule.Count} rules exercised, {model.Elapsed.TotalSeconds:0.0} s ({model.Run / Math.Max(model.Elapsed.TotalSeconds, 1e-3):N0} cases/s over pipes)");
        if (!model.Ok) Console.Write(Reports.Text(model));
        Console.WriteLine($"Hunting {mutants.Length} mutants (at most {count} cases each) ...");
        var rows = new List<KillRow>();
        foreach (var m in mutants)
        {
            var row = Fred.Dut.Zoo.Hunt(m, x => ProcessDut.Start(DutCommand.Resolve($"mutant:{x.Name}"), timeout), count, seed, batch);
            rows.Add(row);
            if (!a.Has("--quiet"))
                Console.WriteLine($"  {(row.Killed ? "killed  " : "SURVIVED")} {m.Name,-30} {m.Rule,-14} after {row.CasesToKill,5} case(s), shrunk to {row.ShrunkSteps} step(s): {row.Signature}{(row.Broke is null ? "" : $" (DUT broke: {row.Broke})")}");
        }
        string matrix = Fred.Dut.Zoo.Markdown(rows);
        Console.WriteLine();
        Console.Write(matrix);
        Write(a.Get("--markdown"), $"# Fred mutant zoo: kill matrix\n\nseed 0x{seed:x}, at most {count} cases per mutant, through the protocol.\n\n{matrix}");
        bool ok = model.Ok && rows.All(r => r.Killed);
        Console.WriteLine(ok ? "ZOO: PASS (the model DUT agrees with the model; every mutant is killed)" : "ZOO: FAIL");
        return ok ? 0 : 1;
    }

    /// <summary>list-rules: the spec rules.</summary>
    public static int ListRules(Args a)
    {
        foreach (var r in SpecRules.All) Console.WriteLine($"{r.Id,-15} {r.Title}");
        Console.WriteLine($"{SpecRules.All.Count} rules");
        return 0;
    }

    /// <summary>image: generated real-event cases compiled into one bootable disk image.</summary>
    public static int Image(Args a)
    {
        string output = a.Get("--out") ?? throw new UsageException("image: --out FILE is required");
        CheckOutputs(a, "--out");
        if (a.Get("--replay") is { } file)
        {
            // The smallest image that shows a disagreement: the counterexample's shrunk case alone.
            var cx = Counterexample.Load(file);
            var (one, why) = Fred.Image.CaseRealizer.Realize(cx.Case);
            if (one is null)
            {
                Console.Error.WriteLine($"fred-conform: image: {file}: its case cannot be raised by the image: {why}");
                return 2;
            }
            var single = Fred.Image.ImageBuilder.Build([one]);
            File.WriteAllBytes(output, single.Bytes);
            Console.WriteLine($"{output}: the case of {file} ({cx.Signature}), {single.Bytes.Length} bytes; output on port 0xE9");
            return 0;
        }
        int count = a.Int("--count", 100, 1, 100_000);
        ulong seed = a.U64("--seed") ?? 1;
        var shape = new Fred.Generators.Arbitraries.DutShape([Fred.Model.Revision.Fred5], Cet: false, Compat: true, RealEvents: true);
        var realized = new List<Fred.Image.Realized>();
        var reasons = new Dictionary<string, int>();
        int declined = 0;
        for (long i = 0; realized.Count < count && i < 20L * count; i++)
        {
            var (r, why) = Fred.Image.CaseRealizer.Realize(Campaign.Generate(shape, seed, i));
            if (r is not null) { realized.Add(r); continue; }
            declined++;
            reasons[why!] = reasons.GetValueOrDefault(why!) + 1;
        }
        var first = Fred.Image.ImageBuilder.Batches(realized).FirstOrDefault() ?? [];
        if (first.Count < realized.Count)
        {
            Console.Error.WriteLine($"fred-conform: image: only {first.Count} of the {realized.Count} cases fit in one image " +
                $"({Fred.Image.ImageBuilder.MaxCaseBytes} bytes of case records); give --count {first.Count} or fewer " +
                "(the bochs DUT splits a batch over several boots by itself)");
            return 2;
        }
        var image = Fred.Image.ImageBuilder.Build(realized);
        File.WriteAllBytes(output, image.Bytes);
        Console.WriteLine($"{output}: {realized.Count} cases ({declined} generated cases could not be realized and were skipped), " +
            $"{image.Bytes.Length} bytes, disk geometry {image.Cylinders}/{Fred.Image.Layout.Heads}/{Fred.Image.Layout.SectorsPerTrack}, " +
            $"{Fred.Image.Layout.GuestMegabytes} MiB of guest memory; output on port 0xE9");
        foreach (var (why, n) in reasons.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal))
            Console.WriteLine($"  declined {n,5}: {why}");
        Console.WriteLine();
        Console.WriteLine($"{"first event",-32} {"realised",8}");
        foreach (var (name, n) in Fred.Image.ImageCoverage.Events(realized)) Console.WriteLine($"{name,-32} {n,8}");
        // The spec rules the realized cases exercise (as fred-conform run counts them), and those no case reaches.
        var rules = Fred.Image.ImageCoverage.Rules(realized);
        Console.WriteLine();
        Console.WriteLine($"{"rule",-15} {"realised",8}  title");
        foreach (var (rule, n) in rules.Where(r => r.Cases > 0)) Console.WriteLine($"{rule,-15} {n,8}  {SpecRules.Title(rule)}");
        var none = rules.Where(r => r.Cases == 0).Select(r => r.Rule).ToArray();
        Console.WriteLine();
        Console.WriteLine($"{rules.Count - none.Length} of {rules.Count} rules realised; {none.Length} with no realised case:");
        foreach (var line in none.Chunk(6)) Console.WriteLine("  " + string.Join(" ", line));
        return 0;
    }

    /// <summary>list-mutants: the zoo.</summary>
    public static int ListMutants(Args a)
    {
        foreach (var m in Mutants.All) Console.WriteLine($"{m.Name,-32} {m.Rule,-15} {m.Breaks}{(m.History is null ? "" : $" [{m.History}]")}");
        Console.WriteLine($"{Mutants.All.Count} mutants");
        return 0;
    }
}
