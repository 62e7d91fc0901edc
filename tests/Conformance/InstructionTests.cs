using Fred.Generators;
using Fred.Model;
using Iced.Intel;
using static Fred.Conformance.Support.Conformance;

namespace Fred.Conformance;

/// <summary>spec/10-instructions.md: the instructions that raise events, cross-checked against Iced's decoder.</summary>
public class InstructionTests
{
    static Instruction IcedDecode(byte[] bytes, bool is64)
    {
        var d = Iced.Intel.Decoder.Create(is64 ? 64 : 32, new ByteArrayCodeReader(bytes));
        d.IP = 0x1000;
        return d.Decode();
    }

    static EventInstructionKind? KindOf(Mnemonic m) => m switch
    {
        Mnemonic.Int => EventInstructionKind.IntN,
        Mnemonic.Int3 => EventInstructionKind.Int3,
        Mnemonic.Int1 => EventInstructionKind.Int1,
        Mnemonic.Into => EventInstructionKind.Into,
        Mnemonic.Syscall => EventInstructionKind.Syscall,
        Mnemonic.Sysenter => EventInstructionKind.Sysenter,
        _ => null,
    };

    [Fact]
    [Trait("Rule", "FRED-FRAME-07"), Trait("Rule", "FRED-INSN-01"), Trait("Rule", "FRED-INSN-02"), Trait("Rule", "FRED-INSN-03"), Trait("Rule", "FRED-INSN-04")]
    public void Instruction_length_in_the_frame_equals_Iceds_decoded_length() => Check(Arbitraries.EventInstructions, c =>
    {
        var iced = IcedDecode(c.Bytes, c.Is64BitMode);
        var s = (c.Is64BitMode ? World.User() : World.User() with { Cs = Selectors.User32Cs, Is64BitMode = false, Rip = 0x40_1000 })
            with { Rflags = 0xA02 /* OF set so INTO raises #OF */ };
        var r = EventInstructions.Execute(s, c.Bytes);
        if (c.Bytes.Length > 15)
        {
            Expect(iced.IsInvalid, () => $"Iced decoded an instruction of {c.Bytes.Length} bytes\n{c}");
            ExpectEqual(Event.GeneralProtection() with { Nested = false }, r.Outcome.Event with { Nested = false }, "over-long instruction", () => c.ToString());
            return;
        }
        bool into = c.Bytes[^1] == 0xCE && (c.Bytes.Length == 1 || c.Bytes[^2] != 0xCD);     // CD CE is INT 0xCE
        if (into && c.Is64BitMode)
        {
            Expect(iced.IsInvalid, () => $"Iced decoded INTO in 64-bit mode\n{c}");
            ExpectEqual(Event.InvalidOpcode, r.Outcome.Event, "INTO in 64-bit mode", () => c.ToString());
            return;
        }
        Expect(!iced.IsInvalid, () => $"Iced rejects the instruction\n{c}");
        var decoded = EventInstructions.Decode(c.Bytes, c.Is64BitMode);
        ExpectEqual(KindOf(iced.Mnemonic), decoded?.Kind, "instruction kind", () => c.ToString());
        ExpectEqual(iced.Length, decoded?.Length, "decoded length", () => c.ToString());
        if (iced.Mnemonic == Mnemonic.Syscall && !c.Is64BitMode)
        {
            // Iced decodes it (AMD runs SYSCALL in compatibility mode); on Intel it is #UD at the instruction (FRED-INSN-04).
            ExpectEqual(Event.InvalidOpcode, r.Outcome.Event, "SYSCALL in compatibility mode", () => c.ToString());
            return;
        }
        Expect(r.Outcome.Kind == OutcomeKind.Delivered, () => $"no event delivered: {r.Outcome}\n{c}");
        var f = Frame.Read(r.State.Memory, r.State.Rsp)!.Value;
        var ss = FrameWords.DecodeSs(s.Revision, f.SsWord);
        ExpectEqual(iced.Length, ss.InstructionLength, "frame instruction length", () => c.ToString());
        ExpectEqual(iced.NextIP - 0x1000 + s.Rip, f.Rip, "saved RIP (the next instruction)", () => c.ToString());
        var (type, vector) = KindOf(iced.Mnemonic) switch
        {
            EventInstructionKind.IntN => (EventType.SoftwareInterrupt, (byte)iced.Immediate8),
            EventInstructionKind.Int3 => (EventType.SoftwareException, Vector.BP),
            EventInstructionKind.Int1 => (EventType.PrivilegedSoftwareException, Vector.DB),
            EventInstructionKind.Into => (EventType.SoftwareException, Vector.OF),
            EventInstructionKind.Syscall => (EventType.Other, Vector.Syscall),
            _ => (EventType.Other, Vector.Sysenter),
        };
        ExpectEqual(type, ss.Type, "event type", () => c.ToString());
        ExpectEqual(vector, ss.Vector, "vector", () => c.ToString());
    }, cases: 1000);

