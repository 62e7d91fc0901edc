using Fred.Generators;
using Fred.Model;
using static Fred.Conformance.Support.Conformance;

namespace Fred.Conformance;

/// <summary>spec/06-nested-events-and-double-fault.md and the failure rules of delivery (FRED-DELIV-08..10).</summary>
public class NestedEventTests
{
    const ulong Unmapped = 0x0000_3000_0000_0000;

    static Frame FrameOf(MachineState h) => Frame.Read(h.Memory, h.Rsp)!.Value;

    [Fact]
    [Trait("Rule", "FRED-DELIV-08"), Trait("Rule", "FRED-NEST-01"), Trait("Rule", "FRED-NEST-03"), Trait("Rule", "FRED-NEST-05"), Trait("Rule", "FRED-NEST-06")]
    public void A_failed_push_never_commits_and_what_is_delivered_saves_the_original_context() => Check(Arbitraries.BrokenStacks, c =>
    {
        var (s, e) = (c.State, c.Event);
        var r = Delivery.Deliver(s, e);
        switch (r.Outcome.Kind)
        {
            case OutcomeKind.Shutdown:
                Expect(r.State == s, () => $"shutdown changed the state\n{c}");
                // FRED-NEST-05: shutdown only when #DF itself cannot be delivered. Without shadow stacks that means a
                // non-canonical entry point or a #DF frame slot that is not a writable canonical address.
                if (!s.SupervisorShadowStack)
                {
                    var df = Event.Exception(Vector.DF);
                    ulong slot = Support.Oracle.FrameTop(s, df) - 8;
                    bool dfDeliverable = Canonical.IsCanonical(Support.Oracle.EntryRip(s)) && Canonical.IsCanonical(slot)
                                         && (s.Memory.AccessOf(slot) & PageAccess.SupervisorData) == PageAccess.SupervisorData;
                    Expect(!dfDeliverable, () => $"shutdown although #DF could have been delivered (frame slot 0x{slot:X})\n{c}");
                }
                return;
            case OutcomeKind.Delivered:
                var read = Frame.Read(r.State.Memory, r.State.Rsp);
                Expect(read is not null, () => $"delivered, but no readable frame at RSP 0x{r.State.Rsp:X}\n{c}");
                var f = read!.Value;
                ExpectEqual(s.Rip, f.Rip, "saved RIP", () => c.ToString());
                ExpectEqual(s.Rsp, f.Rsp, "saved RSP", () => c.ToString());
                ExpectEqual((ulong)s.Cs, f.CsWord & 0xFFFF, "saved CS", () => c.ToString());
                var d = r.Outcome.Event;
                if (d != e.Normalized())
                {
                    // Something went wrong on the way: only #PF, #SS, #GP (nested) or #DF (not nested) can replace the event.
                    bool ok = (d.Type == EventType.HardwareException && d.Vector is Vector.PF or Vector.SS or Vector.GP && d.Nested)
                              || (d.IsException(Vector.DF) && !d.Nested && d.ErrorCode == 0);
                    Expect(ok, () => $"unexpected replacement event {d}\n{c}");
                    Expect(FrameWords.DecodeSs(s.Revision, f.SsWord).Nested == d.Nested, () => $"nested bit does not match {d}\n{c}");
                    // FRED-NEST-03: while delivering #PF, any fault escalates to #DF; while delivering a contributory
                    // exception, only #PF may nest, another contributory one escalates.
                    bool pf = e.IsException(Vector.PF), contributory = e.Type == EventType.HardwareException && e.Vector is 0 or 10 or 11 or 12 or 13;
                    Expect(!pf || d.IsException(Vector.DF), () => $"a fault while delivering #PF became {d}, not #DF\n{c}");
                    Expect(!contributory || d.IsException(Vector.DF) || d.IsException(Vector.PF), () => $"a fault while delivering {e} became {d}\n{c}");
                    Expect(!d.IsException(Vector.DF) || !FrameWords.DecodeSs(s.Revision, f.SsWord).Nested, () => $"#DF frame has the nested bit\n{c}");
                }
                return;
            default:
                Expect(false, () => $"unexpected outcome {r.Outcome}\n{c}");
                return;
        }
    }, cases: 1000);

    [Fact]
    [Trait("Rule", "FRED-NEST-01"), Trait("Rule", "FRED-NEST-02"), Trait("Rule", "FRED-NEST-06"), Trait("Rule", "FRED-DELIV-09")]
    public void Ring3_event_with_RSP0_unmapped_becomes_a_nested_page_fault_at_the_PF_stack_level()
    {
        var user = World.User() with { Fred = World.LinuxMsrs with { Rsp0 = Unmapped, StackLevels = new StackLevels(0).With(Vector.PF, 1) } };
        var r = Delivery.Deliver(user, Event.Exception(Vector.UD));
        // #PF, not present (P=0), write (W=1), supervisor: error code 2; address is the start of the top slot (RSP0 - 8).
        Assert.Equal(new Outcome(OutcomeKind.Delivered, Event.PageFault(2, Unmapped - 8) with { Nested = true }), r.Outcome);
        Assert.Equal(1, r.State.StackLevel);
        Assert.Equal(World.LevelStackTop(1) - 64, r.State.Rsp);
        Assert.Equal(World.DefaultEntry, r.State.Rip);                 // the ring-3 entry: CPL was still 3
        var f = FrameOf(r.State);
        Assert.Equal(user.Rip, f.Rip);
        Assert.Equal(0x33UL, f.CsWord);
        // SS 0x2B, vector 14 at 39:32, type 3 at 51:48, 64-bit (57), nested (58), no instruction length.
        Assert.Equal(0x0603_000E_0000_002BUL, f.SsWord);
        Assert.Equal(Unmapped - 8, f.EventData);
        Assert.Equal(Unmapped - 8, r.State.Cr2);
    }

