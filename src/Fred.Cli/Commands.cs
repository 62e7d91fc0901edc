using Fred.Dut;

namespace Fred.Cli;

/// <summary>The commands of fred-conform.</summary>
public static class Commands
{
    /// <summary>run: a campaign against one DUT, or an N-version campaign when --dut is given more than once.</summary>
    public static int Run(RunSettings a)
    {
        // Ctrl-C and SIGTERM end the run after the case in progress: the reports are written with what is known, marked
        // interrupted, the DUT's process tree is ended, and the exit status is 130. Only while a run is going on.
        using var interrupt = new CancellationTokenSource();
        ConsoleCancelEventHandler onCtrlC = (_, e) => { e.Cancel = true; interrupt.Cancel(); };
        Console.CancelKeyPress += onCtrlC;
        using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM,
            c => { c.Cancel = true; interrupt.Cancel(); });
        try { return Run(a, interrupt.Token); }
        finally { Console.CancelKeyPress -= onCtrlC; }
    }

    static int Run(RunSettings a, CancellationToken cancel)
    {
        string dutName = a.Duts[0];
        var (o, timeout) = CampaignOptionsOf(a);
        CheckOutputs(a.Save, ("--junit", a.Junit), ("--markdown", a.Markdown));
        if (a.Duts.Count > 1) return RunN(a, a.Duts, o, timeout, cancel);
        string command = DutCommand.Resolve(dutName);
        Console.Error.WriteLine($"fred-conform: {o.Count} cases, seed 0x{o.Seed:x}, profile {o.EffectiveProfile.Name}, DUT {command}");
        using var dut = ProcessDut.Start(command, timeout);
        var result = LiveProgress.Show(a.Quiet, o.Count, progress => Campaign.Run(dut, dutName, o, progress, cancel));
        Console.Write(Reports.Text(result, LiveProgress.RuleTable));
        if (dut.Starts > 1) Console.WriteLine($"(the DUT was restarted {dut.Starts - 1} time(s))");
        Write(a.Junit, Reports.JUnit(result));
        Write(a.Markdown, Reports.Markdown(result));
        return result.Interrupted ? 130 : result.Stopped is not null ? 2 : result.Ok ? 0 : 1;
    }

    /// <summary>run with several --dut: the N-version campaign (FRED-DUT-13).</summary>
    static int RunN(RunSettings a, IReadOnlyList<string> names, CampaignOptions o, TimeSpan timeout, CancellationToken cancel)
    {
        var commands = names.Select(DutCommand.Resolve).ToArray();
        Console.Error.WriteLine($"fred-conform: {o.Count} cases, seed 0x{o.Seed:x}, profile {o.EffectiveProfile.Name}, N-version over {names.Count} DUTs: {string.Join("; ", commands)}");
        var started = new List<ProcessDut>();
        try
        {
            foreach (var command in commands) started.Add(ProcessDut.Start(command, timeout));
            var result = LiveProgress.Show(a.Quiet, o.Count, progress => NVersion.Run(names.Select((n, i) => new NamedDut(n, started[i])).ToArray(), o, progress, cancel));
            Console.Write(NVersionReports.Text(result));
            for (int i = 0; i < started.Count; i++)
                if (started[i].Starts > 1) Console.WriteLine($"({NVersionResult.Label(i)} was restarted {started[i].Starts - 1} time(s))");
            Write(a.Junit, NVersionReports.JUnit(result));
            Write(a.Markdown, NVersionReports.Markdown(result));
            return result.Verdicts.Any(v => v.Interrupted) ? 130 : result.Verdicts.Any(v => v.Stopped is not null) ? 2 : result.Ok ? 0 : 1;
        }
        finally
        {
            foreach (var d in started) d.Dispose();
        }
    }

    static (CampaignOptions Options, TimeSpan Timeout) CampaignOptionsOf(RunSettings a)
    {
        long from = FirstIndex(a.From, a.Count);
        var profile = a.Profile is { } pf ? DutProfile.Load(pf) : DutProfile.Strict;
        ulong seed = a.Seed ?? (ulong)Random.Shared.NextInt64();
        var o = new CampaignOptions(
            Count: a.Count, Seed: seed, BatchSize: a.Batch, Profile: profile, Shrink: !a.NoShrink, MaxFailures: a.MaxFailures,
            SaveDirectory: a.Save ?? "fred-counterexamples", From: from, MaxBrokenInARow: a.MaxBrokenInARow);
        return (o, TimeSpan.FromMilliseconds(a.TimeoutMs));
    }

    /// <summary>--from: case indices are non-negative 64-bit integers, and the last one of the run must be one too.</summary>
    static long FirstIndex(ulong from, long count)
    {
        if (from > (ulong)(long.MaxValue - count))
            throw new UsageException($"--from: {from} leaves no room for {count} case(s); the first index can be at most {long.MaxValue - count}");
        return (long)from;
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
    static void CheckOutputs(string? save, params (string Option, string? Path)[] files)
    {
        foreach (var (option, given) in files)
        {
            if (given is not { } path) continue;
            if (OutputPath.Problem(path) is { } why) throw new UsageException($"{option}: {why}");
        }
        if (save is not null)
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
    public static int Replay(ReplaySettings a)
    {
        var given = a.Profile is { } pf ? DutProfile.Load(pf) : null;
        var timeout = TimeSpan.FromMilliseconds(a.TimeoutMs);
        var files = a.Files.SelectMany(p => Directory.Exists(p) ? Directory.GetFiles(p, "*.json").Order().ToArray() : new[] { p }).ToArray();
        int failed = 0;
        foreach (var file in files)
        {
            var cx = Counterexample.Load(file);
            // Without --profile, the file's own profile judges, as it did in the run that saved it.
            var profile = given ?? DutProfile.FromDescription(cx.ProfileText) ?? DutProfile.Strict;
            // A counterexample file may come from anyone: the command stored in it runs only when asked for, and is shown.
            string command = DutCommand.Resolve(a.Dut ?? (!a.DutFromFile ? "model"
                : cx.DutCommand.Length > 0 ? cx.DutCommand : throw new UsageException($"replay: {file} names no DUT command; give --dut")));
            if (a.Dut is null && a.DutFromFile) Console.Error.WriteLine($"fred-conform: replay: running the file's DUT command: {command}");
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
    public static int Zoo(ZooSettings a)
    {
        CheckOutputs(null, ("--markdown", a.Markdown));
        int count = a.Count, batch = a.Batch;
        ulong seed = a.Seed;
        var mutants = a.Only is { } only
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
            if (!a.Quiet)
                Console.WriteLine($"  {(row.Killed ? "killed  " : "SURVIVED")} {m.Name,-30} {m.Rule,-14} after {row.CasesToKill,5} case(s), shrunk to {row.ShrunkSteps} step(s): {row.Signature}{(row.Broke is null ? "" : $" (DUT broke: {row.Broke})")}");
        }
        string matrix = Fred.Dut.Zoo.Markdown(rows);
        Console.WriteLine();
        Console.Write(matrix);
        Write(a.Markdown, $"# Fred mutant zoo: kill matrix\n\nseed 0x{seed:x}, at most {count} cases per mutant, through the protocol.\n\n{matrix}");
        bool ok = model.Ok && rows.All(r => r.Killed);
        Console.WriteLine(ok ? "ZOO: PASS (the model DUT agrees with the model; every mutant is killed)" : "ZOO: FAIL");
        return ok ? 0 : 1;
    }

    /// <summary>list-rules: the spec rules.</summary>
    public static int ListRules()
    {
        foreach (var r in SpecRules.All) Console.WriteLine($"{r.Id,-15} {r.Title}");
        Console.WriteLine($"{SpecRules.All.Count} rules");
        return 0;
    }

    /// <summary>image: generated real-event cases compiled into one bootable disk image.</summary>
    public static int Image(ImageSettings a)
    {
        bool reportOnly = a.ReportOnly;
        string output = a.Out ?? (reportOnly && a.Replay is null ? "" : throw new UsageException("image: --out FILE is required (or --report-only)"));
        if (output.Length > 0) CheckOutputs(null, ("--out", output));
        if (a.Replay is { } file)
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
        int count = a.Count;
        ulong seed = a.Seed;
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
        var first = reportOnly ? realized : Fred.Image.ImageBuilder.Batches(realized).FirstOrDefault() ?? [];
        if (first.Count < realized.Count)
        {
            Console.Error.WriteLine($"fred-conform: image: only {first.Count} of the {realized.Count} cases fit in one image " +
                $"({Fred.Image.ImageBuilder.MaxCaseBytes} bytes of case records); give --count {first.Count} or fewer " +
                "(the bochs DUT splits a batch over several boots by itself), or --report-only for the tables alone");
            return 2;
        }
        if (reportOnly)
            Console.WriteLine($"{realized.Count} cases ({declined} generated cases could not be realized and were skipped); no image written (--report-only)");
        else
        {
            var image = Fred.Image.ImageBuilder.Build(realized);
            File.WriteAllBytes(output, image.Bytes);
            Console.WriteLine($"{output}: {realized.Count} cases ({declined} generated cases could not be realized and were skipped), " +
                $"{image.Bytes.Length} bytes, disk geometry {image.Cylinders}/{Fred.Image.Layout.Heads}/{Fred.Image.Layout.SectorsPerTrack}, " +
                $"{Fred.Image.Layout.GuestMegabytes} MiB of guest memory; output on port 0xE9");
        }
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
        // Every rule is either reached or listed, with its reason, as one a boot image cannot observe (image-format.md).
        var unobservable = Fred.Image.ImageCoverage.Unobservable();
        var unexplained = none.Where(id => !unobservable.ContainsKey(id)).ToArray();
        var reachedButListed = rules.Where(r => r.Cases > 0 && unobservable.ContainsKey(r.Rule)).Select(r => r.Rule).ToArray();
        Console.WriteLine();
        Console.WriteLine($"{none.Length - unexplained.Length} of them listed as unobservable by an image (spec/image-format.md, FRED-IMG-04); " +
            (unexplained.Length == 0 ? "none unexplained" : $"reached by no case and not listed: {string.Join(" ", unexplained)}"));
        if (reachedButListed.Length > 0) Console.WriteLine($"listed as unobservable but reached: {string.Join(" ", reachedButListed)}");
        return 0;
    }

    /// <summary>list-mutants: the zoo.</summary>
    public static int ListMutants()
    {
        foreach (var m in Mutants.All) Console.WriteLine($"{m.Name,-32} {m.Rule,-15} {m.Breaks}{(m.History is null ? "" : $" [{m.History}]")}");
        Console.WriteLine($"{Mutants.All.Count} mutants");
        return 0;
    }
}
