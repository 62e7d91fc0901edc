using Fred.Model;

namespace Fred.Dut;

/// <summary>The protocol version this build speaks (spec/dut-protocol.md).</summary>
public static class ProtocolVersion
{
    /// <summary>Version 1: JSON lines, hex-string u64 values, batches answered in order.</summary>
    public const int Current = 1;
}

/// <summary>What a DUT says about itself in its hello line.</summary>
/// <param name="Name">Free-form name and version of the implementation.</param>
/// <param name="Protocol">The protocol version it speaks.</param>
/// <param name="Revisions">The FRED revisions it implements.</param>
/// <param name="Features">Optional features it implements (see <see cref="DutFeatures"/>).</param>
public sealed record DutHello(string Name, int Protocol, IReadOnlyList<Revision> Revisions, IReadOnlyList<string> Features);

/// <summary>Feature names a DUT may announce.</summary>
public static class DutFeatures
{
    /// <summary>CET shadow stacks (supervisor and user) and IBT's WFE bit.</summary>
    public const string Cet = "cet";
    /// <summary>Compatibility-mode contexts (32-bit code under a 64-bit kernel).</summary>
    public const string Compat = "compat";
    /// <summary>
    /// Not an ability but a limit: the DUT raises events only with real instructions and interrupts (a boot image), so
    /// Fred generates cases it can realize (spec/image-format.md).
    /// </summary>
    public const string RealEvents = "real-events";
    /// <summary>Every feature the model DUT announces.</summary>
    public static readonly string[] All = [Cet, Compat];
    /// <summary>Every feature name this build of Fred knows.</summary>
    public static readonly string[] Known = [Cet, Compat, RealEvents];
}

/// <summary>One test case: a revision, an initial state (registers, MSRs, memory) and the steps to run.</summary>
public sealed record DutCase(long Id, MachineState Initial, IReadOnlyList<Step> Steps);

/// <summary>What a DUT reports after one step.</summary>
/// <param name="Outcome">The outcome (for Fault: the exception's vector and error code).</param>
/// <param name="State">The registers and MSRs after the step; its memory is the pre-step memory with <paramref name="Writes"/> applied.</param>
/// <param name="Writes">The quadwords the step wrote, in any order.</param>
public sealed record StepAnswer(Outcome Outcome, MachineState State, IReadOnlyList<KeyValuePair<ulong, ulong>> Writes);

/// <summary>A DUT's answer to one case: an answer per step it ran, or why it could not.</summary>
public abstract record CaseResult(long Id);

/// <summary>The DUT ran the case; one answer per step (it stops after a shutdown).</summary>
public sealed record Answered(long Id, IReadOnlyList<StepAnswer> Steps) : CaseResult(Id);

/// <summary>The DUT declined the case (a feature it does not implement); not a failure, counted apart.</summary>
public sealed record Unsupported(long Id, string Reason) : CaseResult(Id);

/// <summary>The DUT misbehaved on this case: crashed, hung, printed something unparseable or answered out of order.</summary>
/// <param name="Id">The case it was running.</param>
/// <param name="Kind">crash, timeout, garbage or order.</param>
/// <param name="Detail">What happened, with the DUT's output line number and text where there is one.</param>
public sealed record DutBroke(long Id, string Kind, string Detail) : CaseResult(Id)
{
    /// <summary>The kind of a case that was never sent: the run stopped or was interrupted first (the detail says why).</summary>
    public const string NotRun = "not-run";
}
