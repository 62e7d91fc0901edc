using Fred.Model;

namespace Fred.Dut;

/// <summary>A deliberately wrong implementation: the model with one rule broken.</summary>
/// <param name="Name">Its name (fred-model-dut --mutant NAME).</param>
/// <param name="Rule">The spec rule it breaks.</param>
/// <param name="Breaks">What it does wrong.</param>
/// <param name="History">The public bug it reproduces, if it is a historical one.</param>
/// <param name="Impl">The implementation.</param>
public sealed record Mutant(string Name, string Rule, string Breaks, string? History, Implementation Impl);

/// <summary>
/// The mutant zoo: each member breaks one rule of the model, so each must be killed by a campaign at default counts.
/// Mutants adjust the model's input before a step or its result after, so each stays a faithful model elsewhere.
/// </summary>
public static class Mutants
{
    static StepResult Model(MachineState s, Step step) => step.Apply(s);

    static bool IsDelivery(Step step) => step is DeliverStep or ExecuteStep;

    static bool Delivered(StepResult r) => r.Outcome.Kind == OutcomeKind.Delivered;

    /// <summary>Replaces frame slot n (0 = error code ... 7 = reserved) of a frame just delivered.</summary>
    static StepResult Slot(StepResult r, int slot, Func<ulong, ulong> f)
    {
        ulong a = r.State.Rsp + 8UL * (ulong)slot;
        return r with { State = r.State with { Memory = r.State.Memory.Poke(a, 8, f(r.State.Memory.Peek(a, 8))) } };
    }

    /// <summary>The delivered frame with its STI bit clear: SS word bit 16 under FRED 5, CS word bit 24 under FRED 3.</summary>
    internal static StepResult WithoutStiBit(StepResult r, Revision revision) =>
        revision == Revision.Fred5 ? Slot(r, 5, w => w & ~(1UL << 16)) : Slot(r, 2, w => w & ~(1UL << 24));

    /// <summary>Address of frame slot n as ERET reads it (FRED 3 software has dropped the error code).</summary>
    static ulong EretSlot(MachineState s, int slot) => s.Rsp + 8UL * (ulong)slot - (s.Revision == Revision.Fred3 ? 8UL : 0);

    /// <summary>A mutant that post-processes the model's result of matching steps.</summary>
    static Implementation After(Func<MachineState, Step, StepResult, StepResult> fix) => (s, step) => fix(s, step, Model(s, step));

    /// <summary>A mutant that runs matching steps on an adjusted state, then restores what the adjustment must not leak; a step that ends without effect leaves the state as it was.</summary>
    static Implementation Around(Func<MachineState, Step, bool> when, Func<MachineState, MachineState> adjust, Func<MachineState, MachineState, MachineState> restore) =>
        (s, step) =>
        {
            if (!when(s, step)) return Model(s, step);
            var r = Model(adjust(s), step);
            return r.Outcome.Kind is OutcomeKind.Delivered or OutcomeKind.Returned or OutcomeKind.Completed
                ? r with { State = restore(s, r.State) } : StepResult.Unchanged(s, r.Outcome);
        };

    /// <summary>
    /// A mutant that skips one check: when the model faults and the frame slot fails the check, it runs the model on
    /// a repaired slot and then puts the unchecked value where the real instruction would have loaded it.
    /// </summary>
    static Implementation Skips<T>(int slot, Func<ulong, bool> failsCheck, Func<ulong, ulong> repair, Func<MachineState, ulong, MachineState> load)
        where T : Step =>
        (s, step) =>
        {
            var r = Model(s, step);
            if (step is not T || r.Outcome.Kind != OutcomeKind.Fault) return r;
            ulong a = EretSlot(s, slot), raw = s.Memory.Peek(a, 8);
            if (!failsCheck(raw)) return r;
            var again = Model(s with { Memory = s.Memory.Poke(a, 8, repair(raw)) }, step);
            return again.Outcome.Kind == OutcomeKind.Returned
                ? again with { State = load(again.State, raw) with { Memory = again.State.Memory.Poke(a, 8, raw) } }
                : r;
        };

    /// <summary>A mutant that delivers events and executes event instructions with the given deviations from the spec.</summary>
    static Implementation Deviating(Deviations d) => (s, step) => step switch
    {
        DeliverStep ds => Delivery.Deliver(s, ds.Event, d),
        ExecuteStep es => EventInstructions.Execute(s, es.Bytes, d),
        _ => Model(s, step),
    };

