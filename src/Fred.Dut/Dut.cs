using Fred.Model;

namespace Fred.Dut;

/// <summary>An implementation of FRED hardware: applies one step to a state.</summary>
public delegate StepResult Implementation(MachineState state, Step step);

/// <summary>A device under test, driven case by case; answers come back in the order the cases went in.</summary>
public interface IDut : IDisposable
{
    /// <summary>What the DUT said about itself.</summary>
    DutHello Hello { get; }

    /// <summary>Runs a batch of cases; one result per case, in order.</summary>
    IReadOnlyList<CaseResult> Run(IReadOnlyList<DutCase> batch);

    /// <summary>
    /// Runs a batch of cases, but sends no more once <paramref name="stopAfterBroken"/> of them in a row broke (0: never)
    /// or <paramref name="cancel"/> is signalled: the cases not run then get a <see cref="DutBroke"/> of kind
    /// <see cref="DutBroke.NotRun"/> saying why. A DUT that cannot stop early runs the whole batch.
    /// </summary>
    IReadOnlyList<CaseResult> Run(IReadOnlyList<DutCase> batch, int stopAfterBroken, CancellationToken cancel) => Run(batch);
}

/// <summary>Runs a case through an implementation, the way a DUT must: step by step, stopping after a shutdown.</summary>
public static class CaseRunner
{
    /// <summary>The model itself.</summary>
    public static Implementation Model { get; } = (s, step) => step.Apply(s);

    /// <summary>The answers an implementation gives for a case.</summary>
    public static Answered Run(Implementation impl, DutCase c)
    {
        var answers = new List<StepAnswer>(c.Steps.Count);
        var s = c.Initial;
        foreach (var step in c.Steps)
        {
            var r = impl(s, step);
            var writes = s.Memory.DifferingQuadwords(r.State.Memory).Select(a => KeyValuePair.Create(a, r.State.Memory.Peek(a, 8))).ToArray();
            answers.Add(new StepAnswer(r.Outcome, r.State, writes));
            if (r.Outcome.Kind == OutcomeKind.Shutdown) break;
            s = r.State;
        }
        return new Answered(c.Id, answers);
    }
}

/// <summary>An in-process DUT over an implementation (the model or a mutant); no protocol in between.</summary>
public sealed class InProcessDut(string name, Implementation impl, IReadOnlyList<Revision>? revisions = null) : IDut
{
    /// <inheritdoc/>
    public DutHello Hello { get; } = new(name, ProtocolVersion.Current, revisions ?? [Revision.Fred3, Revision.Fred5], DutFeatures.All);

    /// <inheritdoc/>
    public IReadOnlyList<CaseResult> Run(IReadOnlyList<DutCase> batch) => batch.Select(c => (CaseResult)CaseRunner.Run(impl, c)).ToArray();

    /// <inheritdoc/>
    public void Dispose() { }
}

/// <summary>The DUT side of the protocol: reads lines, answers them. The model DUT executable is this loop over the model.</summary>
public static class DutServer
{
    /// <summary>The longest input line the model DUT reads (FRED-DUT-03): far above any case Fred generates.</summary>
    public const long MaxInputLineBytes = 64L << 20;

    /// <summary>
    /// Serves until bye or end of input, reading lines in bounded memory (at most <paramref name="maxLineBytes"/> a line).
    /// Returns the process exit code: 0 after bye, 2 after a protocol error or an over-long line.
    /// </summary>
    public static int Serve(Stream input, TextWriter output, TextWriter errors, DutHello hello, Implementation impl, long maxLineBytes = MaxInputLineBytes)
    {
        output.WriteLine(Wire.Hello(hello));
        output.Flush();
        int lineNo = 0;
        var reader = new LineReader(input, () => maxLineBytes);
        while (reader.Next() is { } read)
        {
            lineNo++;
            if (read.Text is not { } line)
            {
                errors.WriteLine($"fred-model-dut: input line {lineNo} is longer than {read.Limit} bytes");
                return 2;
            }
            if (line.Length == 0) continue;
            Message m;
            try { m = Wire.Decode(line); }
            catch (WireException ex)
            {
                errors.WriteLine($"fred-model-dut: input line {lineNo}: {ex.Message}");
                return 2;
            }
            switch (m)
            {
                case HelloMessage: break;
                case ByeMessage: output.Flush(); return 0;
                case CaseMessage { Case: var c }:
                    CaseResult r = hello.Revisions.Contains(c.Initial.Revision)
                        ? CaseRunner.Run(impl, c)
                        : new Unsupported(c.Id, $"revision {Wire.RevisionName(c.Initial.Revision)} is not implemented");
                    output.WriteLine(Wire.Result(r, c.Initial));
                    output.Flush();
                    break;
                default:
                    errors.WriteLine($"fred-model-dut: input line {lineNo}: a DUT does not accept \"{m.GetType().Name}\" messages");
                    return 2;
            }
        }
        output.Flush();
        return 0;
    }
}
