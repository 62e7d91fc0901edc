using System.CommandLine;
using Fred.Dut;
using static Fred.Dut.CommandLines;

namespace Fred.Cli;

/// <summary>A command-line mistake found after parsing (a report path that cannot be written, a first index with no room): the message names the option.</summary>
public sealed class UsageException(string message) : Exception(message);

/// <summary>What <c>run</c> was asked for.</summary>
public sealed record RunSettings(IReadOnlyList<string> Duts, int Count, ulong? Seed, ulong From, int Batch, string? Profile, int TimeoutMs,
    int MaxFailures, bool NoShrink, string? Save, string? Junit, string? Markdown, bool Quiet, int MaxBrokenInARow = 10);

/// <summary>What <c>replay</c> was asked for.</summary>
public sealed record ReplaySettings(IReadOnlyList<string> Files, string? Dut, string? Profile, int TimeoutMs, bool DutFromFile);

/// <summary>What <c>zoo</c> was asked for.</summary>
public sealed record ZooSettings(int Count, ulong Seed, int Batch, string? Markdown, string? Only, bool Quiet);

/// <summary>What <c>image</c> was asked for.</summary>
public sealed record ImageSettings(int Count, ulong Seed, string? Out, string? Replay, bool ReportOnly = false);

/// <summary>The command line of fred-conform (System.CommandLine): its commands, their options and exit statuses.</summary>
public static class CommandLine
{
    const string CampaignStatus = """
        0  every case agreed
        1  some case disagreed, or the DUT broke on a case
        2  bad usage or input (an unknown option, a bad value, a report path that cannot be written, a malformed
           profile or counterexample file), a DUT that would not start, or a run stopped because the DUT kept
           breaking (--max-broken-in-a-row) or could not be restarted
        """;

    const string RootStatus = """
        0  success: every case agreed (run), no file still fails (replay), every mutant killed (zoo), image written,
           every input agreed (kernel)
        1  some case disagreed or a DUT broke (run, replay), the model DUT failed or a mutant survived (zoo), some
           input disagreed or the compiled C crashed or hung (kernel)
        2  bad usage or input, or a DUT that would not start ("fred-conform COMMAND --help" says more)
        130  a run interrupted by Ctrl-C or SIGTERM (its reports hold the cases run until then)
        """;

    const string DutHelp = "DUT: \"model\" (the model DUT shipped with Fred; \"model ARGS\" passes ARGS to it, e.g. \"model --misbehave crash@3\"), " +
        "\"mutant:NAME\", \"bochs\" or \"bochs:ARGS\" (fred-bochs-dut with its arguments), \"qemu\" or \"qemu:ARGS\" " +
        "(fred-qemu-dut, e.g. \"qemu:--accel kvm\"), or any command line that speaks the protocol";

    /// <summary>The root command with every subcommand.</summary>
    public static RootCommand Build()
    {
        var status = new Dictionary<Command, string>();
        var root = Root("""
            fred-conform: FRED conformance against the Fred model (spec/dut-protocol.md). Generates cases, runs them on a DUT
            and on the model in lock step, and tells rule by rule where they differ. "fred-conform COMMAND --help" shows a
            command's options; arguments can also come from a response file (@FILE, one or more per line).
            """, c => status.GetValueOrDefault(c, RootStatus));
        root.Subcommands.Add(Run(status));
        root.Subcommands.Add(Replay(status));
        root.Subcommands.Add(Zoo(status));
        root.Subcommands.Add(Image(status));
        root.Subcommands.Add(Kernel(status));
        root.Subcommands.Add(Listing("list-rules", "List the spec rules, by id.", Commands.ListRules, status));
        root.Subcommands.Add(Listing("list-mutants", "List the mutant zoo: each mutant, the rule it breaks and how.", Commands.ListMutants, status));
        root.Subcommands.Add(Help(root));
        return root;
    }

    static Option<string[]> DutOptions()
    {
        var o = new Option<string[]>("--dut")
        {
            Description = DutHelp + ". Given more than once: an N-version run; each DUT is judged against the model as alone and the DUTs " +
                "against each other, and the report opens with the agreement matrix; cases where every DUT agrees against the model come " +
                "first, as possible model errors (FRED-DUT-13)",
            HelpName = "DUT",
            Required = true,
        };
        o.CompletionSources.Add(_ => DutNames());
        return o;
    }

    static Option<string?> DutOption()
    {
        var o = new Option<string?>("--dut") { Description = "replay against this DUT (default: the model DUT). " + DutHelp, HelpName = "DUT" };
        o.CompletionSources.Add(_ => DutNames());
        return o;
    }

    static IEnumerable<string> DutNames() => ["model", "bochs", "qemu", .. Mutants.All.Select(m => $"mutant:{m.Name}")];