    static FredMsrs Restore(FredMsrs original, FredMsrs after) =>
        after with { Config = new FredConfig((original.Config.Value & ~3UL) | (uint)after.Config.CurrentStackLevel), StackLevels = original.StackLevels };

    /// <summary>Every mutant.</summary>
    public static IReadOnlyList<Mutant> All { get; } =
    [
        new("entry-no-kernel-offset", "FRED-DELIV-01", "ring-0 events enter at CONFIG & ~0xFFF, without + 256", null,
            After((s, _, r) => Delivered(r) && s.Cpl == 0 && !r.Outcome.Event.Nested ? r with { State = r.State with { Rip = r.State.Rip - 256 } } : r)),
        new("entry-offsets-swapped", "FRED-DELIV-01", "ring-3 events enter at + 256 and ring-0 events at + 0", "an unmerged Bochs FRED draft had the condition inverted",
            After((s, _, r) => Delivered(r) && !r.Outcome.Event.Nested ? r with { State = r.State with { Rip = s.Cpl == 0 ? r.State.Rip - 256 : r.State.Rip + 256 } } : r)),
        new("red-zone-ignored", "FRED-DELIV-05", "same-level delivery does not skip the red zone", null,
            Around((_, step) => IsDelivery(step), s => s with { Fred = s.Fred with { Config = new FredConfig(s.Fred.Config.Value & ~0x1C0UL) } },
                (s, a) => a with { Fred = Restore(s.Fred, a.Fred) })),
        new("stklvls-ignored", "FRED-DELIV-03", "exceptions and NMI always use stack level 0 (IA32_FRED_STKLVLS ignored)", null,
            Around((_, step) => IsDelivery(step), s => s with { Fred = s.Fred with { StackLevels = new StackLevels(0) } },
                (s, a) => a with { Fred = Restore(s.Fred, a.Fred) })),
        new("interrupt-level-ignored", "FRED-DELIV-02", "external interrupts ignore CONFIG's interrupt stack level", null,
            Around((_, step) => step is DeliverStep { Event.Type: EventType.ExternalInterrupt }, s => s with { Fred = s.Fred with { Config = new FredConfig(s.Fred.Config.Value & ~0x600UL) } },
                (s, a) => a with { Fred = Restore(s.Fred, a.Fred) })),
        new("stack-level-lowered", "FRED-DELIV-04", "delivery from ring 0 may lower the stack level to the event's", null,
            Around((s, step) => IsDelivery(step) && s.Cpl == 0 && s.StackLevel > 0, s => s.WithStackLevel(0), (_, a) => a)),
        new("rflags-not-cleared", "FRED-DELIV-06", "RFLAGS is left as it was instead of being cleared", null,
            After((s, _, r) => Delivered(r) ? r with { State = r.State with { Rflags = s.Rflags } } : r)),
        new("nmi-not-blocked", "FRED-DELIV-06", "delivering an NMI does not block further NMIs", null,
            After((s, _, r) => Delivered(r) && r.Outcome.Event.Type == EventType.Nmi ? r with { State = r.State with { NmiBlocked = s.NmiBlocked } } : r)),
        new("gs-not-swapped", "FRED-DELIV-07", "events from ring 3 do not swap GS.base with IA32_KERNEL_GS_BASE", null,
            After((s, _, r) => Delivered(r) && s.Cpl == 3 ? r with { State = r.State with { GsBase = s.GsBase, KernelGsBase = s.KernelGsBase } } : r)),
        new("syscall-cs-ss-stale", "FRED-DELIV-07", "SYSCALL and SYSENTER leave CS and SS as they were", "Bochs issue #748: CS/SS not updated for SYSCALL",
            After((s, _, r) => Delivered(r) && r.Outcome.Event.Type == EventType.Other ? r with { State = r.State with { Cs = s.Cs, Ss = s.Ss } } : r)),
        new("syscall-writes-rcx-r11", "FRED-INSN-05", "SYSCALL writes RCX and R11 as it does in IDT mode", null,
            After((s, _, r) => Delivered(r) && r.Outcome.Event is { Type: EventType.Other, Vector: Vector.Syscall }
                ? r with { State = r.State with { Rcx = s.Rip + r.Outcome.Event.InstructionLength, R11 = s.Rflags } } : r)),
        new("nested-bit-missing", "FRED-NEST-06", "exceptions while delivering an interrupt, NMI or SYSCALL do not set the nested bit", "Bochs derives nested only from an exception in progress",
            After((_, step, r) => Delivered(r) && r.Outcome.Event.Nested
                && (step is DeliverStep { Event.Type: EventType.ExternalInterrupt or EventType.Nmi } || step is ExecuteStep)
                ? Slot(r, 5, w => w & ~(1UL << 58)) : r)),
        new("no-double-fault", "FRED-NEST-03", "a contributory or page fault while delivering a fault shuts down instead of raising #DF", null,
            After((s, _, r) => Delivered(r) && r.Outcome.IsDoubleFault() ? StepResult.Unchanged(s, new Outcome(OutcomeKind.Shutdown)) : r)),
        new("double-fault-nested", "FRED-NEST-04", "#DF is recorded as nested", null,
            After((_, _, r) => Delivered(r) && r.Outcome.IsDoubleFault() ? Slot(r, 5, w => w | (1UL << 58)) : r)),
        new("pf-event-data-zero", "FRED-DATA-01", "#PF event data is 0 instead of the faulting address", null,
            After((_, _, r) => Delivered(r) && r.Outcome.Event.IsException(Vector.PF) ? Slot(r, 6, _ => 0) : r)),
        new("db-negative-polarity", "FRED-DATA-02", "#DB event data is DR6 as read (negative polarity), not the positive-polarity bits", null,
            After((_, _, r) => Delivered(r) && r.Outcome.Event is { Type: EventType.HardwareException, Vector: Vector.DB } ? Slot(r, 6, v => v ^ 0xFFFF_0FF0) : r)),
        new("nmi-event-data-zero", "FRED-DATA-04", "NMI event data is 0 (no NMI-source bitmap)", null,
            After((_, _, r) => Delivered(r) && r.Outcome.Event.Type == EventType.Nmi ? Slot(r, 6, _ => 0) : r)),
        new("event-data-leaks", "FRED-DATA-05", "events without event data record whatever the injector supplied", null,
            After((_, step, r) => Delivered(r) && step is DeliverStep { Event: var e } && e.EventData != 0 && !r.Outcome.Event.Nested
                && r.Outcome.Event.FrameEventData == 0 ? Slot(r, 6, _ => e.EventData) : r)),
        new("instruction-length-off-by-one", "FRED-FRAME-07", "the SS word's instruction length is one too large", null,
            After((_, _, r) => Delivered(r) && r.Outcome.Event.CarriesInstructionLength && !r.Outcome.Event.Nested
                ? Slot(r, 5, w => (w & ~(0xFUL << 60)) | ((((w >> 60) + 1) & 0xF) << 60)) : r)),
        new("frame-rip-at-instruction", "FRED-INSN-02", "INT n saves the address of the instruction, not of the next one", null,
            After((_, _, r) => Delivered(r) && r.Outcome.Event.Type == EventType.SoftwareInterrupt && !r.Outcome.Event.Nested
                ? Slot(r, 1, v => v - r.Outcome.Event.InstructionLength) : r)),
        new("rf-not-saved", "FRED-FRAME-05", "the saved RFLAGS of a fault does not have RF set", null,
            After((_, _, r) => Delivered(r) && r.Outcome.Event.IsFault ? Slot(r, 3, v => v & ~MachineState.FlagRf) : r)),
        new("cs-word-no-stack-level", "FRED-FRAME-06", "the CS word does not record the interrupted stack level", null,
            After((_, _, r) => Delivered(r) ? Slot(r, 2, w => w & ~(3UL << 16)) : r)),
        new("ss-word-no-64bit", "FRED-FRAME-08", "the SS word's 64-bit bit (57) is never set", null,
            After((_, _, r) => Delivered(r) ? Slot(r, 5, w => w & ~(1UL << 57)) : r)),
        new("int3-as-int-n", "FRED-INSN-01", "INT3 is recorded as a software interrupt (type 4) instead of a software exception (type 6)", null,
            After((_, _, r) => Delivered(r) && r.Outcome.Event is { Type: EventType.SoftwareException, Vector: Vector.BP, Nested: false }
                ? Slot(r, 5, w => (w & ~(0xFUL << 48)) | (4UL << 48)) with { Outcome = r.Outcome with { Event = r.Outcome.Event with { Type = EventType.SoftwareInterrupt } } } : r)),
        new("fred3-bit-positions", "FRED-REV-02", "a FRED 5 processor records STI/SWEVENT/NMI at the FRED 3 positions", null,
            Around((s, step) => IsDelivery(step) && s.Revision == Revision.Fred5, s => s with { Revision = Revision.Fred3 }, (_, a) => a with { Revision = Revision.Fred5 })),
        new("eret-reads-error-code", "FRED-REV-03", "FRED 5 ERETU/ERETS do not skip the error code and pop RIP from it", null,
            Around((s, step) => step is EretuStep or EretsStep && s.Revision == Revision.Fred5, s => s with { Rsp = s.Rsp - 8 }, (_, a) => a)),
        new("eretu-at-raised-level", "FRED-ERETU-02", "ERETU runs at a stack level other than 0", null,
            (s, step) => step is EretuStep && s.StackLevel != 0 && s.FredEnabled && s.Cpl == 0 && Model(s.WithStackLevel(0), step) is { Outcome.Kind: OutcomeKind.Returned } r ? r : Model(s, step)),
        new("eretu-noncanonical-rip", "FRED-ERETU-04", "ERETU does not check that the popped RIP is canonical", null,
            Skips<EretuStep>(1, v => !Canonical.IsCanonical(v), v => v & 0x7FFF_FFFF_FFFFUL, (st, v) => st with { Rip = v })),
        new("erets-noncanonical-rip", "FRED-ERETS-03", "ERETS does not check that the popped RIP is canonical", null,
            Skips<EretsStep>(1, v => !Canonical.IsCanonical(v), v => v | 0xFFFF_8000_0000_0000UL, (st, v) => st with { Rip = v })),
        new("eretu-iopl-accepted", "FRED-ERETU-04", "ERETU accepts a frame whose RFLAGS has IOPL > 0", null,
            Skips<EretuStep>(3, v => (v & MachineState.FlagIopl) != 0, v => v & ~MachineState.FlagIopl, (st, v) => st with { Rflags = v })),
        new("eretu-cs-rpl-unchecked", "FRED-ERETU-11", "ERETU does not require RPL 3 in the popped CS, so a frame can return to ring 0-2", null,
            Skips<EretuStep>(2, v => (v & 3) != 3, v => v | 3, (st, v) => st with { Cs = (ushort)v })),
        new("eretu-gs-not-swapped", "FRED-ERETU-08", "ERETU does not swap GS.base back", null,
            After((s, step, r) => step is EretuStep && r.Outcome.Kind == OutcomeKind.Returned ? r with { State = r.State with { GsBase = s.GsBase, KernelGsBase = s.KernelGsBase } } : r)),
        new("eret-unblocks-nmi-always", "FRED-ERETU-09", "every successful ERET unblocks NMIs, whatever the frame's NMI bit", null,
            After((_, step, r) => step is EretuStep or EretsStep && r.Outcome.Kind == OutcomeKind.Returned ? r with { State = r.State with { NmiBlocked = false } } : r)),
        new("eret-no-pending-single-step", "FRED-DATA-06", "ERET never leaves a single-step #DB pending", null,
            After((_, step, r) => step is EretuStep or EretsStep && r.Outcome.Kind == OutcomeKind.Returned ? r with { State = r.State with { PendingSingleStep = false } } : r)),
        new("erets-raises-level", "FRED-ERETS-04", "ERETS takes the frame's stack level even when it is higher", null,
            After((s, step, r) => step is EretsStep && r.Outcome.Kind == OutcomeKind.Returned
                ? r with { State = r.State.WithStackLevel((int)((s.Memory.Peek(EretSlot(s, 2), 8) >> 16) & 3)) } : r)),
        new("erets-sti-ignored", "FRED-ERETS-05", "ERETS does not establish STI blocking from the frame", null,
            After((_, step, r) => step is EretsStep && r.Outcome.Kind == OutcomeKind.Returned ? r with { State = r.State with { StiBlocked = false } } : r)),
        new("eretu-fault-pops", "FRED-ERETU-10", "a faulting ERETU has already moved RSP past the frame", null,
            After((s, step, r) => step is EretuStep && r.Outcome.Kind == OutcomeKind.Fault && s.Cpl == 0 && s.FredEnabled ? r with { State = r.State with { Rsp = s.Rsp + 64 } } : r)),
        new("wrmsr-rsp-unaligned", "FRED-MSR-05", "WRMSR to IA32_FRED_RSPn accepts values that are not 64-byte aligned", null,
            (s, step) => step is WrmsrStep { Msr: >= Msr.FredRsp0 and <= Msr.FredRsp3, Value: var v } w && (v & 0x3F) != 0 && Canonical.IsCanonical(v)
                && Model(s, step).Outcome.Kind == OutcomeKind.Fault && Model(s, w with { Value = v & ~0x3FUL }) is { Outcome.Kind: OutcomeKind.Completed } ok
                ? ok with { State = StateFields.U64.First(f => f.Name == $"fred_rsp{w.Msr - Msr.FredRsp0}").Set(ok.State, v) } : Model(s, step)),
        new("wrmsr-config-reserved", "FRED-MSR-03", "WRMSR to IA32_FRED_CONFIG accepts reserved bits", null,
            (s, step) => step is WrmsrStep { Msr: Msr.FredConfig, Value: var v } w && (v & FredConfig.ReservedMask) != 0
                && Model(s, w with { Value = v & ~FredConfig.ReservedMask }) is { Outcome.Kind: OutcomeKind.Completed } ok
                ? ok with { State = ok.State with { Fred = ok.State.Fred with { Config = new FredConfig(v) } } } : Model(s, step)),
        new("cr4-fred-without-lma", "FRED-MSR-09", "MOV CR4 sets CR4.FRED outside IA-32e mode", null,
            (s, step) => step is MovCr4Step { Value: var v } && (v & MachineState.Cr4Fred) != 0 && (s.Efer & MachineState.EferLma) == 0
                && Model(s with { Efer = s.Efer | MachineState.EferLma }, step) is { Outcome.Kind: OutcomeKind.Completed } ok
                ? ok with { State = ok.State with { Efer = s.Efer } } : Model(s, step)),
        new("ssp-wrong-level", "FRED-CET-02", "on a stack switch with supervisor shadow stacks, SSP is taken from the old level's MSR", "Bochs issue #734: incorrect SSP update for FRED",
            After((s, _, r) => Delivered(r) && s.SupervisorShadowStack && r.State.StackLevel != Delivery.OldStackLevel(s) && s.Cpl == 0
                ? r with { State = r.State with { Cet = r.State.Cet with { Ssp = s.Fred.Ssp(Delivery.OldStackLevel(s)) } } } : r)),
        new("no-shadow-stack-record", "FRED-CET-03", "ring-0 events with supervisor shadow stacks push no shadow-stack record", null,
            Around((s, step) => IsDelivery(step) && s.Cpl == 0 && s.SupervisorShadowStack, s => s with { Cr4 = s.Cr4 & ~MachineState.Cr4Cet },
                (s, a) => a with { Cr4 = s.Cr4 })),
        new("sti-blocking-ignored", "FRED-TYPE-04", "external interrupts are delivered during STI blocking", null,
            Around((s, step) => step is DeliverStep { Event.Type: EventType.ExternalInterrupt } && s.StiBlocked, s => s with { StiBlocked = false }, (_, a) => a)),
        // The old behaviour of each rule corrected in 2026-11 (spec/README.md, "Order of authority"): a DUT that still
        // follows it must be caught.
        new("rf-kept-for-instruction-events", "FRED-FRAME-09", "INT n, INT1, INT3, INTO, SYSCALL and SYSENTER save RF as it was, not 0 (and INTO with OF=0 leaves RF set)", "Fred before 2026-11 (it blamed Bochs for RF = 0)",
            After((s, step, r) => step is ExecuteStep && (s.Rflags & MachineState.FlagRf) != 0
                ? Delivered(r) && r.Outcome.Event.CarriesInstructionLength && !r.Outcome.Event.Nested ? Slot(r, 3, v => v | MachineState.FlagRf)
                : r.Outcome.Kind == OutcomeKind.Completed ? r with { State = r.State with { Rflags = r.State.Rflags | MachineState.FlagRf } } : r
                : r)),
        new("instruction-fault-after-instruction", "FRED-NEST-07", "an exception raised while delivering an instruction's event saves the next instruction's address", "Fred before 2026-11",
            (s, step) => step is ExecuteStep { Bytes: var b } && Model(s, step) is { Outcome.Kind: OutcomeKind.Delivered, Outcome.Event.Type: EventType.HardwareException } r
                && EventInstructions.Decode(b, s.Is64BitMode) is { Fault: null } d && EventInstructions.EventFor(d, s.Rflags) is { } e
                && Delivery.Deliver(s with { Rip = s.Is64BitMode ? s.Rip + (ulong)d.Length : (s.Rip + (ulong)d.Length) & 0xFFFF_FFFF, Rflags = s.Rflags & ~MachineState.FlagRf }, e) is { Outcome.Kind: OutcomeKind.Delivered } old
                ? old : Model(s, step)),
        new("pf-address-top-byte", "FRED-DELIV-09", "a #PF raised by a frame write reports the slot's highest byte (top - 1), not its start (top - 8)", "Fred before 2026-11, after the older KVM selftest",
            After((_, _, r) => Delivered(r) && r.Outcome.Event is { Type: EventType.HardwareException, Vector: Vector.PF, Nested: true, ErrorCode: var err } && (err & 0x42) == 2
                ? Slot(r, 6, v => v + 7) with { State = Slot(r, 6, v => v + 7).State with { Cr2 = r.State.Cr2 + 7 } } : r)),
        new("cr2-only-for-delivered-pf", "FRED-DATA-01", "CR2 is written only when a #PF is delivered, not when the #PF becomes #DF", "Fred before 2026-11",
            After((s, _, r) => Delivered(r) && r.Outcome.Event.IsException(Vector.DF) ? r with { State = r.State with { Cr2 = s.Cr2 } } : r)),
        new("df-classes-without-cp-ve", "FRED-NEST-03", "#CP is benign and #VE is not of the page-fault class when deciding #DF", "the SDM's table before CET; Fred before 2026-11",
            Deviating(Deviations.DoubleFaultClassesWithoutCpAndVe)),
        new("ext-bit-missing", "FRED-NEST-08", "#GP/#SS raised while delivering an interrupt, NMI, exception or INT1 have EXT (error code bit 0) clear", "Fred before 2026-11",
            Deviating(Deviations.NoExtBit)),
        new("shadow-stack-record-first", "FRED-CET-03", "the shadow-stack record is written before the frame, so its fault wins when both stacks are bad", "Fred before 2026-11",
            Deviating(Deviations.ShadowStackRecordFirst)),
        new("nmi-unblocked-after-faulted-nmi", "FRED-NEST-09", "when an NMI's delivery faults, the nested exception is delivered with NMIs unblocked", "Fred before 2026-11",
            After((s, step, r) => step is DeliverStep { Event.Type: EventType.Nmi } && Delivered(r) && r.Outcome.Event.Type != EventType.Nmi
                ? r with { State = r.State with { NmiBlocked = s.NmiBlocked } } : r)),
        new("sti-bit-cleared-for-instructions", "FRED-FRAME-10", "the event of an instruction in an STI shadow records no STI blocking", "Fred before 2026-11",
            After((s, step, r) => step is ExecuteStep && s.StiBlocked && Delivered(r) && r.Outcome.Event.CarriesInstructionLength
                ? WithoutStiBit(r, s.Revision) : r)),
        new("syscall-in-compat-delivered", "FRED-INSN-04", "SYSCALL in compatibility mode is delivered (as AMD does) instead of raising #UD", "Fred before 2026-11",
            (s, step) => step is ExecuteStep { Bytes: var b } && !s.Is64BitMode && !b.Contains((byte)0xF0)
                && EventInstructions.Decode(b, false) is { Kind: EventInstructionKind.Syscall, Length: <= 15 } d
                && Delivery.DeliverFromInstruction(s, s with { Rip = (s.Rip + (ulong)d.Length) & 0xFFFF_FFFF, Rflags = s.Rflags & ~MachineState.FlagRf },
                    new Event(EventType.Other, Vector.Syscall, InstructionLength: (byte)d.Length)) is { Outcome.Kind: OutcomeKind.Delivered } old
                ? old : Model(s, step)),
        new("syscall-requires-sce", "FRED-INSN-04", "SYSCALL raises #UD when IA32_EFER.SCE is 0, although FRED delivers it (the SDM checks SCE only without FRED)", "Bochs SYSCALL (proc_ctrl.cc) checks SCE first",
            Readings.Of(DutProfile.SyscallRequiresSce)!),
        new("pl3-ssp-not-canonicalised", "FRED-CET-04", "delivery from ring 3 stores SSP in IA32_PL3_SSP without copying bit 47 into bits 63:48", "Fred before 2026-11",
            After((s, _, r) => Delivered(r) && s.Cpl == 3 && s.UserShadowStack ? r with { State = r.State with { Cet = r.State.Cet with { Pl3Ssp = s.Cet.Ssp } } } : r)),
        new("erets-cs-selector-compare", "FRED-CET-05", "ERETS compares only the CS selector (bits 15:0) of the shadow-stack record, not all 64 bits", "Bochs shadow_stack_restore (16-bit parameter); Fred before 2026-11",
            (s, step) => step is EretsStep && Model(s, step) is { Outcome.Kind: OutcomeKind.Fault } r && s.SupervisorShadowStack && (s.Cet.Ssp & 7) == 0
                && s.Memory.Peek(s.Cet.Ssp + 16, 8) is var shadowCs && s.Memory.Peek(EretSlot(s, 2), 8) is var frameCs
                && shadowCs != frameCs && (ushort)shadowCs == (ushort)frameCs
                && Model(s with { Memory = s.Memory.Poke(s.Cet.Ssp + 16, 8, frameCs) }, step) is { Outcome.Kind: OutcomeKind.Returned } ok
                ? ok with { State = ok.State with { Memory = ok.State.Memory.Poke(s.Cet.Ssp + 16, 8, shadowCs) } } : Model(s, step)),
        new("erets-old-ssp-gp", "FRED-CET-05", "ERETS raises #GP(0), not #CP(2), for a popped SSP that is not 4-byte aligned, and does not check SSP's own alignment", "Fred before 2026-11",
            (s, step) => step is EretsStep && Model(s, step) is { Outcome: { Kind: OutcomeKind.Fault, Event.Vector: Vector.CP } } r && s.SupervisorShadowStack
                && (s.Cet.Ssp & 7) == 0 && (s.Memory.Peek(s.Cet.Ssp, 8) & 3) != 0
                && s.Memory.Peek(s.Cet.Ssp + 8, 8) == s.Memory.Peek(EretSlot(s, 1), 8) && s.Memory.Peek(s.Cet.Ssp + 16, 8) == s.Memory.Peek(EretSlot(s, 2), 8)
                ? StepResult.Unchanged(s, Outcome.Faulted(Event.GeneralProtection())) : Model(s, step)),
        new("eretu-cet-checks-swapped", "FRED-CET-06", "ERETU checks SSP against IA32_PL0_SSP (#CP) before IA32_PL3_SSP's upper half on a return to compatibility mode (#GP)", "Fred before 2026-11",
            (s, step) => step is EretuStep && Model(s, step) is { Outcome: { Kind: OutcomeKind.Fault, Event.Vector: Vector.GP } } r
                && s.SupervisorShadowStack && s.UserShadowStack && (s.Cet.Pl3Ssp >> 32) != 0
                && Model(s with { Cet = s.Cet with { Pl3Ssp = s.Cet.Pl3Ssp & 0xFFFF_FFFF } }, step) is { Outcome: { Kind: OutcomeKind.Fault, Event.Vector: Vector.CP } } cp
                ? StepResult.Unchanged(s, cp.Outcome) : Model(s, step)),
        new("lock-int-accepted", "FRED-INSN-03", "INT n, INT3 and friends with a LOCK prefix raise their event instead of #UD", null,
            (s, step) => step is ExecuteStep { Bytes: var b } && b.Contains((byte)0xF0)
                && Model(s, new ExecuteStep([.. b.Where(x => x != 0xF0)])) is { Outcome.Kind: OutcomeKind.Delivered } ok ? ok : Model(s, step)),
        new("zero-slots-skipped", "FRED-DELIV-08", "delivery does not write frame quadwords whose new value is 0", null,
            After((s, _, r) => Delivered(r) ? ZeroSlotsSkipped(s.Memory, r) : r)),
    ];

    /// <summary>The mutant of a name, or null.</summary>
    public static Mutant? Find(string name) => All.FirstOrDefault(m => m.Name == name);

    static bool IsDoubleFault(this Outcome o) => o.Event.IsException(Vector.DF);

    /// <summary>A delivery's result with every frame slot whose new value is 0 left as it was in memory before the step.</summary>
    static StepResult ZeroSlotsSkipped(Memory before, StepResult r)
    {
        var m = r.State.Memory;
        for (int slot = 0; slot < 8; slot++)
        {
            ulong a = r.State.Rsp + 8UL * (ulong)slot;
            if (m.Peek(a, 8) == 0) m = m.Poke(a, 8, before.Peek(a, 8));
        }
        return r with { State = r.State with { Memory = m } };
    }
}
