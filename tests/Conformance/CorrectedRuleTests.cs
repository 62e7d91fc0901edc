using Fred.Dut;
using Fred.Generators;
using Fred.Model;
using FsCheck;
using FsCheck.Fluent;
using Fred.Conformance.Support;
using Outcome = Fred.Model.Outcome;
using static Fred.Conformance.Support.Conformance;

namespace Fred.Conformance;

/// <summary>
/// The rules Fred corrected after reading the SDM, Bochs and the KVM selftests again (spec/README.md, "Order of
/// authority"). Each property is stated over an implementation: the model must keep it, and the mutant that plays the
/// old behaviour must break it, which shows the property can fail.
/// </summary>
public class CorrectedRuleTests
{
    const ulong Rf = MachineState.FlagRf;

    static Arbitrary<Scenario> Cases(Gen<Scenario> g, bool shrink) => shrink ? Arb.From(g, Arbitraries.ShrinkDutScenario) : Arb.From(g);

    static Implementation Mutant(string name) => Mutants.Find(name)?.Impl ?? throw new ArgumentException($"no mutant {name}");

    /// <summary>Runs the property over the model (must hold) and over the mutant (must fail).</summary>
    static void ModelKeepsItMutantBreaksIt(Gen<Scenario> g, Action<Implementation, Scenario> property, string mutant, int cases = 300, bool shrink = true)
    {
        Action<Implementation, Scenario> guarded = (impl, sc) => { if (sc.Steps.Length > 0) property(impl, sc); };   // shrinking may drop the step
        Check(Cases(g, shrink), sc => guarded(CaseRunner.Model, sc), cases);
        var broken = Record.Exception(() => Check(Cases(g, shrink), sc => guarded(Mutant(mutant), sc), Math.Max(cases, 1000)));
        Assert.True(broken is ConformanceViolation, $"the property did not catch the mutant {mutant}");
    }

    static Frame FrameAt(MachineState h) => Frame.Read(h.Memory, h.Rsp)!.Value;

    static bool StiBit(Revision r, Frame f) => r == Revision.Fred5 ? (f.SsWord & (1UL << 16)) != 0 : (f.CsWord & (1UL << 24)) != 0;

    static bool IsInstructionEvent(Event e) => (int)e.Type is 4 or 5 or 6 or 7;

    // ---- FRED-FRAME-09 ------------------------------------------------------------------------------------------

    static void RfIsClearedByTheInstruction(Implementation impl, Scenario sc)
    {
        var s = sc.Initial;
        var r = impl(s, sc.Steps[0]);
        if (r.Outcome.Kind == OutcomeKind.Completed)
        {
            Expect((r.State.Rflags & Rf) == 0, () => $"RF still set after INTO completed without an event\n{sc}");
            return;
        }
        if (r.Outcome.Kind != OutcomeKind.Delivered || r.Outcome.Event.Nested) return;
        var f = FrameAt(r.State);
        if (IsInstructionEvent(r.Outcome.Event))
            ExpectEqual(s.Rflags & ~Rf, f.Rflags, "saved RFLAGS of an instruction's event (RF cleared as the instruction started)", () => sc.ToString());
        else if (r.Outcome.Event.IsFault)
            ExpectEqual(s.Rflags | Rf, f.Rflags, "saved RFLAGS of a fault", () => sc.ToString());
    }

    [Fact]
    [Trait("Rule", "FRED-FRAME-09"), Trait("Rule", "FRED-FRAME-05")]
    public void The_event_of_an_instruction_saves_RF_clear() =>
        ModelKeepsItMutantBreaksIt(Arbitraries.InstructionInStiShadow, RfIsClearedByTheInstruction, "rf-kept-for-instruction-events");

    // ---- FRED-FRAME-10 ------------------------------------------------------------------------------------------

    static void StiShadowIsRecorded(Implementation impl, Scenario sc)
    {
        var s = sc.Initial;
        var r = impl(s, sc.Steps[0]);
        if (r.Outcome.Kind != OutcomeKind.Delivered) return;
        Expect(StiBit(s.Revision, FrameAt(r.State)), () => $"the frame of {r.Outcome.Event}, raised in an STI shadow, does not record STI blocking\n{sc}");
        Expect(!r.State.StiBlocked, () => $"STI blocking survived the delivery\n{sc}");
    }

