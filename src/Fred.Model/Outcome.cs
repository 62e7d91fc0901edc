namespace Fred.Model;

/// <summary>What a step did, as an architectural outcome (never an exception).</summary>
public enum OutcomeKind
{
    /// <summary>An event was delivered; Event is the event actually delivered (possibly a nested exception or #DF).</summary>
    Delivered,
    /// <summary>ERETU or ERETS completed.</summary>
    Returned,
    /// <summary>An instruction (WRMSR, MOV CR4, INTO with OF=0) completed without an event.</summary>
    Completed,
    /// <summary>The instruction faulted; Event is the exception; the state is unchanged.</summary>
    Fault,
    /// <summary>The event is masked (IF=0, STI blocking, NMI blocking) and stays pending; the state is unchanged.</summary>
    Masked,
    /// <summary>A fault while delivering #DF: the processor shuts down; the state is unchanged.</summary>
    Shutdown,
    /// <summary>The event is not one hardware can produce (FRED-TYPE-02); nothing happens.</summary>
    InvalidEvent,
    /// <summary>The step needs FRED mode (CR4.FRED=1) for delivery; IDT delivery is outside the model.</summary>
    NotFredMode,
}

/// <summary>The outcome of a step, with the event delivered or the fault raised.</summary>
public readonly record struct Outcome(OutcomeKind Kind, Event Event = default)
{
    /// <summary>Completed without an event.</summary>
    public static Outcome Completed => new(OutcomeKind.Completed);
    /// <summary>ERET completed.</summary>
    public static Outcome Returned => new(OutcomeKind.Returned);
    /// <summary>A fault.</summary>
    public static Outcome Faulted(Event e) => new(OutcomeKind.Fault, e);

    /// <inheritdoc/>
    public override string ToString() => Kind switch
    {
        OutcomeKind.Delivered => $"delivered {Event}",
        OutcomeKind.Fault => $"fault {Event}",
        _ => Kind.ToString(),
    };
}

/// <summary>The state after a step and what happened.</summary>
public readonly record struct StepResult(MachineState State, Outcome Outcome)
{
    /// <summary>A result that leaves the state as it was.</summary>
    public static StepResult Unchanged(MachineState s, Outcome o) => new(s, o);
}
