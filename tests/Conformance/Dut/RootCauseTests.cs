using Fred.Dut;
using Fred.Generators;
using Fred.Model;

namespace Fred.Conformance.Dut;

/// <summary>
/// A frame mismatch names the rule of its root cause, decoded from the bits that differ, not only the rules of the slot
/// that shows it (Comparator.RulesForSlot).
/// </summary>
public class RootCauseTests
{
    static IReadOnlyList<Mismatch> Compare(MachineState s, Step step, Implementation impl)
    {
        var c = new DutCase(1, s, [step]);
        return Comparator.Compare(c, Campaign.Expect(c), CaseRunner.Run(impl, c), DutProfile.Strict);
    }

    static IReadOnlyList<Mismatch> Compare(MachineState s, Step step, string mutant) => Compare(s, step, Mutants.Find(mutant)!.Impl);

    /// <summary>The model, with some bits of one frame slot flipped after a delivery.</summary>
    static Implementation Flip(int slot, ulong bits) => (s, step) =>
    {
        var r = step.Apply(s);
        if (r.Outcome.Kind != OutcomeKind.Delivered) return r;
        ulong a = r.State.Rsp + 8UL * (ulong)slot;
        return r with { State = r.State with { Memory = r.State.Memory.Poke(a, 8, r.State.Memory.Peek(a, 8) ^ bits) } };
    };

    /// <summary>The model, with one frame slot set to a value after a delivery.</summary>
    static Implementation Set(int slot, ulong value) => (s, step) =>
    {
        var r = step.Apply(s);
        if (r.Outcome.Kind != OutcomeKind.Delivered) return r;
        return r with { State = r.State with { Memory = r.State.Memory.Poke(r.State.Rsp + 8UL * (ulong)slot, 8, value) } };
    };

    static Mismatch Field(IReadOnlyList<Mismatch> ms, string field) => Assert.Single(ms, m => m.Field == field);

    /// <summary>A ring-3 context whose level-0 stack is unmapped, with #PF (vector 14) and #SS (12) delivered at level 1.</summary>
    static MachineState UserOverBrokenLevel0(ulong rsp0) => World.User() with
    {
        Fred = World.User().Fred with { Rsp0 = rsp0, StackLevels = new StackLevels((1UL << 28) | (1UL << 24)) },
    };

    [Fact]
    [Trait("Rule", "FRED-DUT-08")]
    [Trait("Rule", "FRED-DELIV-08")]
    public void A_zero_slot_left_unwritten_over_dirty_stacks_names_FRED_DELIV_08()
    {
        var clean = World.Kernel();
        var dirty = World.Dirty(clean, 0x0123_4567_89AB_CDEF);
        var step = new DeliverStep(Event.Exception(Vector.UD));
        Assert.Empty(Compare(clean, step, "zero-slots-skipped"));
        var ms = Compare(dirty, step, "zero-slots-skipped");
        Assert.Equal(["frame.error_code", "frame.event_data", "frame.reserved"], ms.Select(m => m.Field).Order());
        Assert.Equal(["FRED-DELIV-08", "FRED-FRAME-01", "FRED-TYPE-03"], Field(ms, "frame.error_code").Rules);
        Assert.Equal(["FRED-DELIV-08", "FRED-DATA-05"], Field(ms, "frame.event_data").Rules);
        Assert.Equal(["FRED-DELIV-08", "FRED-FRAME-01"], Field(ms, "frame.reserved").Rules);
        // A wrong value that is not what memory held is not a missing write; nor is a wrong 0 over clean memory.
        Assert.Equal(["FRED-FRAME-01"], Field(Compare(dirty, step, Flip(7, 1)), "frame.reserved").Rules);
        Assert.Equal(["FRED-FRAME-05"], Field(Compare(clean, step, Set(4, 0)), "frame.rsp").Rules);
    }

    [Fact]
    [Trait("Rule", "FRED-DUT-08")]
    [Trait("Rule", "FRED-NEST-04")]
    public void The_nested_bit_set_on_a_double_fault_names_FRED_NEST_04()
    {
        // #PF from ring 3 onto the unmapped level-0 stack (STKLVLS[14] = 0 in Linux's settings) faults with #PF: #DF at level 3.
        var s = World.User() with { Fred = World.User().Fred with { Rsp0 = World.UnmappedStack } };
        var step = new DeliverStep(Event.PageFault(4, 0x7000_1000));
        Assert.True(step.Apply(s).Outcome.Event.IsException(Vector.DF));
        var ss = Field(Compare(s, step, "double-fault-nested"), "frame.ss_word");
        Assert.Equal(["FRED-NEST-04"], ss.Rules);
        // The same bit on an ordinary exception is FRED-NEST-06.
        Assert.Equal(["FRED-NEST-06"], Field(Compare(World.User(), new DeliverStep(Event.Exception(Vector.UD)), Flip(5, 1UL << 58)), "frame.ss_word").Rules);
    }

    [Fact]
    [Trait("Rule", "FRED-DUT-08")]
    [Trait("Rule", "FRED-FRAME-05")]
    public void RF_wrong_in_the_frame_of_INT_n_names_RF_rule_of_instruction_events()
    {
        var s = World.Kernel() with { Rflags = 0x2 };
        var rf = Field(Compare(s, new ExecuteStep([0xCD, 0x80]), Flip(3, MachineState.FlagRf)), "frame.rflags");
        Assert.Equal(["FRED-FRAME-05", "FRED-FRAME-09"], rf.Rules);
        // Another bit of the same slot, or RF in the frame of a hardware exception, is FRED-FRAME-05 alone.
        Assert.Equal(["FRED-FRAME-05"], Field(Compare(s, new ExecuteStep([0xCD, 0x80]), Flip(3, MachineState.FlagIf)), "frame.rflags").Rules);
        Assert.Equal(["FRED-FRAME-05"], Field(Compare(s, new DeliverStep(Event.Exception(Vector.UD)), Flip(3, MachineState.FlagRf)), "frame.rflags").Rules);
    }