    [Fact]
    [Trait("Rule", "FRED-INSN-03")]
    public void Lock_prefix_is_UD_and_16_bytes_is_GP()
    {
        var s = World.User();
        Assert.Equal(Event.InvalidOpcode, EventInstructions.Execute(s, [0xF0, 0xCD, 0x80]).Outcome.Event);
        Assert.True(IcedDecode([0xF0, 0xCD, 0x80], true).IsInvalid);
        byte[] longest = [.. Enumerable.Repeat((byte)0x66, 13), 0xCD, 0x80];
        Assert.Equal(15, EventInstructions.Decode(longest, true)!.Value.Length);
        Assert.Equal(15, IcedDecode(longest, true).Length);
        byte[] tooLong = [0x66, .. longest];
        Assert.Equal(Event.GeneralProtection(), EventInstructions.Execute(s, tooLong).Outcome.Event);
        Assert.True(IcedDecode(tooLong, true).IsInvalid);
    }

    [Fact]
    [Trait("Rule", "FRED-INSN-01")]
    public void Into_without_OF_only_advances_RIP_and_INT_3_is_a_software_interrupt()
    {
        var compat = World.User() with { Cs = Selectors.User32Cs, Is64BitMode = false, Rip = 0x40_1000, Rflags = 0x202 };
        var r = EventInstructions.Execute(compat, [0xCE]);
        Assert.Equal(OutcomeKind.Completed, r.Outcome.Kind);
        Assert.Equal(0x40_1001UL, r.State.Rip);
        Assert.Equal(compat with { Rip = 0x40_1001 }, r.State);
        var int3 = EventInstructions.Execute(World.User(), [0xCD, 0x03]);
        Assert.Equal(new Event(EventType.SoftwareInterrupt, 3, InstructionLength: 2), int3.Outcome.Event);
        Assert.Equal(OutcomeKind.Delivered, EventInstructions.Execute(World.User(), [0x90]).Outcome.Kind);   // not an event instruction: #UD
        Assert.Equal(Event.InvalidOpcode, EventInstructions.Execute(World.User(), [0x90]).Outcome.Event);
    }

    [Fact]
    [Trait("Rule", "FRED-INSN-04"), Trait("Rule", "FRED-INSN-05")]
    public void Syscall_and_sysenter_are_delivered_from_both_modes_and_leave_RCX_R11_alone()
    {
        // EFER.SCE is clear: under FRED it does not matter (SDM SYSCALL pseudocode checks it only when CR4.FRED = 0).
        var user64 = World.User() with { Rcx = 0x1111, R11 = 0x2222, Efer = MachineState.EferLma | MachineState.EferLme };
        var compat = user64 with { Cs = Selectors.User32Cs, Is64BitMode = false, Rip = 0x40_1000 };
        // SYSCALL outside 64-bit mode is #UD on Intel, saved RIP at the instruction (FRED-INSN-04).
        var ud = EventInstructions.Execute(compat, [0x0F, 0x05]);
        Assert.Equal(new Outcome(OutcomeKind.Delivered, Event.InvalidOpcode), ud.Outcome);
        Assert.Equal(compat.Rip, Frame.Read(ud.State.Memory, ud.State.Rsp)!.Value.Rip);
        foreach (var (s, bytes) in new[] { (user64, new byte[] { 0x0F, 0x05 }), (user64, [0x0F, 0x34]), (compat, [0x0F, 0x34]) })
            {
                var r = EventInstructions.Execute(s, bytes);
                Assert.Equal(OutcomeKind.Delivered, r.Outcome.Kind);
                Assert.Equal(EventType.Other, r.Outcome.Event.Type);
                Assert.Equal(0x1111UL, r.State.Rcx);
                Assert.Equal(0x2222UL, r.State.R11);
                var ss = FrameWords.DecodeSs(Revision.Fred5, Frame.Read(r.State.Memory, r.State.Rsp)!.Value.SsWord);
                Assert.Equal(s.Is64BitMode, ss.Is64Bit);
            }
    }
}
