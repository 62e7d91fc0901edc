using Fred.Generators;
using Fred.Model;
using static Fred.Conformance.Support.Conformance;

namespace Fred.Conformance;

/// <summary>spec/07-eretu.md and spec/08-erets.md: every check, and the state left alone on a fault.</summary>
public class EretTests
{
    [Fact]
    [Trait("Rule", "FRED-ERETU-04"), Trait("Rule", "FRED-ERETU-10")]
    public void Eretu_rejects_every_malformed_frame_with_GP0_and_changes_nothing() => Check(Arbitraries.MalformedFrames(3), c =>
    {
        var ready = Arbitraries.ReadyToReturn(c);
        var r = Eretu.Execute(ready);
        ExpectEqual(Outcome.Faulted(Event.GeneralProtection()), r.Outcome, "ERETU outcome", () => c.ToString());
        Expect(r.State == ready, () => $"a faulting ERETU changed the state\n{c}");
    });

    [Fact]
    [Trait("Rule", "FRED-ERETS-03"), Trait("Rule", "FRED-ERETS-06")]
    public void Erets_rejects_every_malformed_frame_with_GP0_and_changes_nothing() => Check(Arbitraries.MalformedFrames(0), c =>
    {
        var ready = Arbitraries.ReadyToReturn(c);
        var r = Erets.Execute(ready);
        ExpectEqual(Outcome.Faulted(Event.GeneralProtection()), r.Outcome, "ERETS outcome", () => c.ToString());
        Expect(r.State == ready, () => $"a faulting ERETS changed the state\n{c}");
    });

    [Fact]
    [Trait("Rule", "FRED-ERETU-11"), Trait("Rule", "FRED-ERETU-08"), Trait("Rule", "FRED-ERETU-10")]
    public void No_frame_content_lets_ERETU_raise_privilege() => Check(Arbitraries.ArbitraryFrames(3), c =>
    {
        var ready = Arbitraries.ReadyToReturn(c);
        var r = Eretu.Execute(ready);
        if (r.Outcome.Kind != OutcomeKind.Returned)
        {
            Expect(r.Outcome.Kind == OutcomeKind.Fault && r.State == ready, () => $"ERETU neither returned nor faulted cleanly: {r.Outcome}\n{c}");
            return;
        }
        Expect(r.State.Cpl == 3, () => $"ERETU produced CPL {r.State.Cpl}\n{c}");
        Expect((r.State.Rflags & (MachineState.FlagIopl | MachineState.FlagVm)) == 0, () => $"ring 3 runs with IOPL or VM: RFLAGS 0x{r.State.Rflags:X}\n{c}");
        Expect(r.State.StackLevel == 0, () => $"ring 3 runs at stack level {r.State.StackLevel}\n{c}");
        Expect(!r.State.StiBlocked, () => $"ERETU established STI blocking\n{c}");
    }, cases: 1000);

    [Fact]
    [Trait("Rule", "FRED-ERETS-04"), Trait("Rule", "FRED-ERETS-05"), Trait("Rule", "FRED-ERETS-06")]
    public void Erets_never_raises_the_stack_level_or_leaves_ring_0() => Check(Arbitraries.ArbitraryFrames(0), c =>
    {
        var ready = Arbitraries.ReadyToReturn(c);
        var r = Erets.Execute(ready);
        if (r.Outcome.Kind != OutcomeKind.Returned)
        {
            Expect(r.Outcome.Kind == OutcomeKind.Fault && r.State == ready, () => $"ERETS neither returned nor faulted cleanly: {r.Outcome}\n{c}");
            return;
        }
        Expect(r.State.StackLevel <= ready.StackLevel, () => $"ERETS raised the stack level {ready.StackLevel} -> {r.State.StackLevel}\n{c}");
        int popped = (int)((ready.Memory.Peek(EretFrame.PopBase(ready) + 8, 8) >> 16) & 3);
        ExpectEqual(Math.Min(ready.StackLevel, popped), r.State.StackLevel, "stack level after ERETS", () => c.ToString());
        Expect(r.State.Cpl == 0 && r.State.Cs == ready.Cs && r.State.Ss == ready.Ss && r.State.GsBase == ready.GsBase,
            () => $"ERETS changed CS, SS, GS or the privilege level\n{c}");
    }, cases: 1000);

    [Theory]
    [Trait("Rule", "FRED-ERETU-01"), Trait("Rule", "FRED-ERETS-01")]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public void ERET_is_UD_without_CR4_FRED_or_outside_ring_0(bool fredOff, bool ring3)
    {
        var s = World.Kernel();
        if (fredOff) s = s with { Cr4 = MachineState.Cr4Pae };
        if (ring3) s = World.User();
        foreach (var r in new[] { Eretu.Execute(s), Erets.Execute(s) })
        {
            Assert.Equal(Outcome.Faulted(Event.InvalidOpcode), r.Outcome);
            Assert.Equal(s, r.State);
        }
        Assert.Equal(new byte[] { 0xF3, 0x0F, 0x01, 0xCA }, Eretu.Encoding);
        Assert.Equal(new byte[] { 0xF2, 0x0F, 0x01, 0xCA }, Erets.Encoding);
    }

    [Fact]
    [Trait("Rule", "FRED-ERETU-02")]
    public void Eretu_at_a_raised_stack_level_is_GP0_before_reading_memory()
    {
        // RSP points at unmapped memory: a #PF would show that memory was read first.
        var s = World.Kernel().WithStackLevel(2) with { Rsp = 0x0000_5000_0000_0000 };
        var r = Eretu.Execute(s);
        Assert.Equal(Outcome.Faulted(Event.GeneralProtection()), r.Outcome);
        Assert.Equal(s, r.State);
    }

    [Theory]
    [Trait("Rule", "FRED-ERETU-03"), Trait("Rule", "FRED-ERETS-02")]
    [InlineData(false)]
    [InlineData(true)]
    public void A_frame_that_cannot_be_read_faults_and_changes_nothing(bool user)
    {
        var unmapped = World.Kernel() with { Rsp = 0x0000_5000_0000_0000 };
        var r = user ? Eretu.Execute(unmapped) : Erets.Execute(unmapped);
        // First quadword read is RSP+8 (FRED 5 skips the error code): supervisor read of a non-present page.
        Assert.Equal(Outcome.Faulted(Event.PageFault(0, 0x0000_5000_0000_0008)), r.Outcome);
        Assert.Equal(unmapped, r.State);
        var nonCanonical = World.Kernel() with { Rsp = 0x8000_0000_0000_0000 };
        Assert.Equal(Outcome.Faulted(Event.Exception(Vector.SS, 0)), (user ? Eretu.Execute(nonCanonical) : Erets.Execute(nonCanonical)).Outcome);
    }
}