    [Fact]
    [Trait("Rule", "FRED-DUT-08")]
    [Trait("Rule", "FRED-FRAME-07")]
    public void Instruction_length_bits_wrong_name_FRED_FRAME_07()
    {
        var ss = Field(Compare(World.User(), new ExecuteStep([0x66, 0xCD, 0x80]), "instruction-length-off-by-one"), "frame.ss_word");
        Assert.Equal(["FRED-FRAME-07", "FRED-INSN-02"], ss.Rules);
        var injected = Field(Compare(World.User(), new DeliverStep(new Event(EventType.SoftwareInterrupt, 0x80, InstructionLength: 2)), "instruction-length-off-by-one"), "frame.ss_word");
        Assert.Equal(["FRED-FRAME-07"], injected.Rules);
    }

    [Fact]
    [Trait("Rule", "FRED-DUT-08")]
    [Trait("Rule", "FRED-FRAME-02")]
    [Trait("Rule", "FRED-FRAME-04")]
    [Trait("Rule", "FRED-FRAME-10")]
    public void CS_and_SS_word_fields_name_their_own_rules_in_each_revision()
    {
        var ud = new DeliverStep(Event.Exception(Vector.UD));
        Assert.Equal(["FRED-FRAME-02"], Field(Compare(World.User(), ud, Flip(2, 8)), "frame.cs_word").Rules);
        Assert.Equal(["FRED-FRAME-06"], Field(Compare(World.User(), ud, Flip(2, 1UL << 16)), "frame.cs_word").Rules);
        Assert.Equal(["FRED-CET-07"], Field(Compare(World.User(), ud, Flip(2, 1UL << 18)), "frame.cs_word").Rules);
        Assert.Equal(["FRED-FRAME-04"], Field(Compare(World.User(Revision.Fred3), ud, Flip(2, 1UL << 24)), "frame.cs_word").Rules);
        Assert.Equal(["FRED-FRAME-04"], Field(Compare(World.User(Revision.Fred3), ud, Flip(2, 1UL << 18)), "frame.cs_word").Rules);
        Assert.Equal(["FRED-FRAME-03"], Field(Compare(World.User(), ud, Flip(5, 1UL << 17)), "frame.ss_word").Rules);
        Assert.Equal(["FRED-TYPE-01"], Field(Compare(World.User(), ud, Flip(5, 1UL << 33)), "frame.ss_word").Rules);
        Assert.Equal(["FRED-FRAME-08"], Field(Compare(World.User(), ud, Flip(5, 1UL << 57)), "frame.ss_word").Rules);
        // SS word bit 16 is the STI bit (FRED-FRAME-10), bits 63:60 the instruction length.
        Assert.Equal(["FRED-FRAME-10", "FRED-FRAME-07"], Field(Compare(World.User(), ud, Flip(5, (1UL << 16) | (1UL << 61))), "frame.ss_word").Rules);
    }

    [Fact]
    [Trait("Rule", "FRED-DUT-08")]
    [Trait("Rule", "FRED-NEST-01")]
    public void Nested_exceptions_of_instruction_events_name_the_saved_RIP_and_EXT_rules()
    {
        // INT 0x80 from ring 3 onto the unmapped level-0 stack: a nested #PF at level 1; its saved RIP off by the length.
        var pf = UserOverBrokenLevel0(World.UnmappedStack);
        var step = new ExecuteStep([0xCD, 0x80]);
        Assert.True(step.Apply(pf).Outcome.Event is { Nested: true, Vector: Vector.PF });
        Assert.Equal(["FRED-FRAME-05", "FRED-NEST-07"], Field(Compare(pf, step, Flip(1, 2)), "frame.rip").Rules);
        // The same event injected by a deliver step is not an instruction's: FRED-FRAME-05 alone.
        var injected = new DeliverStep(new Event(EventType.SoftwareInterrupt, 0x80, InstructionLength: 2));
        Assert.Equal(["FRED-FRAME-05"], Field(Compare(pf, injected, Flip(1, 2)), "frame.rip").Rules);
        // #UD from ring 3 onto a non-canonical level-0 stack: a nested #SS at level 1; bit 0 of its error code is EXT.
        var ss = UserOverBrokenLevel0(0x0000_9000_0000_0000);
        var ud = new DeliverStep(Event.Exception(Vector.UD));
        Assert.True(ud.Apply(ss).Outcome.Event is { Nested: true, Vector: Vector.SS });
        Assert.Equal(["FRED-NEST-08"], Field(Compare(ss, ud, Flip(0, 1)), "frame.error_code").Rules);
        Assert.Equal(["FRED-FRAME-01", "FRED-TYPE-03"], Field(Compare(ss, ud, Flip(0, 4)), "frame.error_code").Rules);
    }

    [Fact]
    [Trait("Rule", "FRED-DUT-08")]
    public void Campaign_rule_tallies_count_every_rule_a_frame_difference_can_name()
    {
        var c = new DutCase(1, World.Kernel() with { Rflags = 0x2 }, [new ExecuteStep([0xCD, 0x80])]);
        var rules = Campaign.Exercised(c, Campaign.Expect(c)).ToHashSet();
        foreach (var id in new[] { "FRED-DELIV-08", "FRED-FRAME-09", "FRED-FRAME-07", "FRED-NEST-06", "FRED-CET-07", "FRED-INSN-02" })
            Assert.Contains(id, rules);
    }
}
