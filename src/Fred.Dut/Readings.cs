using Fred.Model;

namespace Fred.Dut;

/// <summary>
/// Readings of FRED that differ from the model's where the sources disagree (spec/README.md, "Order of authority"). A
/// profile that allows one declares that the DUT follows it: an answer that equals the model's answer under that reading
/// is accepted. Each reading is an implementation: the model with the one rule read the other way.
/// </summary>
public static class Readings
{
    /// <summary>The implementation of an allowed divergence that is a reading, or null for a divergence that is not.</summary>
    public static Implementation? Of(string divergence) => divergence switch
    {
        DutProfile.StiBitClearForInterruptPath => StiBitClearForInterruptPath,
        DutProfile.SyscallRequiresSce => SyscallRequiresSce,
        DutProfile.SyscallInCompatDelivered => Mutants.Find("syscall-in-compat-delivered")!.Impl,
        DutProfile.EretsCsSelectorCompare => Mutants.Find("erets-cs-selector-compare")!.Impl,
        _ => null,
    };

    /// <summary>The readings a profile allows.</summary>
    public static IEnumerable<Implementation> For(DutProfile profile) =>
        profile.Allowed.Order(StringComparer.Ordinal).Select(Of).OfType<Implementation>();

    /// <summary>
    /// Bochs's reading of FRED-FRAME-10: an event delivered through its common interrupt path (everything but SYSCALL
    /// and SYSENTER) records no STI blocking, because that path clears the inhibit state before building the frame.
    /// </summary>
    static StepResult StiBitClearForInterruptPath(MachineState s, Step step)
    {
        var r = step.Apply(s);
        return s.StiBlocked && r.Outcome.Kind == OutcomeKind.Delivered && r.Outcome.Event.Type != EventType.Other && step is DeliverStep or ExecuteStep
            ? Mutants.WithoutStiBit(r, s.Revision) : r;
    }

    /// <summary>Bochs's reading of FRED-INSN-04: SYSCALL raises #UD when IA32_EFER.SCE is 0, FRED or not.</summary>
    static StepResult SyscallRequiresSce(MachineState s, Step step) =>
        step is ExecuteStep { Bytes: var b } && (s.Efer & 1) == 0
        && EventInstructions.Decode(b, s.Is64BitMode) is { Kind: EventInstructionKind.Syscall, Fault: null }
            ? Delivery.Deliver(s, Event.InvalidOpcode)
            : step.Apply(s);
}
