using Fred.Generators;
using Fred.Conformance.Support;
using Fred.Model;
using static Fred.Conformance.Support.Conformance;

namespace Fred.Conformance;

/// <summary>spec/03-frame.md and spec/05-event-data.md: the 64-byte frame, field by field, for both revisions.</summary>
public class FrameTests
{
    [Fact]
    [Trait("Rule", "FRED-FRAME-01"), Trait("Rule", "FRED-FRAME-02"), Trait("Rule", "FRED-FRAME-03"), Trait("Rule", "FRED-FRAME-04")]
    [Trait("Rule", "FRED-FRAME-05"), Trait("Rule", "FRED-FRAME-06"), Trait("Rule", "FRED-FRAME-07"), Trait("Rule", "FRED-FRAME-08")]
    [Trait("Rule", "FRED-REV-02"), Trait("Rule", "FRED-TYPE-03")]
    [Trait("Rule", "FRED-DATA-01"), Trait("Rule", "FRED-DATA-02"), Trait("Rule", "FRED-DATA-03"), Trait("Rule", "FRED-DATA-04"), Trait("Rule", "FRED-DATA-05")]
    public void Frame_holds_every_field_as_the_spec_lays_it_out() => Check(Arbitraries.Deliveries, c =>
    {
        var r = Delivery.Deliver(c.State, c.Event);
        Expect(r.Outcome.Kind == OutcomeKind.Delivered && r.Outcome.Event == c.Event.Normalized(), () => $"expected the event itself to be delivered, got {r.Outcome}\n{c}");
        Expect(r.State.Rsp % 64 == 0, () => $"frame base 0x{r.State.Rsp:X} is not 64-byte aligned\n{c}");
        var expected = Oracle.Frame(c.State, c.Event);
        for (int i = 0; i < 8; i++)
            ExpectEqual(expected[i], r.State.Memory.Peek(r.State.Rsp + (ulong)(8 * i), 8), $"frame {Oracle.FieldNames[i]}", () => c.ToString());
    });

    [Fact]
    [Trait("Rule", "FRED-FRAME-03"), Trait("Rule", "FRED-FRAME-04")]
    public void Reserved_bits_of_every_delivered_frame_are_zero() => Check(Arbitraries.Deliveries, c =>
    {
        var r = Delivery.Deliver(c.State, c.Event);
        var f = Frame.Read(r.State.Memory, r.State.Rsp)!.Value;
        var cs = FrameWords.DecodeCs(c.State.Revision, f.CsWord);
        var ss = FrameWords.DecodeSs(c.State.Revision, f.SsWord);
        Expect(cs.ReservedBits == 0 && ss.ReservedBits == 0 && f.Reserved == 0, () => $"reserved bits set\n{c}");
        // Fixed reserved positions of both revisions: SS 47:40, 55:52, 59; CS 63:32.
        Expect((f.SsWord & 0x0880_FF00_0000_0000UL & ~(0xFFUL << 32)) == 0 && (f.SsWord & (0xFFUL << 40)) == 0 && (f.CsWord >> 32) == 0,
            () => $"fixed reserved bits set\n{c}");
    });

    [Fact]
    [Trait("Rule", "FRED-REV-02")]
    public void Revision_3_and_5_put_the_controls_in_different_words()
    {
        var s = World.Kernel(Revision.Fred5) with { Rflags = 0x202, StiBlocked = true };
        var e = new Event(EventType.SoftwareInterrupt, 0x80, InstructionLength: 2);
        var f5 = Frame.Read(Delivery.Deliver(s, e).State.Memory, Delivery.Deliver(s, e).State.Rsp)!.Value;
        var s3 = s with { Revision = Revision.Fred3 };
        var r3 = Delivery.Deliver(s3, e);
        var f3 = Frame.Read(r3.State.Memory, r3.State.Rsp)!.Value;
        // FRED 5: STI bit 16 and SWEVENT bit 17 of the SS word; FRED 3: bits 24 and 25 of the CS word.
        Assert.Equal(0x0003_0000UL, f5.SsWord & 0xFFFF_0000UL);
        Assert.Equal(0UL, f5.CsWord & ~0xFFFFUL);
        Assert.Equal(0x0300_0000UL, f3.CsWord & ~0xFFFFUL);
        Assert.Equal(0UL, f3.SsWord & 0xFFFF_0000UL);
    }
}