    static Command Run(Dictionary<Command, string> status)
    {
        var dut = DutOptions();
        var count = Int("--count", "cases to generate", 1000, 1);
        var seed = U64("--seed", "seed, decimal or 0x hex (default: random, printed)");
        var from = U64("--from", "index of the first case (default 0): --seed S --from I --count 1 regenerates case I");
        var batch = Int("--batch", "cases per batch", 100, 1, 100_000);
        var profile = Text("--profile", "FILE", "allowed divergences (spec/dut-protocol.md, \"Profiles\")");
        var timeout = Int("--timeout-ms", "per-case answer timeout in milliseconds", 10_000, 1);
        var maxFailures = Int("--max-failures", "stop after N distinct failures (0: never)", 10, 0);
        var maxBroken = Int("--max-broken-in-a-row", "stop the run (exit 2) when N cases in a row broke the DUT: crash, timeout, garbage, " +
            "order or dut-error (0: never)", 10, 0);
        var noShrink = Flag("--no-shrink", "report failures as generated");
        var save = Text("--save", "DIR", "write counterexample files into DIR (default fred-counterexamples)");
        var junit = Text("--junit", "FILE", "write JUnit XML");
        var markdown = Text("--markdown", "FILE", "write a Markdown report");
        var quiet = Flag("--quiet", "no progress display or lines");
        var c = new Command("run", "Run generated cases against a DUT, or against several: an N-version run (FRED-DUT-13). Report " +
            "paths and the counterexample directory are checked before the first case runs.")
        {
            dut, count, seed, from, batch, profile, timeout, maxFailures, maxBroken, noShrink, save, junit, markdown, quiet,
        };
        status[c] = CampaignStatus + "\n130  interrupted (Ctrl-C or SIGTERM): the reports hold the cases run until then, marked INTERRUPTED";
        c.SetAction(p => Guard(() => Commands.Run(new RunSettings(p.GetValue(dut)!, p.GetValue(count), p.GetValue(seed), p.GetValue(from) ?? 0,
            p.GetValue(batch), p.GetValue(profile), p.GetValue(timeout), p.GetValue(maxFailures), p.GetValue(noShrink), p.GetValue(save),
            p.GetValue(junit), p.GetValue(markdown), p.GetValue(quiet), p.GetValue(maxBroken))), "run"));
        return c;
    }

    static Command Replay(Dictionary<Command, string> status)
    {
        var files = new Argument<string[]>("FILE") { Description = "counterexample files, or folders of them (*.json)", Arity = ArgumentArity.OneOrMore };
        var dut = DutOption();
        var profile = Text("--profile", "FILE", "judge with this profile (default: the profile stored in each file)");
        var timeout = Int("--timeout-ms", "per-case answer timeout in milliseconds", 10_000, 1);
        var fromFile = Flag("--dut-from-file", "run the DUT command stored in each file, after printing it: only for files you trust");
        var c = new Command("replay", "Re-run counterexample files, against the model DUT unless --dut is given.") { files, dut, profile, timeout, fromFile };
        status[c] = """
            0  every file's case now agrees (or is declined)
            1  some file still fails, or the DUT broke
            2  bad usage, an unreadable or malformed counterexample file or profile, or a DUT that would not start
            """;
        c.SetAction(p => Guard(() => Commands.Replay(new ReplaySettings(p.GetValue(files)!, p.GetValue(dut), p.GetValue(profile),
            p.GetValue(timeout), p.GetValue(fromFile))), "replay"));
        return c;
    }

    static Command Zoo(Dictionary<Command, string> status)
    {
        var count = Int("--count", "at most N cases per mutant, and N cases to validate the model DUT", 2000, 1);
        var seed = U64("--seed", "seed, decimal or 0x hex (default 1)");
        var batch = Int("--batch", "cases per batch", 100, 1, 100_000);
        var markdown = Text("--markdown", "FILE", "write the kill matrix as Markdown");
        var only = Text("--only", "NAMES", "hunt only these mutants (comma-separated; fred-conform list-mutants lists them)");
        var quiet = Flag("--quiet", "no line per mutant");
        var c = new Command("zoo", "Validate the model DUT over the protocol, then kill every mutant (the kill matrix).") { count, seed, batch, markdown, only, quiet };
        status[c] = """
            0  the model DUT agreed on every case and every mutant was killed
            1  the model DUT disagreed or broke, or a mutant survived
            2  bad usage, or a DUT that would not start
            """;
        c.SetAction(p => Guard(() => Commands.Zoo(new ZooSettings(p.GetValue(count), p.GetValue(seed) ?? 1, p.GetValue(batch), p.GetValue(markdown),
            p.GetValue(only), p.GetValue(quiet))), "zoo"));
        return c;
    }

