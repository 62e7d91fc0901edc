using Fred.Generators;
using Fred.Conformance.Support;
using Fred.Model;
using static Fred.Conformance.Support.Conformance;

namespace Fred.Conformance;

/// <summary>spec/04-delivery-and-stack-levels.md and spec/02-event-types.md.</summary>
public class DeliveryTests
{
    [Fact]
    [Trait("Rule", "FRED-DELIV-01")]
    public void Ring3_events_enter_at_the_config_base_and_ring0_events_256_bytes_later() => Check(Arbitraries.Deliveries, c =>
    {
        var r = Delivery.Deliver(c.State, c.Event);
        ulong bases = c.State.Fred.Config.Value & ~0xFFFUL;
        ExpectEqual(c.State.Cpl == 3 ? bases : bases + 256, r.State.Rip, "entry RIP", () => c.ToString());
    });

    [Fact]
    [Trait("Rule", "FRED-DELIV-02"), Trait("Rule", "FRED-DELIV-03"), Trait("Rule", "FRED-DELIV-04"), Trait("Rule", "FRED-DELIV-05")]
    public void Stack_level_and_frame_position_follow_the_selection_rules() => Check(Arbitraries.Deliveries, c =>
    {
        var r = Delivery.Deliver(c.State, c.Event);
        ExpectEqual(Oracle.NewLevel(c.State, c.Event), r.State.StackLevel, "stack level after delivery", () => c.ToString());
        ExpectEqual(Oracle.FrameTop(c.State, c.Event) - 64, r.State.Rsp, "RSP after delivery (frame base)", () => c.ToString());
        Expect(r.State.StackLevel >= Oracle.OldLevel(c.State), () => $"delivery lowered the stack level\n{c}");
        if (c.State.Cpl == 0)
            Expect(r.State.Rsp + 64 != c.State.Fred.Rsp0 || c.State.Rsp - (c.State.Fred.Config.Value & 0x1C0) == c.State.Fred.Rsp0 || r.State.StackLevel != 0,
                () => $"a ring-0 event used IA32_FRED_RSP0\n{c}");
    });

    [Fact]
    [Trait("Rule", "FRED-DELIV-05")]
    public void Ring0_events_never_load_rsp0()
    {
        // RSP0 points at unmapped memory: any ring-0 event at level 0 must still succeed on the current stack.
        var s = World.Kernel() with { Fred = World.LinuxMsrs with { Rsp0 = 0x0000_1000_0000_0000 } };
        var r = Delivery.Deliver(s, Event.Exception(Vector.UD));
        Assert.Equal(OutcomeKind.Delivered, r.Outcome.Kind);
        Assert.Equal(((s.Rsp - 64) & ~0x3FUL) - 64, r.State.Rsp);
    }

    [Fact]
    [Trait("Rule", "FRED-DELIV-06"), Trait("Rule", "FRED-DELIV-07")]
    public void Delivery_establishes_the_handler_context() => Check(Arbitraries.Deliveries, c =>
    {
        var (s, e) = (c.State, c.Event);
        var h = Delivery.Deliver(s, e).State;
        ExpectEqual(0x2UL, h.Rflags, "RFLAGS after delivery", () => c.ToString());
        ExpectEqual(0, h.Cpl, "CPL after delivery", () => c.ToString());
        Expect(!h.StiBlocked && !h.PendingSingleStep && !h.Cet.SupervisorTrackerWaiting, () => $"STI blocking, pending single-step or IBT wait survived delivery\n{c}");
        ExpectEqual(s.NmiBlocked || e.Type == EventType.Nmi, h.NmiBlocked, "NMI blocked after delivery", () => c.ToString());
        if (s.Cpl == 3)
        {
            ushort cs = (ushort)((s.Star >> 32) & 0xFFFC);
            ExpectEqual(cs, h.Cs, "CS from IA32_STAR[47:32]", () => c.ToString());
            ExpectEqual((ushort)(cs + 8), h.Ss, "SS = CS + 8", () => c.ToString());
            ExpectEqual(s.KernelGsBase, h.GsBase, "GS base swapped in", () => c.ToString());
            ExpectEqual(s.GsBase, h.KernelGsBase, "KERNEL_GS_BASE swapped out", () => c.ToString());
            Expect(h.Is64BitMode, () => $"handler not in 64-bit mode\n{c}");
        }
        else
        {
            Expect(h.Cs == s.Cs && h.Ss == s.Ss && h.GsBase == s.GsBase && h.KernelGsBase == s.KernelGsBase, () => $"ring-0 event changed CS, SS or GS\n{c}");
        }
    });

    [Fact]
    [Trait("Rule", "FRED-TYPE-01"), Trait("Rule", "FRED-TYPE-02")]
    public void Only_architectural_type_and_vector_pairs_are_delivered()
    {
        var s = World.Kernel() with { Rflags = 0x202 };
        int delivered = 0;
        for (int t = 0; t < 16; t++)
            for (int v = 0; v < 256; v++)
            {
                var e = new Event((EventType)t, (byte)v);
                bool architectural = t switch
                {
                    0 or 4 => true,
                    2 => v == 2,
                    3 => v < 32 && v != 2,
                    5 => v == 1,
                    6 => v is 3 or 4,
                    7 => v is 1 or 2,
                    _ => false,
                };
                var r = Delivery.Deliver(s, e);
                Assert.Equal(architectural ? OutcomeKind.Delivered : OutcomeKind.InvalidEvent, r.Outcome.Kind);
                if (!architectural) Assert.Equal(s, r.State);
                else delivered++;
            }
        Assert.Equal(256 + 1 + 31 + 256 + 1 + 2 + 2, delivered);
    }

    [Fact]
    [Trait("Rule", "FRED-TYPE-04")]
    public void Masked_events_wait_and_change_nothing() => Check(Arbitraries.AnyDeliveries, c =>
    {
        var (s, e) = (c.State, c.Event);
        bool masked = e.Type switch
        {
            EventType.ExternalInterrupt => (s.Rflags & (1UL << 9)) == 0 || s.StiBlocked,
            EventType.Nmi => s.NmiBlocked,
            _ => false,
        };
        var r = Delivery.Deliver(s, e);
        ExpectEqual(masked, r.Outcome.Kind == OutcomeKind.Masked, "masked", () => c.ToString());
        if (masked) Expect(r.State == s, () => $"a masked event changed the state\n{c}");
    });

    [Fact]
    [Trait("Rule", "FRED-DELIV-06")]
    public void Without_CR4_FRED_nothing_is_delivered()
    {
        var s = World.Kernel() with { Cr4 = MachineState.Cr4Pae };
        var r = Delivery.Deliver(s, Event.Exception(Vector.UD));
        Assert.Equal(OutcomeKind.NotFredMode, r.Outcome.Kind);
        Assert.Equal(s, r.State);
    }
}
