using Fred.Generators;
using Fred.Model;

namespace Fred.Conformance;

/// <summary>spec/07-eretu.md: STAR's fast paths, the GDT descriptor path, compatibility-mode truncation; spec/00-overview.md.</summary>
public class SegmentTests
{
    /// <summary>A ring-0 handler whose frame returns to ring 3 with the given CS/SS selectors and RIP/RSP.</summary>
    static MachineState Returning(ushort cs, ushort ss, ulong rip = 0x40_1000, ulong rsp = 0x7FFF_FFF0_3F00)
    {
        var h = Delivery.Deliver(World.User(), Event.Interrupt(0x40)).State;
        var m = h.Memory.Poke(h.Rsp + 8, 8, rip).Poke(h.Rsp + 16, 8, cs).Poke(h.Rsp + 32, 8, rsp).Poke(h.Rsp + 40, 8, ss);
        return h with { Memory = m };
    }

    [Theory]
    [Trait("Rule", "FRED-ERETU-05")]
    [InlineData(Selectors.UserCs, Selectors.UserDs, true)]             // STAR[63:48] + 16, + 8: 64-bit
    [InlineData(Selectors.User32Cs, Selectors.UserDs, false)]          // STAR[63:48], + 8: compatibility mode
    [InlineData(World.AltUserCs64, World.AltUserDs, true)]             // descriptor path, L=1
    [InlineData(World.AltUserCs32Limited, World.AltUserDs, false)]     // descriptor path, L=0
    public void Eretu_selects_the_mode_by_fast_path_or_descriptor(ushort cs, ushort ss, bool is64)
    {
        var r = Eretu.Execute(Returning(cs, ss));
        Assert.Equal(OutcomeKind.Returned, r.Outcome.Kind);
        Assert.Equal((cs, ss, is64, 3), (r.State.Cs, r.State.Ss, r.State.Is64BitMode, r.State.Cpl));
    }

    [Fact]
    [Trait("Rule", "FRED-ERETU-05")]
    public void The_fast_path_compares_all_16_selector_bits()
    {
        // STAR[63:48] = 0x8023: Bochs's 15-bit compare would take 0x0033/0x002B as the fast path; we go to the GDT,
        // where index 0x30>>3 = 6 is a 64-bit DPL-3 code segment anyway, so the return succeeds but via descriptors.
        var h = Returning(Selectors.UserCs, Selectors.UserDs) with { Star = 0x8023_0010_0000_0000, GdtLimit = 0x2F };
        Assert.Equal(Outcome.Faulted(Event.GeneralProtection(0x30)), Eretu.Execute(h).Outcome);   // index 6 is past the limit
    }

    [Theory]
    [Trait("Rule", "FRED-ERETU-06")]
    [InlineData(World.NotPresentCs, World.AltUserDs, Vector.NP, 0x58)]
    [InlineData(World.Dpl0Cs, World.AltUserDs, Vector.GP, 0x60)]
    [InlineData(World.DataAsCs, World.AltUserDs, Vector.GP, 0x68)]
    [InlineData(World.LAndDCs, World.AltUserDs, Vector.GP, 0x70)]
    [InlineData(World.AltUserCs64, World.ReadOnlyDs, Vector.GP, 0x78)]
    [InlineData(World.AltUserCs64, World.NotPresentDs, Vector.SS, 0x80)]
    [InlineData(World.AltUserCs64, (ushort)3, Vector.GP, 0)]            // null SS
    [InlineData((ushort)3, World.AltUserDs, Vector.GP, 0)]               // null CS
    [InlineData((ushort)0x47, World.AltUserDs, Vector.GP, 0x44)]         // TI=1: no LDT
    [InlineData((ushort)0x93, World.AltUserDs, Vector.GP, 0x90)]         // past the GDT limit
    public void Descriptor_path_faults(ushort cs, ushort ss, byte vector, int errorCode)
    {
        var h = Returning(cs, ss);
        var r = Eretu.Execute(h);
        Assert.Equal(Outcome.Faulted(Event.Exception(vector, (ulong)errorCode)), r.Outcome);
        Assert.Equal(h, r.State);
    }

    [Fact]
    [Trait("Rule", "FRED-ERETU-07")]
    public void Compatibility_mode_truncates_RIP_and_RSP_and_checks_the_limit()
    {
        var r = Eretu.Execute(Returning(Selectors.User32Cs, Selectors.UserDs, rip: 0x0000_0001_0040_1000, rsp: 0x0000_7FFF_1234_5678));
        Assert.Equal(0x40_1000UL, r.State.Rip);
        Assert.Equal(0x1234_5678UL, r.State.Rsp);
        // Limit 0x00FFFFFF: RIP 0x01000000 is beyond it; 0x00FFFFFF is the last byte inside.
        Assert.Equal(Outcome.Faulted(Event.GeneralProtection()), Eretu.Execute(Returning(World.AltUserCs32Limited, World.AltUserDs, rip: 0x0100_0000)).Outcome);
        Assert.Equal(OutcomeKind.Returned, Eretu.Execute(Returning(World.AltUserCs32Limited, World.AltUserDs, rip: 0x00FF_FFFF)).Outcome.Kind);
        // Canonicality is checked on the full 64-bit RIP before truncation.
        Assert.Equal(Outcome.Faulted(Event.GeneralProtection()), Eretu.Execute(Returning(Selectors.User32Cs, Selectors.UserDs, rip: 0x8000_0000_0040_1000)).Outcome);
    }

    [Theory]
    [Trait("Rule", "FRED-REV-04")]
    [InlineData(0x0000_7FFF_FFFF_FFFFUL, true)]
    [InlineData(0x0000_8000_0000_0000UL, false)]
    [InlineData(0xFFFF_7FFF_FFFF_FFFFUL, false)]
    [InlineData(0xFFFF_8000_0000_0000UL, true)]
    [InlineData(0x8000_0000_0000_0000UL, false)]
    public void Canonical_means_bits_63_to_47_agree(ulong address, bool canonical) => Assert.Equal(canonical, Canonical.IsCanonical(address));

    [Fact]
    [Trait("Rule", "FRED-REV-01")]
    public void The_revision_is_a_value_of_the_state()
    {
        Assert.Equal(Revision.Fred5, World.Kernel().Revision);
        Assert.Equal(Revision.Fred3, World.Kernel(Revision.Fred3).Revision);
        Assert.Equal([Revision.Fred3, Revision.Fred5], Enum.GetValues<Revision>());
    }
}
