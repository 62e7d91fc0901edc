using Fred.Generators;
using Fred.Model;

namespace Fred.Conformance;

/// <summary>spec/09-cet-shadow-stacks.md, with hand-computed addresses.</summary>
public class CetTests
{
    static MachineState WithSupervisorShadowStack(MachineState s) =>
        s with { Cr4 = s.Cr4 | MachineState.Cr4Cet, Cet = s.Cet with { SCet = CetState.ShadowStackEnable, Ssp = World.ShadowStackTop(4) } };

    [Theory]
    [Trait("Rule", "FRED-CET-01")]
    [InlineData(false, 1UL, 1UL, false, false, false)]
    [InlineData(true, 1UL, 0UL, true, false, false)]
    [InlineData(true, 0UL, 1UL, false, true, false)]
    [InlineData(true, 4UL, 0UL, false, false, true)]
    [InlineData(true, 5UL, 1UL, true, true, true)]
    public void Enables_need_CR4_CET_and_the_MSR_bit(bool cr4Cet, ulong sCet, ulong uCet, bool sss, bool uss, bool ibt)
    {
        var s = World.Kernel() with { Cr4 = MachineState.Cr4Pae | MachineState.Cr4Fred | (cr4Cet ? MachineState.Cr4Cet : 0), Cet = new CetState(sCet, uCet, 0, 0, false) };
        Assert.Equal((sss, uss, ibt), (s.SupervisorShadowStack, s.UserShadowStack, s.SupervisorIbt));
    }

    [Fact]
    [Trait("Rule", "FRED-CET-02"), Trait("Rule", "FRED-CET-03")]
    public void Ring0_delivery_on_a_new_level_pushes_CS_RIP_SSP_below_FRED_SSPn()
    {
        var k = WithSupervisorShadowStack(World.Kernel()) with { Rip = 0xFFFF_FFFF_8100_2000 };
        k = k with { Cet = k.Cet with { Ssp = World.ShadowStackTop(4) - 0x40 } };
        var r = Delivery.Deliver(k, Event.NonMaskable());                       // Linux STKLVLS: NMI -> level 2
        ulong ssp2 = World.ShadowStackTop(2);
        Assert.Equal(ssp2 - 24, r.State.Cet.Ssp);
        Assert.Equal(0x10UL, r.State.Memory.Peek(ssp2 - 8, 8));               // CS word: selector 0x10, level 0
        Assert.Equal(0xFFFF_FFFF_8100_2000UL, r.State.Memory.Peek(ssp2 - 16, 8));
        Assert.Equal(World.ShadowStackTop(4) - 0x40, r.State.Memory.Peek(ssp2 - 24, 8));
        // ERETS unwinds it: SSP + 24 == FRED_SSP2 as the level drops to 0.
        var back = Erets.Execute(r.State);
        Assert.Equal(OutcomeKind.Returned, back.Outcome.Kind);
        Assert.Equal(World.ShadowStackTop(4) - 0x40, back.State.Cet.Ssp);
    }

    [Fact]
    [Trait("Rule", "FRED-CET-02"), Trait("Rule", "FRED-CET-03")]
    public void Same_level_delivery_with_the_space_bit_skips_8_bytes_and_pads_a_4_byte_aligned_SSP()
    {
        var k = WithSupervisorShadowStack(World.Kernel());
        ulong ssp = World.ShadowStackTop(4) - 0x44;                           // 4 mod 8
        k = k with { Cet = k.Cet with { Ssp = ssp }, Fred = k.Fred with { Config = new FredConfig(k.Fred.Config.Value | 8) } };
        var r = Delivery.Deliver(k, Event.Exception(Vector.UD));               // level 0 -> 0: same stack
        ulong newSsp = ssp - 8;                                                // space bit: 8 bytes lower, still 4 mod 8
        ulong aligned = newSsp - 4;                                            // the 4-byte pad goes at newSsp - 4
        Assert.Equal(0UL, r.State.Memory.Peek(newSsp - 4, 4));
        Assert.Equal(aligned - 24, r.State.Cet.Ssp);
        Assert.Equal(ssp, r.State.Memory.Peek(aligned - 24, 8));
    }

    [Fact]
    [Trait("Rule", "FRED-CET-02"), Trait("Rule", "FRED-NEST-08"), Trait("Rule", "FRED-NEST-09")]
    public void A_new_level_SSP_with_bit_2_set_is_a_GP_during_delivery()
    {
        var k = WithSupervisorShadowStack(World.Kernel());
        k = k with { Fred = k.Fred with { Ssp2 = World.ShadowStackTop(2) - 4 } };
        var r = Delivery.Deliver(k, Event.NonMaskable());
        // #GP nested, with EXT set as an NMI is external (FRED-NEST-08); #GP is level 0 under Linux's STKLVLS, same
        // level: no new SSP is loaded, so it succeeds. NMI blocking began with the NMI's delivery and stays (FRED-NEST-09).
        Assert.Equal(new Outcome(OutcomeKind.Delivered, Event.GeneralProtection(1) with { Nested = true }), r.Outcome);
        Assert.True(r.State.NmiBlocked);
    }

