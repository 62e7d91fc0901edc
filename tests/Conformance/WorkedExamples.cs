using Fred.Generators;
using Fred.Model;

namespace Fred.Conformance;

/// <summary>
/// Worked examples as plain facts, computed by hand, and the frames a FRED-enabled Bochs printed for the boot probe
/// in shared/research/bochs-probe (CONFIG 0x9040, RSP0..3 0x40000/0x48000/0x50000/0x58000, Linux STKLVLS and STAR).
/// </summary>
public class WorkedExamples
{
    static MachineState Probe(int ring, ulong rsp, ulong rflags)
    {
        var msrs = new FredMsrs(new FredConfig(0x9040), 0x40000, 0x48000, 0x50000, 0x58000, new StackLevels(0x0000_0020_0003_0024), 0, 0, 0, 0);
        var mem = Memory.Empty.Map(0, 0x80000, PageAccess.UserData);
        var s = MachineState.Create(Revision.Fred5, msrs, mem) with { Rip = 0x8100, Rsp = rsp, Rflags = rflags };
        return ring == 3 ? s with { Cs = Selectors.UserCs, Ss = Selectors.UserDs } : s;
    }

    static ulong[] FrameAt(MachineState h) => Frame.Read(h.Memory, h.Rsp)!.Value.ToQuadwords();

    [Fact]
    [Trait("Rule", "FRED-DELIV-05"), Trait("Rule", "FRED-FRAME-03"), Trait("Rule", "FRED-INSN-01")]
    public void Bochs_probe_ring0_INT3()
    {
        var r = EventInstructions.Execute(Probe(0, 0x37238, 0x46), [0xCC]);
        Assert.Equal(0x37180UL, r.State.Rsp);                                // (0x37238 - 64) & ~63 = 0x371C0, minus 64
        Assert.Equal(new ulong[] { 0, 0x8101, 0x10, 0x46, 0x37238, 0x1206_0003_0000_0018, 0, 0 }, FrameAt(r.State));
        Assert.Equal(0x9040UL, r.State.Fred.Config.Value);
        Assert.Equal(0x9100UL, r.State.Rip);                                 // ring-0 entry: 0x9000 + 256
    }

    [Fact]
    [Trait("Rule", "FRED-FRAME-05")]
    public void Bochs_probe_ring0_UD2_saves_RF()
    {
        var r = Delivery.Deliver(Probe(0, 0x37238, 0x46), Event.InvalidOpcode);
        Assert.Equal(0x37180UL, r.State.Rsp);
        Assert.Equal(new ulong[] { 0, 0x8100, 0x10, 0x10046, 0x37238, 0x0203_0006_0000_0018, 0, 0 }, FrameAt(r.State));
    }

    [Fact]
    [Trait("Rule", "FRED-DELIV-03"), Trait("Rule", "FRED-ERETS-04")]
    public void Bochs_probe_ring0_INT1_runs_on_level_1_and_ERETS_returns_to_0()
    {
        var r = EventInstructions.Execute(Probe(0, 0x37238, 0x46), [0xF1]);
        Assert.Equal(0x47FC0UL, r.State.Rsp);                                // RSP1 - 64
        Assert.Equal(new ulong[] { 0, 0x8101, 0x10, 0x46, 0x37238, 0x1205_0001_0000_0018, 0, 0 }, FrameAt(r.State));
        Assert.Equal(0x9041UL, r.State.Fred.Config.Value);
        var back = Erets.Execute(r.State);
        Assert.Equal(0, back.State.StackLevel);
        Assert.Equal(0x37238UL, back.State.Rsp);
    }

    [Fact]
    [Trait("Rule", "FRED-DELIV-07"), Trait("Rule", "FRED-FRAME-03")]
    public void Bochs_probe_ring3_SYSCALL_and_INT_0x80()
    {
        var u = Probe(3, 0x6FF00, 0x202);
        var sys = EventInstructions.Execute(u, [0x0F, 0x05]);
        Assert.Equal(0x3FFC0UL, sys.State.Rsp);                              // RSP0 - 64
        Assert.Equal(new ulong[] { 0, 0x8102, 0x33, 0x202, 0x6FF00, 0x2207_0001_0002_002B, 0, 0 }, FrameAt(sys.State));
        Assert.Equal(0x9000UL, sys.State.Rip);
        Assert.Equal((ushort)0x10, sys.State.Cs);
        Assert.Equal((ushort)0x18, sys.State.Ss);
        var back = Eretu.Execute(sys.State);
        Assert.Equal(OutcomeKind.Returned, back.Outcome.Kind);
        var int80 = EventInstructions.Execute(back.State, [0xCD, 0x80]);
        Assert.Equal(new ulong[] { 0, 0x8104, 0x33, 0x202, 0x6FF00, 0x2204_0080_0002_002B, 0, 0 }, FrameAt(int80.State));
    }

