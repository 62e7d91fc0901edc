using System.Runtime.CompilerServices;

namespace Fred.Model;

/// <summary>FRED event delivery (spec/04-delivery-and-stack-levels.md).</summary>
public static class Delivery
{
    /// <summary>Offset of the ring-0 entry point from the ring-3 entry point.</summary>
    public const ulong KernelEntryOffset = 256;

    /// <summary>Delivers an event, following nested exceptions, #DF and shutdown to the architectural outcome.</summary>
    public static StepResult Deliver(MachineState s, Event e) => Deliver(in s, in s, e, Deviations.None);

    /// <summary>Delivers an event as a processor with the given deviations from the spec would (the mutant zoo's use).</summary>
    public static StepResult Deliver(MachineState s, Event e, Deviations deviations) => Deliver(in s, in s, e, deviations);

    /// <summary>
    /// Delivers the event an instruction raised: the event itself from <paramref name="after"/> (RIP past the
    /// instruction, RF cleared), but an exception raised while delivering it from <paramref name="before"/>, since the
    /// instruction has not completed (FRED-NEST-07). A shutdown leaves <paramref name="before"/> in place.
    /// </summary>
    public static StepResult DeliverFromInstruction(MachineState before, MachineState after, Event e, Deviations deviations = Deviations.None) =>
        Deliver(in after, in before, e, deviations);

