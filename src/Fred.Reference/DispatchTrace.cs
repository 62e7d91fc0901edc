using System.Collections.Immutable;

namespace Fred.Reference;

/// <summary>One kernel call in a dispatch trace, named exactly as the kernel names it.</summary>
/// <param name="Function">The kernel function (or macro) called, e.g. "exc_general_protection".</param>
/// <param name="Arguments">Its arguments as the kernel passes them, e.g. "regs, 0".</param>
public readonly record struct KernelCall(string Function, string Arguments = "regs")
{
    /// <inheritdoc/>
    public override string ToString() => $"{Function}({Arguments})";
}

/// <summary>How the event ended for the kernel.</summary>
public enum Fate
{
    /// <summary>A handler ran and the entry code returns with ERET.</summary>
    Handled,
    /// <summary>WARN_ON_ONCE fired and the event was dropped; the entry code returns.</summary>
    Warned,
    /// <summary>The task oopsed (fred_bad_event / fred_bad_type at stack level 0) and oops_end killed it with SIGKILL.</summary>
    Oops,
    /// <summary>The task oopsed, but <c>__die</c> returned non-zero (a die notifier said NOTIFY_STOP), so oops_end got
    /// signal 0, the task lives on and the entry code returns with ERET (FRED-KRN-10).</summary>
    Survived,
    /// <summary>The kernel panicked (fatal event at a raised stack level): nothing returns.</summary>
    Panic,
}

/// <summary>The result of dispatching one event: the calls made, pt_regs as dispatch left it, and the fate.</summary>
public sealed record DispatchResult(ImmutableArray<KernelCall> Trace, PtRegs Regs, Fate Fate)
{
    /// <summary>The trace as one line: "fred_entry_from_user(regs) -> fred_hwexc(regs, 0xe) -> ...".</summary>
    public string TraceText => string.Join(" -> ", Trace);

    /// <inheritdoc/>
    public override string ToString() => $"{Fate}: {TraceText}";
}

/// <summary>Builds a trace as dispatch runs; a small immutable accumulator.</summary>
public readonly record struct Tracer(ImmutableArray<KernelCall> Calls)
{
    /// <summary>An empty trace.</summary>
    public static Tracer Start => new(ImmutableArray<KernelCall>.Empty);

    /// <summary>The trace with one more call.</summary>
    public Tracer Call(string function, string arguments = "regs") => new(Calls.Add(new(function, arguments)));

    /// <summary>Finishes with the final registers and fate.</summary>
    public DispatchResult End(PtRegs regs, Fate fate) => new(Calls, regs, fate);
}