    [Fact]
    [Trait("Rule", "FRED-FRAME-10")]
    public void An_instruction_in_an_STI_shadow_records_STI_blocking() =>
        ModelKeepsItMutantBreaksIt(Arbitraries.InstructionInStiShadow, StiShadowIsRecorded, "sti-bit-cleared-for-instructions");

    // ---- FRED-NEST-07 -------------------------------------------------------------------------------------------

    static void FaultIsReportedOnTheInstruction(Implementation impl, Scenario sc)
    {
        var s = sc.Initial;
        var bytes = ((ExecuteStep)sc.Steps[0]).Bytes;
        var r = impl(s, sc.Steps[0]);
        if (r.Outcome.Kind != OutcomeKind.Delivered || r.Outcome.Event.Type != EventType.HardwareException) return;
        var f = FrameAt(r.State);
        // Whatever exception is delivered (the decode's own #UD, a nested fault, #DF), the instruction did not complete.
        ExpectEqual(s.Rip, f.Rip, "saved RIP: the address of the instruction, which did not complete", () => sc.ToString());
        ExpectEqual(s.Rsp, f.Rsp, "saved RSP", () => sc.ToString());
        var decoded = EventInstructions.Decode(bytes, s.Is64BitMode);
        bool ownEventFailed = decoded is { Fault: null };
        if (ownEventFailed && r.Outcome.Event.IsFault)
            Expect((f.Rflags & Rf) != 0, () => $"saved RFLAGS of the fault lacks RF\n{sc}");
        if (ownEventFailed && !r.Outcome.Event.IsException(Vector.DF))
            Expect(FrameWords.DecodeSs(s.Revision, f.SsWord).Nested, () => $"the exception raised while delivering the instruction's event is not nested\n{sc}");
    }

    [Fact]
    [Trait("Rule", "FRED-NEST-07"), Trait("Rule", "FRED-NEST-06")]
    public void A_fault_while_delivering_an_instructions_event_is_reported_on_the_instruction() =>
        ModelKeepsItMutantBreaksIt(Arbitraries.InstructionOnBrokenStack, FaultIsReportedOnTheInstruction, "instruction-fault-after-instruction", 500);

    // ---- FRED-DELIV-09 ------------------------------------------------------------------------------------------

    static void PageFaultNamesTheSlot(Implementation impl, Scenario sc)
    {
        var s = sc.Initial;
        var r = impl(s, sc.Steps[0]);
        if (r.Outcome.Kind != OutcomeKind.Delivered || r.Outcome.Event is not { Type: EventType.HardwareException, Vector: Vector.PF, Nested: true } pf) return;
        if ((pf.ErrorCode & 0x40) != 0) return;                                     // a shadow-stack write: not a frame slot
        if (EventOf(sc) is { Type: EventType.HardwareException, Vector: Vector.PF }) return;   // the step's own #PF, as injected
        ulong data = FrameAt(r.State).EventData;
        // Frame slots are quadwords on a 64-byte grid written from the top: the first one written starts at top - 8.
        ExpectEqual(0x38UL, data & 0x3F, "offset of the #PF address within the 64-byte frame (the start of its top slot)", () => sc.ToString());
        ExpectEqual(data, r.State.Cr2, "CR2 (the same address as the event data)", () => sc.ToString());
    }

    [Fact]
    [Trait("Rule", "FRED-DELIV-09"), Trait("Rule", "FRED-DATA-01")]
    public void A_failed_frame_write_reports_the_start_of_the_slot() =>
        ModelKeepsItMutantBreaksIt(Arbitraries.BrokenStacks.Generator.Select(c => new Scenario(c.State, [new DeliverStep(c.Event)])),
            PageFaultNamesTheSlot, "pf-address-top-byte", 500);

    // ---- FRED-DATA-01: CR2 of a #PF that becomes #DF -----------------------------------------------------------