    // The state is large: the work below takes it by reference and builds the delivered state in one copy.
    // The first attempt is made from eventContext; an exception raised by delivery is delivered from faultContext.
    static StepResult Deliver(in MachineState eventContext, in MachineState faultContext, Event e, Deviations deviations)
    {
        ref readonly var s = ref eventContext;
        if (!e.IsArchitectural) return Unchanged(in faultContext, new(OutcomeKind.InvalidEvent, e));
        if (!s.FredEnabled) return Unchanged(in faultContext, new(OutcomeKind.NotFredMode, e));
        if (IsMasked(in s, in e)) return Unchanged(in faultContext, new(OutcomeKind.Masked, e));

        var current = e.Normalized();
        var delivered = TryDeliver(in s, in current, deviations, out var fault);
        if (fault is null) return delivered;
        // Each failed attempt escalates (benign -> nested -> #DF -> shutdown), so a handful of rounds always ends.
        ulong? cr2 = null;
        for (int round = 0; round < 8; round++)
        {
            // CR2 is written whenever a page fault is detected, even one that becomes #DF (FRED-DATA-01).
            if (fault.Value.IsException(Vector.PF)) cr2 = fault.Value.EventData;
            if (NestedEvents.Combine(current, fault.Value, deviations) is not { } next)            // FRED-NEST-05
                return Unchanged(in faultContext, new(OutcomeKind.Shutdown, current));
            current = next.Normalized();                                                        // FRED-NEST-01, FRED-NEST-04
            delivered = TryDeliver(in faultContext, in current, deviations, out fault);
            if (fault is null)
                // NMI blocking began when the NMI's delivery began, and its failure does not end it (FRED-NEST-09).
                return AfterFailedAttempts(delivered, e.Type == EventType.Nmi, current.IsException(Vector.PF) ? null : cr2);
        }
        return Unchanged(in faultContext, new(OutcomeKind.Shutdown, current));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    static StepResult AfterFailedAttempts(StepResult r, bool nmi, ulong? cr2) =>
        !nmi && cr2 is null ? r : r with { State = r.State with { NmiBlocked = r.State.NmiBlocked || nmi, Cr2 = cr2 ?? r.State.Cr2 } };

    // Outcomes that leave the state as it was are the rare paths: kept out of line so the hot path holds no copy of the state.
    [MethodImpl(MethodImplOptions.NoInlining)]
    static StepResult Unchanged(in MachineState s, Outcome o) => StepResult.Unchanged(s, o);

    /// <summary>External interrupts wait for IF=1 and no STI blocking; NMIs wait while NMIs are blocked (FRED-TYPE-04).</summary>
    public static bool IsMasked(MachineState s, Event e) => IsMasked(in s, in e);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static bool IsMasked(in MachineState s, in Event e) => e.Type switch
    {
        EventType.ExternalInterrupt => (s.Rflags & MachineState.FlagIf) == 0 || s.StiBlocked,
        EventType.Nmi => s.NmiBlocked,
        _ => false,
    };

    /// <summary>Entry RIP: CONFIG's entry point for ring-3 events, plus 256 for ring-0 events (FRED-DELIV-01).</summary>
    public static ulong EntryRip(MachineState s) => EntryRip(in s);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static ulong EntryRip(in MachineState s) => s.Fred.Config.EntryPoint + (s.Cpl == 0 ? KernelEntryOffset : 0);

    /// <summary>The stack level the event itself asks for (FRED-DELIV-02, FRED-DELIV-03).</summary>
    public static int EventStackLevel(MachineState s, Event e) => EventStackLevel(in s, in e);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static int EventStackLevel(in MachineState s, in Event e)
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
    public static int OldStackLevel(MachineState s) => OldStackLevel(in s);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static int OldStackLevel(in MachineState s) => s.Cpl == 0 ? s.StackLevel : 0;

    /// <summary>The new stack level: never lower than the old one (FRED-DELIV-04).</summary>
    public static int NewStackLevel(MachineState s, Event e) => NewStackLevel(in s, in e);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static int NewStackLevel(in MachineState s, in Event e) => Math.Max(EventStackLevel(in s, in e), OldStackLevel(in s));

    /// <summary>True when delivery loads a new stack from IA32_FRED_RSPn (FRED-DELIV-05).</summary>
    public static bool SwitchesStack(MachineState s, int newLevel) => SwitchesStack(in s, newLevel);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static bool SwitchesStack(in MachineState s, int newLevel) => s.Cpl != 0 || newLevel > OldStackLevel(in s);

    /// <summary>The address just above the frame: FRED_RSP[level] on a switch, else below the red zone aligned to 64 (FRED-DELIV-05).</summary>
    public static ulong FrameTop(MachineState s, int newLevel) => FrameTop(in s, newLevel);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static ulong FrameTop(in MachineState s, int newLevel) =>
        SwitchesStack(in s, newLevel) ? s.Fred.Rsp(newLevel) : (s.Rsp - s.Fred.Config.RedZoneBytes) & ~0x3FUL;

    /// <summary>The frame delivery writes for an (already normalised) event from this state (FRED-FRAME-*).</summary>
    public static Frame BuildFrame(MachineState s, Event e) => BuildFrame(in s, in e);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Frame BuildFrame(in MachineState s, in Event e)
    {
        var controls = new EretControls(s.StiBlocked, e.IsSoftwareEvent, e.Type == EventType.Nmi);
        bool wfe = s.Cpl == 0 && s.SupervisorIbt && s.Cet.SupervisorTrackerWaiting;            // FRED-CET-07
        ulong cs = FrameWords.EncodeCs(s.Revision, s.Cs, OldStackLevel(in s), wfe, controls);
        ulong ss = FrameWords.EncodeSs(s.Revision, s.Ss, controls, e.Vector, e.Type, s.InEnclave, s.Is64BitMode, e.Nested, e.InstructionLength);
        ulong rflags = e.IsFault ? s.Rflags | MachineState.FlagRf                               // FRED-FRAME-05
            : e.CarriesInstructionLength ? s.Rflags & ~MachineState.FlagRf : s.Rflags;          // FRED-FRAME-09
        return new(e.ErrorCode, s.Rip, cs, rflags, s.Rsp, ss, e.EventData, 0);
    }

    /// <summary>One delivery attempt: the delivered result, or the fault it raises (and a default result).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    static StepResult TryDeliver(in MachineState s, in Event e, Deviations deviations, out Event? fault)
    {
        // Step order as spec/04 lays it out: entry point, new SSP, the frame, then the shadow-stack record.
        ulong entry = EntryRip(in s);
        fault = Canonical.IsCanonical(entry) ? null : Event.GeneralProtection();                // FRED-DELIV-10
        if (fault is not null) return default;

        int newLevel = NewStackLevel(in s, in e);
        ulong top = FrameTop(in s, newLevel);
        var frame = BuildFrame(in s, in e);
        ulong newSsp = s.Cet.Ssp;
        if (s.SupervisorShadowStack)
        {
            (newSsp, fault) = ShadowStack.NewSsp(in s, newLevel);                                 // FRED-CET-02
            if (fault is not null) return default;
        }

        // With no shadow stack in use the record step changes nothing, so the common case skips the call.
        bool shadowWork = s.SupervisorShadowStack || (s.Cpl != 0 && s.UserShadowStack);
        var memory = s.Memory;
        var cet = s.Cet;
        if (shadowWork && (deviations & Deviations.ShadowStackRecordFirst) != 0)
        {
            var early = ShadowStack.OnDelivery(in s, memory, newSsp, frame.CsWord);
            fault = early.Fault;
            if (fault is not null) return default;
            (memory, cet, shadowWork) = (early.Memory, early.Cet, false);
        }

        // FRED-DELIV-08/09: write every slot from the top down; commit only when all succeed.
        fault = memory.WriteAll(
        [
            new(top - 8, 8, frame.Reserved), new(top - 16, 8, frame.EventData), new(top - 24, 8, frame.SsWord),
            new(top - 32, 8, frame.Rsp), new(top - 40, 8, frame.Rflags), new(top - 48, 8, frame.CsWord),
            new(top - 56, 8, frame.Rip), new(top - 64, 8, frame.ErrorCode),
        ], AccessKind.SupervisorWrite, out memory);
        if (fault is not null) return default;

        if (shadowWork)
        {
            var shadow = ShadowStack.OnDelivery(in s, memory, newSsp, frame.CsWord);              // FRED-CET-03, FRED-CET-04
            fault = shadow.Fault;
            if (fault is not null) return default;
            (memory, cet) = (shadow.Memory, shadow.Cet);
        }

        // From ring 3 the kernel's selectors, 64-bit mode and swapped GS bases come in too (FRED-DELIV-07).
        bool fromUser = s.Cpl != 0;
        ushort kernelCs = (ushort)((s.Star >> 32) & 0xFFFC);
        return new(s with
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
            Cet = cet with { SupervisorTrackerWaiting = false },
            Fred = s.Fred with { Config = s.Fred.Config.WithCurrentStackLevel(newLevel) },
            Cs = fromUser ? kernelCs : s.Cs,
            Ss = fromUser ? (ushort)(kernelCs + 8) : s.Ss,
            Is64BitMode = fromUser || s.Is64BitMode,
            CsLimit = fromUser ? 0xFFFF_FFFF : s.CsLimit,
            GsBase = fromUser ? s.KernelGsBase : s.GsBase,
            KernelGsBase = fromUser ? s.GsBase : s.KernelGsBase,
        }, new(OutcomeKind.Delivered, e));
    }
}
