namespace Fred.Model;

/// <summary>CET shadow-stack behaviour on delivery and return (spec/09-cet-shadow-stacks.md).</summary>
public static class ShadowStack
{
    /// <summary>Error code of #CP for a far-return/IRET-style mismatch.</summary>
    public const ulong FarReturnMismatch = 2;

    /// <summary>The memory and CET state after delivery's shadow-stack work, or the fault it raises.</summary>
    public readonly record struct Effect(Memory Memory, CetState Cet, Event? Fault);

    /// <summary>Delivery's shadow-stack work (FRED-CET-02..04), done before the frame is written.</summary>
    public static Effect OnDelivery(MachineState s, int newLevel, ulong csWord) => OnDelivery(in s, newLevel, csWord);

    internal static Effect OnDelivery(in MachineState s, int newLevel, ulong csWord)
    {
        var cet = s.Cet;
        if (s.Cpl != 0 && s.UserShadowStack)
            cet = cet with { Pl3Ssp = s.Cet.Ssp };                                               // FRED-CET-04
        if (!s.SupervisorShadowStack) return new(s.Memory, cet, null);

        bool switches = Delivery.SwitchesStack(in s, newLevel);
        ulong newSsp = switches ? s.Fred.Ssp(newLevel) : s.Cet.Ssp - (s.Fred.Config.ShadowStackSpace ? 8UL : 0);
        if (switches && (newSsp & 4) != 0) return new(s.Memory, cet, Event.GeneralProtection());  // FRED-CET-02
        if (s.Cpl != 0) return new(s.Memory, cet with { Ssp = newSsp }, null);

        // FRED-CET-03: from ring 0, pad to 8 bytes and push CS word, RIP and the old SSP.
        ulong aligned = newSsp & ~7UL;
        var fault = s.Memory.WriteAll(
        [
            new(newSsp - 4, 4, 0), new(aligned - 8, 8, csWord), new(aligned - 16, 8, s.Rip), new(aligned - 24, 8, s.Cet.Ssp),
        ], AccessKind.ShadowStackWrite, out var memory);
        if (fault is not null) return new(s.Memory, cet, fault);
        return new(memory, cet with { Ssp = aligned - 24 }, null);
    }

    /// <summary>ERETS's shadow-stack check and pop (FRED-CET-05): the new SSP, or the fault.</summary>
    public static (ulong Ssp, Event? Fault) OnErets(MachineState s, ulong rip, ulong csWord, int newLevel) => OnErets(in s, rip, csWord, newLevel);

    internal static (ulong Ssp, Event? Fault) OnErets(in MachineState s, ulong rip, ulong csWord, int newLevel)
    {
        if (!s.SupervisorShadowStack) return (s.Cet.Ssp, null);
        ulong ssp = s.Cet.Ssp;
        // The old SSP, the saved RIP and the saved CS word, read in that order.
        Span<ulong> record = stackalloc ulong[3];
        if (s.Memory.ReadAll(ssp, record, AccessKind.ShadowStackRead) is { } f) return (0, f);
        ulong oldSsp = record[0], savedRip = record[1], savedCs = record[2];
        if (savedRip != rip || (ushort)savedCs != (ushort)csWord)
            return (0, Event.Exception(Vector.CP, FarReturnMismatch));
        if (!Canonical.IsCanonical(oldSsp) || (oldSsp & 3) != 0) return (0, Event.GeneralProtection());
        if (newLevel < s.StackLevel && ssp + 24 != s.Fred.Ssp(s.StackLevel))
            return (0, Event.Exception(Vector.CP, FarReturnMismatch));
        return (oldSsp, null);
    }

    /// <summary>ERETU's shadow-stack check and switch (FRED-CET-06): the new SSP and PL3_SSP-derived value, or the fault.</summary>
    public static (ulong Ssp, Event? Fault) OnEretu(MachineState s, bool to64Bit) => OnEretu(in s, to64Bit);

    internal static (ulong Ssp, Event? Fault) OnEretu(in MachineState s, bool to64Bit)
    {
        if (s.SupervisorShadowStack && s.Cet.Ssp != s.Fred.Ssp0)
            return (0, Event.Exception(Vector.CP, FarReturnMismatch));
        if (!s.UserShadowStack) return (s.Cet.Ssp, null);
        if (!to64Bit && (s.Cet.Pl3Ssp >> 32) != 0) return (0, Event.GeneralProtection());
        return (s.Cet.Pl3Ssp, null);
    }
}
