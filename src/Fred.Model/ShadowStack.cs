namespace Fred.Model;

/// <summary>CET shadow-stack behaviour on delivery and return (spec/09-cet-shadow-stacks.md).</summary>
public static class ShadowStack
{
    /// <summary>Error code of #CP for a far-return/IRET-style mismatch.</summary>
    public const ulong FarReturnMismatch = 2;

    /// <summary>The memory and CET state after delivery's shadow-stack work, or the fault it raises.</summary>
    public readonly record struct Effect(Memory Memory, CetState Cet, Event? Fault);

    /// <summary>
    /// The SSP delivery moves to when supervisor shadow stacks are active (FRED-CET-02), or the #GP(0) for a new
    /// level's SSP with bit 2 set. Chosen before any memory is written.
    /// </summary>
    public static (ulong Ssp, Event? Fault) NewSsp(MachineState s, int newLevel) => NewSsp(in s, newLevel);

    internal static (ulong Ssp, Event? Fault) NewSsp(in MachineState s, int newLevel)
    {
        if (!Delivery.SwitchesStack(in s, newLevel))
            return (s.Cet.Ssp - (s.Fred.Config.ShadowStackSpace ? 8UL : 0), null);
        ulong ssp = s.Fred.Ssp(newLevel);
        return (ssp & 4) != 0 ? (0, Event.GeneralProtection()) : (ssp, null);
    }

    /// <summary>
    /// Delivery's shadow-stack work after the frame is written (FRED-CET-03, FRED-CET-04): from ring 0, pad to 8
    /// bytes and push CS word, RIP and the old SSP on <paramref name="memory"/>; from ring 3, save the user SSP.
    /// </summary>
    public static Effect OnDelivery(MachineState s, Memory memory, ulong newSsp, ulong csWord) => OnDelivery(in s, memory, newSsp, csWord);

    internal static Effect OnDelivery(in MachineState s, Memory memory, ulong newSsp, ulong csWord)
    {
        var cet = s.Cet;
        if (s.Cpl != 0 && s.UserShadowStack)
            cet = cet with { Pl3Ssp = Canonical.SignExtend(s.Cet.Ssp) };                        // FRED-CET-04
        if (!s.SupervisorShadowStack) return new(memory, cet, null);
        if (s.Cpl != 0) return new(memory, cet with { Ssp = newSsp }, null);

        ulong aligned = newSsp & ~7UL;
        var fault = memory.WriteAll(
        [
            new(newSsp - 4, 4, 0), new(aligned - 8, 8, csWord), new(aligned - 16, 8, s.Rip), new(aligned - 24, 8, s.Cet.Ssp),
        ], AccessKind.ShadowStackWrite, out var written);
        return fault is not null ? new(memory, cet, fault) : new(written, cet with { Ssp = aligned - 24 }, null);
    }

    /// <summary>ERETS's shadow-stack checks and pop (FRED-CET-05): the new SSP, or the fault.</summary>
    public static (ulong Ssp, Event? Fault) OnErets(MachineState s, ulong rip, ulong csWord, int newLevel) => OnErets(in s, rip, csWord, newLevel);

    internal static (ulong Ssp, Event? Fault) OnErets(in MachineState s, ulong rip, ulong csWord, int newLevel)
    {
        if (!s.SupervisorShadowStack) return (s.Cet.Ssp, null);
        ulong ssp = s.Cet.Ssp;
        if ((ssp & 7) != 0) return (0, Event.Exception(Vector.CP, FarReturnMismatch));
        // The old SSP, the saved RIP and the saved CS word, read in that order.
        Span<ulong> record = stackalloc ulong[3];
        if (s.Memory.ReadAll(ssp, record, AccessKind.ShadowStackRead) is { } f) return (0, f);
        ulong oldSsp = record[0], savedRip = record[1], savedCs = record[2];
        if (savedCs != csWord || savedRip != rip || (oldSsp & 3) != 0)
            return (0, Event.Exception(Vector.CP, FarReturnMismatch));
        if (!Canonical.IsCanonical(oldSsp)) return (0, Event.GeneralProtection());
        if (newLevel < s.StackLevel && ssp + 24 != s.Fred.Ssp(s.StackLevel))
            return (0, Event.Exception(Vector.CP, FarReturnMismatch));
        return (oldSsp, null);
    }

    /// <summary>ERETU's shadow-stack checks and switch (FRED-CET-06): the new SSP, or the fault.</summary>
    public static (ulong Ssp, Event? Fault) OnEretu(MachineState s, bool to64Bit) => OnEretu(in s, to64Bit);

    internal static (ulong Ssp, Event? Fault) OnEretu(in MachineState s, bool to64Bit)
    {
        if (s.UserShadowStack && !to64Bit && (s.Cet.Pl3Ssp >> 32) != 0) return (0, Event.GeneralProtection());
        if (s.SupervisorShadowStack && s.Cet.Ssp != s.Fred.Ssp0)
            return (0, Event.Exception(Vector.CP, FarReturnMismatch));
        return (s.UserShadowStack ? s.Cet.Pl3Ssp : s.Cet.Ssp, null);
    }
}
