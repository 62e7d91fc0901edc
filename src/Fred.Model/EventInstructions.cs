namespace Fred.Model;

/// <summary>The instructions that raise FRED events (spec/10-instructions.md).</summary>
public enum EventInstructionKind
{
    /// <summary>INT n (CD ib).</summary>
    IntN,
    /// <summary>INT3 (CC).</summary>
    Int3,
    /// <summary>INT1 / ICEBP (F1).</summary>
    Int1,
    /// <summary>INTO (CE), compatibility mode only.</summary>
    Into,
    /// <summary>SYSCALL (0F 05).</summary>
    Syscall,
    /// <summary>SYSENTER (0F 34).</summary>
    Sysenter,
}

/// <summary>A decoded event instruction: kind, INT n's immediate, total length; or the fault decoding raises.</summary>
public readonly record struct DecodedEventInstruction(EventInstructionKind Kind, byte Immediate, int Length, Event? Fault);

/// <summary>Decodes and executes INT n, INT3, INT1, INTO, SYSCALL and SYSENTER (FRED-INSN-01..05).</summary>
public static class EventInstructions
{
    /// <summary>The longest legal x86 instruction.</summary>
    public const int MaxLength = 15;

    /// <summary>
    /// Decodes the instruction at the start of <paramref name="bytes"/>. Null when the bytes are not one of the
    /// event instructions (or are cut short); a decoded value with a fault for LOCK, over-long or mode-illegal forms.
    /// </summary>
    public static DecodedEventInstruction? Decode(ReadOnlySpan<byte> bytes, bool is64BitMode)
    {
        int i = 0;
        bool locked = false;
        // Legacy prefixes in any order; in 64-bit mode REX bytes too (a REX not last is ignored, but still counts in the length).
        while (i < bytes.Length && (IsLegacyPrefix(bytes[i]) || (is64BitMode && bytes[i] is >= 0x40 and <= 0x4F)))
        {
            locked |= bytes[i] == 0xF0;
            i++;
        }
        if (i >= bytes.Length) return null;
        EventInstructionKind kind;
        byte imm = 0;
        int end;
        switch (bytes[i])
        {
            case 0xCD when i + 1 < bytes.Length: kind = EventInstructionKind.IntN; imm = bytes[i + 1]; end = i + 2; break;
            case 0xCC: kind = EventInstructionKind.Int3; end = i + 1; break;
            case 0xF1: kind = EventInstructionKind.Int1; end = i + 1; break;
            case 0xCE: kind = EventInstructionKind.Into; end = i + 1; break;
            case 0x0F when i + 1 < bytes.Length && bytes[i + 1] == 0x05: kind = EventInstructionKind.Syscall; end = i + 2; break;
            case 0x0F when i + 1 < bytes.Length && bytes[i + 1] == 0x34: kind = EventInstructionKind.Sysenter; end = i + 2; break;
            default: return null;
        }
        Event? fault = end > MaxLength ? Event.GeneralProtection()                                   // FRED-INSN-03
            : locked ? Event.InvalidOpcode
            : kind == EventInstructionKind.Into && is64BitMode ? Event.InvalidOpcode
            : kind == EventInstructionKind.Syscall && !is64BitMode ? Event.InvalidOpcode               // FRED-INSN-04
            : null;
        return new(kind, imm, Math.Min(end, MaxLength), fault);
    }

    static bool IsLegacyPrefix(byte b) => b is 0x66 or 0x67 or 0xF2 or 0xF3 or 0xF0 or 0x2E or 0x36 or 0x3E or 0x26 or 0x64 or 0x65;

    /// <summary>The event an instruction raises (FRED-INSN-01), or null for INTO with OF=0.</summary>
    public static Event? EventFor(DecodedEventInstruction d, ulong rflags) => d.Kind switch
    {
        EventInstructionKind.IntN => new Event(EventType.SoftwareInterrupt, d.Immediate, InstructionLength: (byte)d.Length),
        EventInstructionKind.Int3 => new Event(EventType.SoftwareException, Vector.BP, InstructionLength: (byte)d.Length),
        EventInstructionKind.Int1 => new Event(EventType.PrivilegedSoftwareException, Vector.DB, InstructionLength: (byte)d.Length),
        EventInstructionKind.Into => (rflags & MachineState.FlagOf) != 0
            ? new Event(EventType.SoftwareException, Vector.OF, InstructionLength: (byte)d.Length) : null,
        EventInstructionKind.Syscall => new Event(EventType.Other, Vector.Syscall, InstructionLength: (byte)d.Length),
        _ => new Event(EventType.Other, Vector.Sysenter, InstructionLength: (byte)d.Length),
    };

    /// <summary>
    /// Executes the event instruction at RIP given its bytes: faults are delivered at the instruction,
    /// events after it (FRED-INSN-02); INTO with OF=0 just advances RIP. Bytes that are no event instruction: #UD.
    /// </summary>
    public static StepResult Execute(MachineState s, ReadOnlySpan<byte> bytes) => Execute(s, bytes, Deviations.None);

    /// <summary>Executes the event instruction as a processor with the given deviations from the spec would (the mutant zoo's use).</summary>
    public static StepResult Execute(MachineState s, ReadOnlySpan<byte> bytes, Deviations deviations)
    {
        if (Decode(bytes, s.Is64BitMode) is not { } d) return Delivery.Deliver(s, Event.InvalidOpcode, deviations);
        if (d.Fault is { } f) return Delivery.Deliver(s, f, deviations);
        ulong next = s.Rip + (ulong)d.Length;
        if (!s.Is64BitMode) next &= 0xFFFF_FFFF;
        // RF is cleared as every instruction starts (FRED-FRAME-09), so neither the event's frame nor the state after
        // an INTO that raises nothing keeps it.
        // The instruction runs in any STI shadow still in effect, so the event's frame records it (FRED-FRAME-10);
        // delivery, or the instruction's completion, ends it.
        var after = s with { Rip = next, Rflags = s.Rflags & ~MachineState.FlagRf };
        if (EventFor(d, s.Rflags) is not { } e) return new(after with { StiBlocked = false }, Outcome.Completed);
        // An exception raised while delivering the event is reported on the instruction, which has not completed
        // (FRED-NEST-07); a delivery that ends in shutdown leaves the state as it was before the instruction.
        var r = Delivery.DeliverFromInstruction(s, after, e, deviations);
        return r.Outcome.Kind == OutcomeKind.Delivered ? r : StepResult.Unchanged(s, r.Outcome);
    }
}
