using Fred.Generators;
using Fred.Model;
using static Fred.Conformance.Support.Conformance;

namespace Fred.Conformance;

/// <summary>spec/11-round-trip.md: deliver, return from the untouched frame, and the interrupted context is back.</summary>
public class RoundTripTests
{
    /// <summary>The context an untouched round trip must restore, with the documented exceptions applied (FRED-RT-02).</summary>
    public static MachineState ExpectedAfterReturn(MachineState s, Event e)
    {
        bool user = s.Cpl == 3;
        var expected = s with
        {
            // FRED-FRAME-05/-09: a fault saves RF = 1; an instruction's event saves RF = 0, as the instruction cleared it.
            Rflags = e.IsFault ? s.Rflags | MachineState.FlagRf
                : e.Type is EventType.SoftwareInterrupt or EventType.PrivilegedSoftwareException or EventType.SoftwareException or EventType.Other
                    ? s.Rflags & ~MachineState.FlagRf : s.Rflags,
            NmiBlocked = e.Type != EventType.Nmi && s.NmiBlocked,
            PendingSingleStep = e.IsSoftwareEvent && (s.Rflags & MachineState.FlagTf) != 0,
            StiBlocked = !user && s.StiBlocked && (s.Rflags & MachineState.FlagIf) != 0,
            InEnclave = false,
            Cet = s.Cet with
            {
                SupervisorTrackerWaiting = !user && s.Revision == Revision.Fred5 && s.Cet.SupervisorTrackerWaiting && s.SupervisorIbt,
                // FRED-CET-04: the user SSP goes through IA32_PL3_SSP with bit 47 copied into 63:48 (LA_adjust).
                Ssp = user && s.UserShadowStack ? Support.Oracle.LaAdjust(s.Cet.Ssp) : user && s.SupervisorShadowStack ? s.Fred.Ssp0 : s.Cet.Ssp,
                Pl3Ssp = user && s.UserShadowStack ? Support.Oracle.LaAdjust(s.Cet.Ssp) : s.Cet.Pl3Ssp,
            },
        };
        return expected;
    }

    [Fact]
    [Trait("Rule", "FRED-RT-01"), Trait("Rule", "FRED-RT-02"), Trait("Rule", "FRED-RT-03"), Trait("Rule", "FRED-RT-04"), Trait("Rule", "FRED-REV-03")]
    public void Return_from_an_untouched_frame_restores_the_interrupted_context() => Check(Arbitraries.Deliveries, c =>
    {
        var (s, e) = (c.State, c.Event);
        var d = Delivery.Deliver(s, e);
        Expect(d.Outcome.Kind == OutcomeKind.Delivered, () => $"delivery did not succeed: {d.Outcome}\n{c}");
        var ready = Arbitraries.ReadyToReturn(d.State);
        var r = s.Cpl == 3 ? Eretu.Execute(ready) : Erets.Execute(ready);
        if (s.Cpl == 3 && d.State.StackLevel != 0)
        {
            // FRED-RT-04: a ring-3 #DF (or nested exception) runs at a raised level, from which ERETU cannot return.
            ExpectEqual(Outcome.Faulted(Event.GeneralProtection()), r.Outcome, "ERETU from a raised stack level", () => c.ToString());
            return;
        }
        Expect(r.Outcome.Kind == OutcomeKind.Returned, () => $"{(s.Cpl == 3 ? "ERETU" : "ERETS")} did not return: {r.Outcome}\n{c}");

        var expected = ExpectedAfterReturn(s, e);
        var got = r.State;
        foreach (var (name, exp, obs) in new (string, object, object)[]
        {
            ("RIP", expected.Rip, got.Rip), ("RSP", expected.Rsp, got.Rsp), ("RFLAGS", expected.Rflags, got.Rflags),
            ("CS", expected.Cs, got.Cs), ("SS", expected.Ss, got.Ss), ("64-bit mode", expected.Is64BitMode, got.Is64BitMode),
            ("GS base", expected.GsBase, got.GsBase), ("KERNEL_GS_BASE", expected.KernelGsBase, got.KernelGsBase),
            ("stack level", expected.StackLevel, got.StackLevel), ("SSP", expected.Cet.Ssp, got.Cet.Ssp), ("PL3_SSP", expected.Cet.Pl3Ssp, got.Cet.Pl3Ssp),
            ("NMI blocked", expected.NmiBlocked, got.NmiBlocked), ("STI blocked", expected.StiBlocked, got.StiBlocked),
            ("pending single-step", expected.PendingSingleStep, got.PendingSingleStep),
            ("IBT WAIT_FOR_ENDBRANCH", expected.Cet.SupervisorTrackerWaiting, got.Cet.SupervisorTrackerWaiting),
        })
            ExpectEqual(exp, obs, name + " after the round trip", () => c.ToString());
        Expect(got with { Memory = expected.Memory, Cr2 = expected.Cr2 } == expected, () => $"some other register changed\n{c}");

        // FRED-RT-03: memory differs only in the frame slot and the shadow-stack record.
        ulong frameBase = d.State.Rsp;
        foreach (var q in s.Memory.DifferingQuadwords(got.Memory))
        {
            bool inFrame = q >= frameBase && q < frameBase + 64;
            bool inShadow = s.SupervisorShadowStack && q >= d.State.Cet.Ssp && q < d.State.Cet.Ssp + 32;
            Expect(inFrame || inShadow, () => $"memory at 0x{q:X16} changed outside the frame and the shadow-stack record\n{c}");
        }
    });

    [Fact]
    [Trait("Rule", "FRED-REV-03")]
    public void Each_revision_needs_its_own_exit_path()
    {
        // FRED 5: ERET skips the error code itself; a FRED 3 exit (ADD RSP, 8 first) would pop the CS word as RIP.
        var s = World.Kernel(Revision.Fred5) with { Rip = 0xFFFF_FFFF_8100_1234 };
        var h = Delivery.Deliver(s, Event.Exception(Vector.UD)).State;
        Assert.Equal(OutcomeKind.Returned, Erets.Execute(h).Outcome.Kind);
        Assert.Equal(OutcomeKind.Fault, Erets.Execute(h with { Rsp = h.Rsp + 8 }).Outcome.Kind);
        // FRED 3: ERET pops RIP at RSP; without the drop it would take the error code (0) as RIP and the RIP as the CS word.
        var s3 = s with { Revision = Revision.Fred3 };
        var h3 = Delivery.Deliver(s3, Event.Exception(Vector.UD)).State;
        Assert.Equal(OutcomeKind.Fault, Erets.Execute(h3).Outcome.Kind);
        var r3 = Erets.Execute(h3 with { Rsp = h3.Rsp + 8 });
        Assert.Equal(OutcomeKind.Returned, r3.Outcome.Kind);
        Assert.Equal(0xFFFF_FFFF_8100_1234UL, r3.State.Rip);
    }
}