    [Fact]
    [Trait("Rule", "FRED-DELIV-04"), Trait("Rule", "FRED-DELIV-05")]
    public void Ring0_interrupt_below_the_red_zone()
    {
        // CSL 0, red zone 1 unit, RSP ...1238: top = (0x1238 - 0x40) & ~0x3F = 0x11C0, frame base 0x1180.
        var k = World.Kernel() with { Rsp = World.KernelStackBase + 0x1238, Rflags = 0x202 };
        var r = Delivery.Deliver(k, Event.Interrupt(0xEC));
        Assert.Equal(World.KernelStackBase + 0x1180, r.State.Rsp);
        Assert.Equal(0, r.State.StackLevel);
    }

    [Fact]
    [Trait("Rule", "FRED-DELIV-04"), Trait("Rule", "FRED-ERETS-04"), Trait("Rule", "FRED-ERETS-05")]
    public void NMI_raises_to_level_2_and_ERETS_unblocks_and_lowers()
    {
        var k = World.Kernel();
        var h = Delivery.Deliver(k, Event.NonMaskable()).State;
        Assert.Equal(2, h.StackLevel);
        Assert.Equal(World.LevelStackTop(2) - 64, h.Rsp);
        Assert.True(h.NmiBlocked);
        var back = Erets.Execute(h).State;
        Assert.Equal(0, back.StackLevel);
        Assert.False(back.NmiBlocked);
        // ERETS from level 2 with a frame claiming level 3 stays at 2.
        var claim3 = h with { Memory = h.Memory.Poke(h.Rsp + 16, 8, 0x3_0010) };
        Assert.Equal(2, Erets.Execute(claim3).State.StackLevel);
    }

    [Fact]
    [Trait("Rule", "FRED-ERETU-04"), Trait("Rule", "FRED-ERETS-03")]
    public void IOPL_is_refused_by_ERETU_and_accepted_by_ERETS()
    {
        var u = Delivery.Deliver(World.User(), Event.Interrupt(0x40)).State;
        var iopl3 = u with { Memory = u.Memory.Poke(u.Rsp + 24, 8, 0x3202) };
        Assert.Equal(Outcome.Faulted(Event.GeneralProtection()), Eretu.Execute(iopl3).Outcome);
        var slBit = u with { Memory = u.Memory.Poke(u.Rsp + 16, 8, 0x1_0033) };
        Assert.Equal(Outcome.Faulted(Event.GeneralProtection()), Eretu.Execute(slBit).Outcome);
        var k = Delivery.Deliver(World.Kernel() with { Rflags = 0x3202 }, Event.Interrupt(0x40)).State;
        Assert.Equal(0x3202UL, Erets.Execute(k).State.Rflags);
    }

    [Fact]
    [Trait("Rule", "FRED-ERETU-09"), Trait("Rule", "FRED-DATA-06")]
    public void SYSCALL_with_TF_leaves_a_single_step_pending_after_ERETU()
    {
        var u = World.User() with { Rflags = 0x302 };
        var h = EventInstructions.Execute(u, [0x0F, 0x05]).State;
        var ss = Frame.Read(h.Memory, h.Rsp)!.Value.SsWord;
        Assert.Equal(0x2207_0001_0002_002BUL, ss);                            // ilen 2, 64-bit, type 7, vector 1, SWEVENT
        var back = Eretu.Execute(h).State;
        Assert.True(back.PendingSingleStep);
        // The pending trap is delivered as hardware #DB with BS (bit 14) in event data.
        var db = Delivery.Deliver(back, Event.Exception(Vector.DB, 0, 1UL << 14));
        Assert.Equal(1UL << 14, Frame.Read(db.State.Memory, db.State.Rsp)!.Value.EventData);
        Assert.False(db.State.PendingSingleStep);
        // Without SWEVENT (an interrupt) TF does not leave a trap pending.
        var irq = Delivery.Deliver(u, Event.Interrupt(0x40)).State;
        Assert.False(Eretu.Execute(irq).State.PendingSingleStep);
    }
}