    [Fact]
    [Trait("Rule", "FRED-CET-04"), Trait("Rule", "FRED-CET-06")]
    public void Ring3_delivery_saves_the_user_SSP_and_ERETU_restores_it()
    {
        var u = World.User() with { Cr4 = MachineState.Cr4Pae | MachineState.Cr4Fred | MachineState.Cr4Cet, Cet = new CetState(1, 1, 0x7FFF_0000_1000, 0, false) };
        var h = Delivery.Deliver(u, new Event(EventType.Other, Vector.Syscall, InstructionLength: 2)).State;
        Assert.Equal(0x7FFF_0000_1000UL, h.Cet.Pl3Ssp);
        Assert.Equal(u.Fred.Ssp0, h.Cet.Ssp);                                  // SSP0 (= IA32_PL0_SSP), nothing pushed
        var back = Eretu.Execute(h);
        Assert.Equal(0x7FFF_0000_1000UL, back.State.Cet.Ssp);
        // ERETU with SSP != PL0_SSP: #CP(far-ret/iret).
        var bad = Eretu.Execute(h with { Cet = h.Cet with { Ssp = h.Cet.Ssp - 8 } });
        Assert.Equal(Outcome.Faulted(Event.Exception(Vector.CP, 2)), bad.Outcome);
        // Returning to compatibility mode with PL3_SSP above 4 GiB: #GP(0).
        var compat = u with { Cs = Selectors.User32Cs, Is64BitMode = false, Rip = 0x40_1000 };
        var hc = Delivery.Deliver(compat, new Event(EventType.SoftwareInterrupt, 0x80, InstructionLength: 2)).State;
        Assert.Equal(Outcome.Faulted(Event.GeneralProtection()), Eretu.Execute(hc).Outcome);
    }

    [Fact]
    [Trait("Rule", "FRED-CET-05")]
    public void Erets_refuses_a_shadow_stack_that_does_not_match_the_frame()
    {
        var k = WithSupervisorShadowStack(World.Kernel());
        var h = Delivery.Deliver(k, Event.Exception(Vector.UD)).State;
        var tampered = h with { Memory = h.Memory.Poke(h.Cet.Ssp + 8, 8, 0xFFFF_FFFF_8100_0001) };   // saved RIP
        var r = Erets.Execute(tampered);
        Assert.Equal(Outcome.Faulted(Event.Exception(Vector.CP, 2)), r.Outcome);
        Assert.Equal(tampered, r.State);
        // The popped SSP must be 4-byte aligned: #CP(FAR-RET/IRET), not #GP (SDM ERETS pseudocode, FRED-CET-05).
        var oddSsp = h with { Memory = h.Memory.Poke(h.Cet.Ssp, 8, 0xFFFF_C900_0044_0001) };          // popped SSP bit 0
        Assert.Equal(Outcome.Faulted(Event.Exception(Vector.CP, 2)), Erets.Execute(oddSsp).Outcome);
        // A non-canonical popped SSP (4-byte aligned) is #GP(0).
        var wildSsp = h with { Memory = h.Memory.Poke(h.Cet.Ssp, 8, 0x0000_8000_0000_0000) };
        Assert.Equal(Outcome.Faulted(Event.GeneralProtection()), Erets.Execute(wildSsp).Outcome);
        // The CS word is compared in all 64 bits: a different stack level in the record is #CP(2).
        var otherLevel = h with { Memory = h.Memory.Poke(h.Cet.Ssp + 16, 8, h.Memory.Peek(h.Cet.Ssp + 16, 8) ^ (1UL << 16)) };
        Assert.Equal(Outcome.Faulted(Event.Exception(Vector.CP, 2)), Erets.Execute(otherLevel).Outcome);
        // SSP not 8-byte aligned: #CP(2) before anything is read.
        var misaligned = h with { Cet = h.Cet with { Ssp = h.Cet.Ssp + 4 } };
        Assert.Equal(Outcome.Faulted(Event.Exception(Vector.CP, 2)), Erets.Execute(misaligned).Outcome);
    }

    [Fact]
    [Trait("Rule", "FRED-CET-07")]
    public void WFE_is_recorded_only_for_ring0_events_with_supervisor_IBT_waiting()
    {
        var k = World.Kernel() with { Cr4 = MachineState.Cr4Pae | MachineState.Cr4Fred | MachineState.Cr4Cet, Cet = new CetState(CetState.EndbranchEnable, 0, 0, 0, true) };
        var h = Delivery.Deliver(k, Event.Exception(Vector.CP, 3)).State;
        Assert.Equal(1UL << 18, Frame.Read(h.Memory, h.Rsp)!.Value.CsWord & (1UL << 18));
        Assert.False(h.Cet.SupervisorTrackerWaiting);
        Assert.True(Erets.Execute(h).State.Cet.SupervisorTrackerWaiting);      // ERETS re-arms WAIT_FOR_ENDBRANCH
        var noIbt = k with { Cr4 = MachineState.Cr4Pae | MachineState.Cr4Fred };
        var h2 = Delivery.Deliver(noIbt, Event.Exception(Vector.CP, 3)).State;
        Assert.Equal(0UL, Frame.Read(h2.Memory, h2.Rsp)!.Value.CsWord & (1UL << 18));
    }
}