    static void Cr2KeepsEveryPageFault(Implementation impl, Scenario sc)
    {
        var s = sc.Initial;
        var e = ((DeliverStep)sc.Steps[0]).Event;
        var r = impl(s, sc.Steps[0]);
        if (r.Outcome.Kind != OutcomeKind.Delivered || !r.Outcome.Event.IsException(Vector.DF) || e.IsException(Vector.PF)) return;
        ulong slot = Support.Oracle.FrameTop(s, e) - 8;
        bool firstWriteFaults = Canonical.IsCanonical(Support.Oracle.EntryRip(s)) && Canonical.IsCanonical(slot)
            && (s.Memory.AccessOf(slot) & PageAccess.SupervisorData) != PageAccess.SupervisorData;
        if (!firstWriteFaults) return;
        // "Processors update CR2 whenever a page fault is detected ... even if the page fault results in a double fault"
        // (SDM, "Interrupt 14", footnote): CR2 names the start of a frame slot of the last #PF.
        Expect(r.State.Cr2 != s.Cr2 && (r.State.Cr2 & 0x3F) == 0x38, () => $"CR2 0x{r.State.Cr2:X} after a #PF that became #DF\n{sc}");
    }

    [Fact]
    [Trait("Rule", "FRED-DATA-01"), Trait("Rule", "FRED-NEST-03")]
    public void A_page_fault_that_becomes_a_double_fault_still_writes_CR2() =>
        ModelKeepsItMutantBreaksIt(Arbitraries.BrokenStacks.Generator.Select(c => new Scenario(c.State with { Cr2 = 0x1234_5678_9ABC }, [new DeliverStep(c.Event)])),
            Cr2KeepsEveryPageFault, "cr2-only-for-delivered-pf", 500);

    // ---- FRED-NEST-03 -------------------------------------------------------------------------------------------

    static int ClassOf(Event e) => e.Type != EventType.HardwareException ? 0 : e.Vector switch
    {
        0 or 10 or 11 or 12 or 13 or 21 => 1,                                       // contributory, #CP included
        14 or 20 => 2,                                                               // page-fault class, #VE included
        _ => 0,
    };