    [Fact]
    [Trait("Rule", "FRED-NEST-03"), Trait("Rule", "FRED-NEST-04")]
    public void Page_fault_while_delivering_a_page_fault_is_a_double_fault_on_the_DF_stack()
    {
        // STKLVLS[#PF] = 0: the nested #PF targets RSP0 again and faults again: #DF on level 3 (Linux's STKLVLS).
        var user = World.User() with { Fred = World.LinuxMsrs with { Rsp0 = Unmapped } };
        var r = Delivery.Deliver(user, Event.Exception(Vector.UD));
        Assert.Equal(new Outcome(OutcomeKind.Delivered, Event.Exception(Vector.DF)), r.Outcome);
        Assert.Equal(3, r.State.StackLevel);
        Assert.Equal(World.LevelStackTop(3) - 64, r.State.Rsp);
        var f = FrameOf(r.State);
        Assert.Equal(0UL, f.ErrorCode);
        Assert.Equal(0UL, f.EventData);
        Assert.False(FrameWords.DecodeSs(Revision.Fred5, f.SsWord).Nested);
        Assert.Equal(user.Rip, f.Rip);
    }

    [Fact]
    [Trait("Rule", "FRED-NEST-05")]
    public void A_fault_while_delivering_a_double_fault_shuts_down()
    {
        var user = World.User() with { Fred = World.LinuxMsrs with { Rsp0 = Unmapped, Rsp3 = Unmapped + 0x10000 } };
        var r = Delivery.Deliver(user, Event.Interrupt(0x31));
        Assert.Equal(OutcomeKind.Shutdown, r.Outcome.Kind);
        Assert.Equal(user, r.State);
    }

    [Fact]
    [Trait("Rule", "FRED-DELIV-10"), Trait("Rule", "FRED-NEST-03"), Trait("Rule", "FRED-NEST-05")]
    public void A_non_canonical_entry_point_escalates_GP_GP_DF_to_shutdown()
    {
        // A state built without WRMSR's check: every delivery raises #GP(0) at the entry RIP.
        var s = World.Kernel() with { Fred = World.LinuxMsrs with { Config = new FredConfig(0x0000_8000_0000_0040) } };
        var r = Delivery.Deliver(s, Event.Exception(Vector.GP, 0));
        Assert.Equal(OutcomeKind.Shutdown, r.Outcome.Kind);
        Assert.Equal(s, r.State);
    }

    [Fact]
    [Trait("Rule", "FRED-NEST-06"), Trait("Rule", "FRED-DELIV-09")]
    public void Interrupt_from_ring0_on_a_read_only_stack_is_a_nested_page_fault()
    {
        var k = World.Kernel() with { Rflags = 0x202 };
        k = k with { Memory = k.Memory.Map(World.KernelStackBase, World.StackRegion, PageAccess.Present) };
        k = k with { Fred = k.Fred with { StackLevels = new StackLevels(0).With(Vector.PF, 2) } };
        var r = Delivery.Deliver(k, Event.Interrupt(0xEC));
        ulong top = (k.Rsp - 64) & ~0x3FUL;
        Assert.Equal(new Outcome(OutcomeKind.Delivered, Event.PageFault(3, top - 8) with { Nested = true }), r.Outcome);  // P=1, W=1
        Assert.Equal(2, r.State.StackLevel);
        Assert.Equal(World.DefaultEntry + 256, r.State.Rip);
    }

    [Fact]
    [Trait("Rule", "FRED-DELIV-09"), Trait("Rule", "FRED-NEST-08")]
    public void A_non_canonical_frame_slot_is_a_stack_fault()
    {
        // RSP - 64 (red zone) aligned down is 0x0000_8000_0000_00C0: every slot of the frame is non-canonical.
        var k = World.Kernel() with { Rsp = 0x0000_8000_0000_0100 };
        var r = Delivery.Deliver(k, Event.Exception(Vector.BR));
        // #SS(0) nested, delivered on the same non-canonical stack again: contributory twice -> #DF on level 3.
        Assert.Equal(new Outcome(OutcomeKind.Delivered, Event.Exception(Vector.DF)), r.Outcome);
        Assert.Equal(3, r.State.StackLevel);
        k = k with { Fred = k.Fred with { StackLevels = new StackLevels(0).With(Vector.SS, 1) } };
        // #BR is a hardware exception, external to the program: the #SS error code has EXT (bit 0) set (FRED-NEST-08).
        Assert.Equal(new Outcome(OutcomeKind.Delivered, Event.Exception(Vector.SS, 1) with { Nested = true }), Delivery.Deliver(k, Event.Exception(Vector.BR)).Outcome);
    }
}
