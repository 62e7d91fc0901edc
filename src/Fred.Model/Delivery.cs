namespace Fred.Model;

/// <summary>FRED event delivery (spec/04-delivery-and-stack-levels.md).</summary>
public static class Delivery
{
    /// <summary>Offset of the ring-0 entry point from the ring-3 entry point.</summary>
    public const ulong KernelEntryOffset = 256;

    /// <summary>Delivers an event, following nested exceptions, #DF and shutdown to the architectural outcome.</summary>
    public static StepResult Deliver(MachineState s, Event e)
    {
        if (!e.IsArchitectural) return StepResult.Unchanged(s, new(OutcomeKind.InvalidEvent, e));
        if (!s.FredEnabled) return StepResult.Unchanged(s, new(OutcomeKind.NotFredMode, e));
        if (IsMasked(s, e)) return StepResult.Unchanged(s, new(OutcomeKind.Masked, e));

        var current = e.Normalized();
        // Each failed attempt escalates (benign -> nested -> #DF -> shutdown), so a handful of rounds always ends.
        for (int round = 0; round < 8; round++)
        {
            var (result, fault) = TryDeliver(s, current);
            if (fault is not { } f) return result;
            if (NestedEvents.Combine(current, f) is not { } next)                       // FRED-NEST-05
                return StepResult.Unchanged(s, new(OutcomeKind.Shutdown, current));
            current = next.Normalized();                                                // FRED-NEST-01, FRED-NEST-04
        }
        return StepResult.Unchanged(s, new(OutcomeKind.Shutdown, current));
    }

    /// <summary>External interrupts wait for IF=1 and no STI blocking; NMIs wait while NMIs are blocked (FRED-TYPE-04).</summary>
    public static bool IsMasked(MachineState s, Event e) => e.Type switch
    {
        EventType.ExternalInterrupt => (s.Rflags & MachineState.FlagIf) == 0 || s.StiBlocked,
        EventType.Nmi => s.NmiBlocked,
        _ => false,
    };

    /// <summary>Entry RIP: CONFIG's entry point for ring-3 events, plus 256 for ring-0 events (FRED-DELIV-01).</summary>
    public static ulong EntryRip(MachineState s) => s.Fred.Config.EntryPoint + (s.Cpl == 0 ? KernelEntryOffset : 0);

    /// <summary>The stack level the event itself asks for (FRED-DELIV-02, FRED-DELIV-03).</summary>
    public static int EventStackLevel(MachineState s, Event e)
    {
        bool ringZeroRule = s.Cpl == 0 || e.Nested || e.IsException(Vector.DF);
        if (!ringZeroRule) return 0;
        return e.Type switch
        {
            EventType.ExternalInterrupt => s.Fred.Config.InterruptStackLevel,
            EventType.Nmi or EventType.HardwareException or EventType.PrivilegedSoftwareException or EventType.SoftwareException
                => s.Fred.StackLevels.For(e.Vector),
            _ => 0,
        };
    }

    /// <summary>The stack level before the event: 0 from ring 3, CONFIG[1:0] from ring 0 (FRED-FRAME-06).</summary>
    public static int OldStackLevel(MachineState s) => s.Cpl == 0 ? s.StackLevel : 0;

    /// <summary>The new stack level: never lower than the old one (FRED-DELIV-04).</summary>
    public static int NewStackLevel(MachineState s, Event e) => Math.Max(EventStackLevel(s, e), OldStackLevel(s));

    /// <summary>True when delivery loads a new stack from IA32_FRED_RSPn (FRED-DELIV-05).</summary>
    public static bool SwitchesStack(MachineState s, int newLevel) => s.Cpl != 0 || newLevel > OldStackLevel(s);

    /// <summary>The address just above the frame: FRED_RSP[level] on a switch, else below the red zone aligned to 64 (FRED-DELIV-05).</summary>
    public static ulong FrameTop(MachineState s, int newLevel) =>
        SwitchesStack(s, newLevel) ? s.Fred.Rsp(newLevel) : (s.Rsp - s.Fred.Config.RedZoneBytes) & ~0x3FUL;

    /// <summary>The frame delivery writes for an (already normalised) event from this state (FRED-FRAME-*).</summary>
    public static Frame BuildFrame(MachineState s, Event e)
    {
        var controls = new EretControls(s.StiBlocked, e.IsSoftwareEvent, e.Type == EventType.Nmi);
        bool wfe = s.Cpl == 0 && s.SupervisorIbt && s.Cet.SupervisorTrackerWaiting;            // FRED-CET-07
        ulong cs = FrameWords.EncodeCs(s.Revision, s.Cs, OldStackLevel(s), wfe, controls);
        ulong ss = FrameWords.EncodeSs(s.Revision, s.Ss, controls, e.Vector, e.Type, s.InEnclave, s.Is64BitMode, e.Nested, e.InstructionLength);
        ulong rflags = e.IsFault ? s.Rflags | MachineState.FlagRf : s.Rflags;                   // FRED-FRAME-05
        return new(e.ErrorCode, s.Rip, cs, rflags, s.Rsp, ss, e.EventData, 0);
    }

    static (StepResult Result, Event? Fault) TryDeliver(MachineState s, Event e)
    {
        ulong entry = EntryRip(s);
        if (!Canonical.IsCanonical(entry)) return (default, Event.GeneralProtection());         // FRED-DELIV-10

        int newLevel = NewStackLevel(s, e);
        ulong top = FrameTop(s, newLevel);
        var frame = BuildFrame(s, e);

        // Step order as spec/04 lays it out: entry point, shadow stack, then the frame.
        var shadow = ShadowStack.OnDelivery(s, newLevel, frame.CsWord);
        if (shadow.Fault is not null) return (default, shadow.Fault);

        // FRED-DELIV-08/09: write every slot from the top down; commit only when all succeed.
        var memory = shadow.Memory;
        var q = frame.ToQuadwords();
        for (int i = 7; i >= 0; i--)
        {
            var (m, fault) = memory.Write(top - 64 + (ulong)(8 * i), 8, q[i], AccessKind.SupervisorWrite);
            if (fault is not null) return (default, fault);
            memory = m;
        }

        var next = s with
        {
            Memory = memory,
            Rip = entry,
            Rsp = top - 64,
            Rflags = 0x2,
            StiBlocked = false,
            PendingSingleStep = false,
            InEnclave = false,
            NmiBlocked = s.NmiBlocked || e.Type == EventType.Nmi,
            Cr2 = e.IsException(Vector.PF) ? e.EventData : s.Cr2,
            Cet = shadow.Cet with { SupervisorTrackerWaiting = false },
        };
        next = next.WithStackLevel(newLevel);
        if (s.Cpl != 0)
        {
            ushort kernelCs = (ushort)((s.Star >> 32) & 0xFFFC);                                 // FRED-DELIV-07
            next = next with
            {
                Cs = kernelCs,
                Ss = (ushort)(kernelCs + 8),
                Is64BitMode = true,
                CsLimit = 0xFFFF_FFFF,
                GsBase = s.KernelGsBase,
                KernelGsBase = s.GsBase,
            };
        }
        return (new(next, new(OutcomeKind.Delivered, e)), null);
    }
}