    static Command Image(Dictionary<Command, string> status)
    {
        var count = Int("--count", "real-event cases in the image", 100, 1, 100_000);
        var seed = U64("--seed", "seed, decimal or 0x hex (default 1)");
        var output = new Option<string?>("--out") { Description = "the disk image to write (required unless --report-only)", HelpName = "FILE" };
        var replay = Text("--replay", "FILE", "an image of the one case of this counterexample file, for a bug report");
        var reportOnly = Flag("--report-only", "print the declines, events and rules of the realised cases without writing an image (which holds " +
            "at most about 2,900 cases), and check that every rule no case reaches is listed as unobservable (FRED-IMG-04)");
        var c = new Command("image", "Compile generated real-event cases into a bootable disk image; the image prints its observations on port " +
            "0xE9 (spec/image-format.md).") { count, seed, output, replay, reportOnly };
        status[c] = """
            0  the image was written
            2  bad usage, an unwritable --out, a counterexample whose case the image cannot raise, or more cases than fit
            """;
        c.SetAction(p => Guard(() => Commands.Image(new ImageSettings(p.GetValue(count), p.GetValue(seed) ?? 1, p.GetValue(output), p.GetValue(replay), p.GetValue(reportOnly))), "image"));
        return c;
    }

    static Command Kernel(Dictionary<Command, string> status)
    {
        var source = new Option<string>("--source") { Description = "the kernel's arch/x86/entry/entry_fred.c, or a patch that creates it", HelpName = "PATH", Required = true };
        var profile = new Option<string>("--profile") { Description = "the reference profile to compare with: rfc2022 or mainline", HelpName = "PROFILE", DefaultValueFactory = _ => "rfc2022" };
        profile.CompletionSources.Add(_ => ["rfc2022", "mainline"]);
        var config = new Option<string>("--config") { Description = "configurations: " + Fred.Kernel.KernelCommand.ConfigHelp, HelpName = "CONFIG", DefaultValueFactory = _ => "all" };
        var declarations = Text("--declarations", "FILE", "C prototypes (one a line) of kernel services the file calls that the stub kernel lacks");
        var junit = Text("--junit", "FILE", "write JUnit XML (one failed test case per disagreeing class)");
        var markdown = Text("--markdown", "FILE", "write a Markdown report");
        var timeout = Int("--timeout-s", "seconds one input may run in the compiled C before it counts as a hang", 10, 1, 3600);
        var c = new Command("kernel", "Compile a kernel's own FRED dispatch (entry_fred.c) against Fred's stub kernel with the system C compiler " +
            "and compare it, input by input over the whole grid, with a reference profile (spec/14-kernel-differential.md).")
            { source, profile, config, declarations, junit, markdown, timeout };
        status[c] = """
            0  every input of the grid agreed with the profile
            1  some input disagreed, or the compiled C crashed or hung on one
            2  bad usage or input (an unreadable or unusable source, a bad --config or declarations file, an unwritable
               report path), no C compiler, or a file that does not build against the stub kernel
            """;
        c.SetAction(p => Fred.Kernel.KernelCommand.Execute(new(p.GetValue(source)!, p.GetValue(profile)!, p.GetValue(config)!, p.GetValue(declarations),
            p.GetValue(junit), p.GetValue(markdown), p.GetValue(timeout)), Console.Out, Console.Error));
        return c;
    }

    static Command Listing(string name, string description, Func<int> list, Dictionary<Command, string> status)
    {
        var c = new Command(name, description);
        status[c] = "0  the list was printed\n2  bad usage (an unknown option or argument)";
        c.SetAction(_ => list());
        return c;
    }

    /// <summary><c>help [COMMAND]</c>, as the old command line had it: the same as <c>[COMMAND] --help</c>.</summary>
    static Command Help(RootCommand root)
    {
        var command = new Argument<string?>("COMMAND") { Arity = ArgumentArity.ZeroOrOne };
        var c = new Command("help", "the usage of fred-conform, or of one command") { command };
        c.Hidden = true;
        c.SetAction(p => CommandLines.Invoke(root, [.. p.GetValue(command) is { } name ? [name] : Array.Empty<string>(), "--help"]));
        return c;
    }

    /// <summary>Runs a command; a mistake in its input or a DUT that would not start is one line on standard error and exit status 2, never a stack trace.</summary>
    static int Guard(Func<int> command, string name)
    {
        try { return command(); }
        catch (UsageException ex) { return Error($"{ex.Message}\n(fred-conform {name} --help for usage)"); }
        catch (ProfileException ex) { return Error($"profile: {ex.Message}"); }
        catch (CounterexampleException ex) { return Error($"counterexample: {ex.Message}"); }
        catch (DutStartException ex) { return Error($"DUT: {ex.Message}"); }
    }

    static int Error(string message)
    {
        Console.Error.WriteLine($"fred-conform: {message}");
        return UsageStatus;
    }
}
