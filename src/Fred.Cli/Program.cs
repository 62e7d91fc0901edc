using Fred.Cli;
using Fred.Dut;

// fred-conform: drives a FRED implementation (a DUT) through the protocol of spec/dut-protocol.md and tells, rule by
// rule, where it differs from the model.

const string Usage = """
fred-conform: FRED conformance against the Fred model (spec/dut-protocol.md)

usage:
  fred-conform run --dut DUT [options]       run generated cases against a DUT
  fred-conform run --dut A --dut B ...       N-version: every case on the model and on each DUT, who agrees with whom
  fred-conform replay FILE... [--dut DUT]    re-run counterexample files (against the model DUT unless --dut is
                                             given; --dut-from-file runs the command stored in the file, after
                                             printing it: only for files you trust)
  fred-conform zoo [options]                 validate the model DUT, then kill every mutant (the kill matrix)
  fred-conform image --out FILE [options]    compile generated real-event cases into a bootable disk image
  fred-conform list-rules                    the spec rules, by id
  fred-conform list-mutants                  the mutant zoo

DUT is "model" (the model DUT shipped with Fred), "mutant:NAME", "bochs" or "bochs:ARGS" (fred-bochs-dut, the Bochs
adapter shipped with Fred, with its arguments), "qemu" or "qemu:ARGS" (fred-qemu-dut, the QEMU and KVM adapter, with
its arguments, e.g. "qemu:--accel kvm"), or any command line that speaks the protocol.

image options: --count N (default 100), --seed S (default 1), --out FILE (required), --replay FILE (an image of
the one case of a counterexample file, for a bug report); the image prints its observations on port 0xE9
(spec/image-format.md).

run options:
  --count N           cases to generate (default 1000)
  --seed S            seed, decimal or 0x hex (default: random, printed)
  --from I            index of the first case (default 0): --seed S --from I --count 1 regenerates case I
  --batch N           cases per batch (default 100)
  --profile FILE      allowed divergences (see spec/dut-protocol.md, "Profiles")
  --timeout-ms N      per-case answer timeout (default 10000)
  --max-failures N    stop after N distinct failures (default 10; 0 = never)
  --max-broken-in-a-row N
                      stop (exit 2) when N cases in a row broke: crash, timeout, garbage, order
                      or dut-error (default 10; 0 = never)
  --no-shrink         report failures as generated
  --save DIR          write counterexample files into DIR (default fred-counterexamples)
  --junit FILE        write JUnit XML
  --markdown FILE     write a Markdown report
  --quiet             no progress lines

With --dut given more than once, each DUT is judged against the model as alone, the DUTs against each other, and the
report opens with the agreement matrix; cases where every DUT agrees against the model come first, as possible model
errors (spec/dut-protocol.md, FRED-DUT-13).

exit status: 130 interrupted (Ctrl-C, SIGTERM; the reports hold the cases run until then); 0 every case agreed; 1 some case disagreed or the DUT broke; 2 bad usage, input or DUT start, or the
run stopped because the DUT kept breaking or could not be restarted.
""";

if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
{
    Console.Write(Usage);
    return args.Length == 0 ? 2 : 0;
}

// Ctrl-C and SIGTERM end the run after the case in progress: the reports are written with what is known, marked
// interrupted, the DUT's process tree is ended, and the exit status is 130.
using var interrupt = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; interrupt.Cancel(); };
using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM,
    c => { c.Cancel = true; interrupt.Cancel(); });

try
{
    var rest = args.Skip(1).ToArray();
    return args[0] switch
    {
        "run" => Commands.Run(Args.Parse("run", rest,
            ["--dut", "--count", "--seed", "--from", "--batch", "--profile", "--timeout-ms", "--max-failures", "--max-broken-in-a-row", "--save", "--junit", "--markdown"],
            ["--no-shrink", "--quiet"], ["--dut"]), interrupt.Token),
        "replay" => Commands.Replay(Args.Parse("replay", rest, ["--dut", "--profile", "--timeout-ms"], ["--dut-from-file"])),
        "zoo" => Commands.Zoo(Args.Parse("zoo", rest, ["--count", "--seed", "--batch", "--markdown", "--only"], ["--quiet"])),
        "image" => Commands.Image(Args.Parse("image", rest, ["--count", "--seed", "--out", "--replay"], [])),
        "list-rules" => Commands.ListRules(Args.Parse("list-rules", rest, [], [])),
        "list-mutants" => Commands.ListMutants(Args.Parse("list-mutants", rest, [], [])),
        _ => throw new UsageException($"unknown command \"{args[0]}\" (run, replay, zoo, image, list-rules, list-mutants; --help for usage)"),
    };
}
catch (UsageException ex) { return Error(ex.Message + "\n(fred-conform --help for usage)"); }
catch (ProfileException ex) { return Error($"profile: {ex.Message}"); }
catch (CounterexampleException ex) { return Error($"counterexample: {ex.Message}"); }
catch (DutStartException ex) { return Error($"DUT: {ex.Message}"); }

static int Error(string message)
{
    Console.Error.WriteLine($"fred-conform: {message}");
    return 2;
}