    [Fact]
    [Trait("Rule", "FRED-NEST-03")]
    public void Double_fault_classes_follow_the_SDMs_current_table()
    {
        var events = Enumerable.Range(0, 32).Where(v => v != 2).Select(v => Event.Exception((byte)v))
            .Concat([Event.Interrupt(0x20), Event.NonMaskable(), new Event(EventType.SoftwareInterrupt, 13, InstructionLength: 2)]).ToArray();
        var faults = new[] { Vector.GP, Vector.SS, Vector.PF, Vector.CP, Vector.VE, Vector.UD }.Select(v => Event.Exception(v)).ToArray();
        foreach (var deviations in new[] { Deviations.None, Deviations.DoubleFaultClassesWithoutCpAndVe })
        {
            var wrong = new List<string>();
            foreach (var first in events)
                foreach (var second in faults)
                {
                    if (first.IsException(Vector.DF)) continue;
                    int a = ClassOf(first), b = ClassOf(second);
                    bool df = (a == 1 && b == 1) || (a == 2 && b != 0);
                    bool got = NestedEvents.Combine(first, second, deviations) is { } n && n.IsException(Vector.DF);
                    if (df != got) wrong.Add($"{first} then {second}: expected {(df ? "#DF" : "nested")}");
                }
            if (deviations == Deviations.None) Assert.True(wrong.Count == 0, string.Join("\n", wrong));
            else Assert.NotEmpty(wrong);                                            // the old classes break the table
        }
    }

    [Fact]
    [Trait("Rule", "FRED-NEST-03")]
    public void A_VE_or_CP_whose_delivery_faults_becomes_a_double_fault() => ModelKeepsItMutantBreaksIt(
        from s in Arbitraries.KernelContext
        from v in Gen.Elements(Vector.VE, Vector.CP)
        let broken = s.WithStackLevel(0) with
        {
            Memory = s.Memory.Map(World.KernelStackBase, World.StackRegion, v == Vector.VE ? PageAccess.None : PageAccess.SupervisorData),
            Rsp = v == Vector.VE ? s.Rsp : 0x0000_8000_0000_1000,   // past the canonical boundary by more than any red zone
            // The nested #PF or #SS of the old classes would go to level 1 and succeed; #DF goes to level 3.
            Fred = s.Fred with { Config = s.Fred.Config.WithCurrentStackLevel(0), StackLevels = new StackLevels(0).With(Vector.DF, 3).With(Vector.PF, 1).With(Vector.SS, 1) },
        }
        select new Scenario(broken, [new DeliverStep(Event.Exception(v, v == Vector.CP ? 3UL : 0))]),
        (impl, sc) =>
        {
            var r = impl(sc.Initial, sc.Steps[0]);
            Expect(r.Outcome.Kind == OutcomeKind.Delivered && r.Outcome.Event.IsException(Vector.DF),
                () => $"expected #DF (a page fault while delivering #VE, or #SS while delivering #CP), got {r.Outcome}\n{sc}");
        }, "df-classes-without-cp-ve", shrink: false);   // the setup (stack levels, the broken stack) is the premise: not shrunk

    // ---- FRED-NEST-08 -------------------------------------------------------------------------------------------

    static Event? EventOf(Scenario sc) => sc.Steps[0] switch
    {
        DeliverStep d => d.Event,
        ExecuteStep x => EventInstructions.Decode(x.Bytes, sc.Initial.Is64BitMode) is { } dec
            ? dec.Fault ?? EventInstructions.EventFor(dec, sc.Initial.Rflags) : Event.InvalidOpcode,
        _ => null,
    };

    static void ExtNamesAnExternalEvent(Implementation impl, Scenario sc)
    {
        var r = impl(sc.Initial, sc.Steps[0]);
        if (r.Outcome.Kind != OutcomeKind.Delivered || r.Outcome.Event is not { Type: EventType.HardwareException, Nested: true } x
            || x.Vector is not (Vector.GP or Vector.SS or Vector.NP or Vector.TS) || EventOf(sc) is not { } first) return;
        if (first.Type == EventType.HardwareException && first.Vector == x.Vector) return;   // the step's own exception, as injected
        // External to the program: interrupts, NMIs, exceptions and INT1; not INT n, INT3, INTO, SYSCALL, SYSENTER.
        bool external = first.Type is EventType.ExternalInterrupt or EventType.Nmi or EventType.HardwareException or EventType.PrivilegedSoftwareException;
        ExpectEqual(external ? 1UL : 0UL, FrameAt(r.State).ErrorCode & 1, $"EXT bit of {x} raised while delivering {first}", () => sc.ToString());
    }

    [Fact]
    [Trait("Rule", "FRED-NEST-08")]
    public void The_EXT_bit_says_whether_the_event_being_delivered_was_external() =>
        ModelKeepsItMutantBreaksIt(Arbitraries.DeliveryFaultsWithErrorCode, ExtNamesAnExternalEvent, "ext-bit-missing", 500);

    // ---- FRED-NEST-09 -------------------------------------------------------------------------------------------

    [Fact]
    [Trait("Rule", "FRED-NEST-09")]
    public void NMIs_stay_blocked_when_an_NMIs_delivery_faults() => ModelKeepsItMutantBreaksIt(
        from c in Arbitraries.BrokenStacks.Generator
        let s = c.State with { NmiBlocked = false }
        select new Scenario(s, [new DeliverStep(Event.NonMaskable())]),
        (impl, sc) =>
        {
            var r = impl(sc.Initial, sc.Steps[0]);
            if (r.Outcome.Kind != OutcomeKind.Delivered) return;
            Expect(r.State.NmiBlocked, () => $"NMIs unblocked after delivering {r.Outcome.Event} for an NMI\n{sc}");
            if (r.Outcome.Event.Type != EventType.Nmi)
                Expect(!FrameWords.Controls(sc.Initial.Revision, FrameAt(r.State).CsWord, FrameAt(r.State).SsWord).Nmi,
                    () => $"the nested exception's frame claims to be an NMI's\n{sc}");
        }, "nmi-unblocked-after-faulted-nmi", 500);

    // ---- FRED-INSN-04 -------------------------------------------------------------------------------------------

    static void SyscallNeedsSixtyFourBitModeOnly(Implementation impl, Scenario sc)
    {
        var s = sc.Initial;
        var bytes = ((ExecuteStep)sc.Steps[0]).Bytes;
        bool syscall = bytes[^1] == 0x05;
        var r = impl(s, sc.Steps[0]);
        if (syscall && !s.Is64BitMode)
            ExpectEqual(new Outcome(OutcomeKind.Delivered, Event.InvalidOpcode), r.Outcome, "SYSCALL in compatibility mode", () => sc.ToString());
        else
            ExpectEqual((EventType.Other, syscall ? Vector.Syscall : Vector.Sysenter), (r.Outcome.Event.Type, r.Outcome.Event.Vector),
                $"{(syscall ? "SYSCALL" : "SYSENTER")} with EFER.SCE={s.Efer & 1}", () => sc.ToString());
    }

    [Fact]
    [Trait("Rule", "FRED-INSN-04")]
    public void SYSCALL_is_UD_in_compatibility_mode() =>
        ModelKeepsItMutantBreaksIt(Arbitraries.SyscallPreconditions, SyscallNeedsSixtyFourBitModeOnly, "syscall-in-compat-delivered");

    [Fact]
    [Trait("Rule", "FRED-INSN-04")]
    public void SYSCALL_ignores_EFER_SCE_under_FRED() =>
        ModelKeepsItMutantBreaksIt(Arbitraries.SyscallPreconditions, SyscallNeedsSixtyFourBitModeOnly, "syscall-requires-sce");

    // ---- FRED-CET-03 (order) ------------------------------------------------------------------------------------

    static void FrameFaultWins(Implementation impl, Scenario sc)
    {
        var s = sc.Initial;
        var r = impl(s, sc.Steps[0]);
        bool frameWritable = (s.Memory.AccessOf(World.KernelStackBase) & PageAccess.Writable) != 0;
        if (frameWritable || r.Outcome.Kind != OutcomeKind.Delivered || r.Outcome.Event is not { Type: EventType.HardwareException, Vector: Vector.PF, Nested: true } pf)
            return;
        if (EventOf(sc) is { } e && Delivery.NewStackLevel(s, e) != s.StackLevel) return;     // the frame went to another stack
        Expect((pf.ErrorCode & 0x40) == 0, () => $"the shadow-stack write's #PF was reported although the frame could not be written first\n{sc}");
    }

    [Fact]
    [Trait("Rule", "FRED-CET-03")]
    public void When_frame_and_shadow_stack_are_both_unwritable_the_frames_fault_wins() =>
        ModelKeepsItMutantBreaksIt(Arbitraries.FrameAndShadowStackBroken, FrameFaultWins, "shadow-stack-record-first", 500);

    // ---- FRED-CET-04 --------------------------------------------------------------------------------------------

    static void UserSspIsCanonicalised(Implementation impl, Scenario sc)
    {
        var s = sc.Initial;
        var r = impl(s, sc.Steps[0]);
        if (r.Outcome.Kind != OutcomeKind.Delivered) return;
        ExpectEqual(Oracle.LaAdjust(s.Cet.Ssp), r.State.Cet.Pl3Ssp, "IA32_PL3_SSP after delivery from ring 3 (LA_adjust of SSP)", () => sc.ToString());
    }

    [Fact]
    [Trait("Rule", "FRED-CET-04")]
    public void Delivery_from_ring3_stores_the_user_SSP_canonicalised() =>
        ModelKeepsItMutantBreaksIt(Arbitraries.UserSspNotCanonical, UserSspIsCanonicalised, "pl3-ssp-not-canonicalised");

    // ---- FRED-CET-05 --------------------------------------------------------------------------------------------

    static void EretsChecksTheRecordAsTheSdmOrdersIt(Implementation impl, Scenario sc)
    {
        var s = sc.Initial;
        var r = impl(s, sc.Steps[0]);
        // The frame as ERETS pops it (after the FRED 3 exit path dropped the error code, RSP is already past it).
        ulong b = s.Revision == Revision.Fred5 ? s.Rsp + 8 : s.Rsp;
        ulong rip = s.Memory.Peek(b, 8), cs = s.Memory.Peek(b + 8, 8);
        ulong ssp = s.Cet.Ssp, oldSsp = s.Memory.Peek(ssp, 8), shadowRip = s.Memory.Peek(ssp + 8, 8), shadowCs = s.Memory.Peek(ssp + 16, 8);
        var cp = Outcome.Faulted(Event.Exception(Vector.CP, 2));
        if ((ssp & 7) != 0) { ExpectEqual(cp, r.Outcome, "ERETS with SSP not 8-byte aligned", () => sc.ToString()); return; }
        if (shadowCs != cs || shadowRip != rip || (oldSsp & 3) != 0)
        {
            ExpectEqual(cp, r.Outcome, "ERETS over a shadow-stack record that differs from the frame (CS word in all 64 bits)", () => sc.ToString());
            return;
        }
        if (!Canonical.IsCanonical(oldSsp)) ExpectEqual(Outcome.Faulted(Event.GeneralProtection()), r.Outcome, "ERETS with a non-canonical old SSP", () => sc.ToString());
    }

    [Fact]
    [Trait("Rule", "FRED-CET-05")]
    public void ERETS_compares_the_whole_shadow_stack_record() =>
        ModelKeepsItMutantBreaksIt(Arbitraries.ShadowRecordTampered, EretsChecksTheRecordAsTheSdmOrdersIt, "erets-cs-selector-compare");

    [Fact]
    [Trait("Rule", "FRED-CET-05")]
    public void ERETS_raises_CP_for_an_old_SSP_that_is_not_4_byte_aligned() =>
        ModelKeepsItMutantBreaksIt(Arbitraries.ShadowRecordTampered, EretsChecksTheRecordAsTheSdmOrdersIt, "erets-old-ssp-gp");

    // ---- FRED-CET-06 --------------------------------------------------------------------------------------------

    [Fact]
    [Trait("Rule", "FRED-CET-06")]
    public void ERETU_checks_PL3_SSP_for_compatibility_mode_before_SSP_against_PL0_SSP() => ModelKeepsItMutantBreaksIt(
        Arbitraries.EretuShadowStackChecks,
        (impl, sc) =>
        {
            var r = impl(sc.Initial, sc.Steps[0]);
            ExpectEqual(Outcome.Faulted(Event.GeneralProtection()), r.Outcome,
                "ERETU to compatibility mode with IA32_PL3_SSP above 4 GiB (checked first, whatever SSP is)", () => sc.ToString());
        }, "eretu-cet-checks-swapped");

    // ---- readings a profile may declare -------------------------------------------------------------------------

    [Theory]
    [InlineData("syscall-requires-sce", DutProfile.SyscallRequiresSce)]
    [InlineData("syscall-in-compat-delivered", DutProfile.SyscallInCompatDelivered)]
    [InlineData("erets-cs-selector-compare", DutProfile.EretsCsSelectorCompare)]
    [Trait("Rule", "FRED-DUT-11")]
    public void A_profile_that_declares_a_reading_accepts_a_DUT_that_follows_it(string mutant, string divergence)
    {
        var m = Mutants.Find(mutant)!;
        using var dut = new InProcessDut(m.Name, m.Impl);
        var strict = Campaign.Run(dut, "mutant:" + m.Name, new CampaignOptions(1500, 7, MaxFailures: 1));
        Assert.NotEmpty(strict.Failures);
        var declared = DutProfile.Parse(["name = reading", $"allow {divergence}"], "test");
        var lenient = Campaign.Run(dut, "mutant:" + m.Name, new CampaignOptions(1500, 7, MaxFailures: 1) { Profile = declared });
        Assert.Empty(lenient.Failures);
    }
}
