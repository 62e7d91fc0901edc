using FsCheck.Fluent;
using Fred.Generators;
using Fred.Model;
using static Fred.Conformance.Support.Conformance;

namespace Fred.Conformance;

/// <summary>spec/01-enabling-and-msrs.md: WRMSR/RDMSR and MOV CR4 with their #GP checks.</summary>
public class MsrTests
{
    static bool Canon(ulong a) => (ulong)(((long)a << 16) >> 16) == a;

    /// <summary>The spec's acceptance rule per MSR, written from spec/01 (FRED-MSR-01, 03..08).</summary>
    static bool Accepts(uint msr, ulong v) => msr switch
    {
        0x1D4 => (v & 0x834) == 0 && Canon(v & ~0xFFFUL),
        0x1CC or 0x1CD or 0x1CE or 0x1CF => (v & 0x3F) == 0 && Canon(v),
        0x1D0 or 0xC000_0081 => true,
        0x1D1 or 0x1D2 or 0x1D3 => (v & 7) == 0 && Canon(v),
        0x6A4 or 0x6A7 => (v & 3) == 0 && Canon(v),
        0xC000_0101 or 0xC000_0102 => Canon(v),
        0x6A0 or 0x6A2 => (v & 0x3C0) == 0 && Canon(v & ~0xFFFUL),
        _ => false,
    };

    [Fact]
    [Trait("Rule", "FRED-MSR-01"), Trait("Rule", "FRED-MSR-03"), Trait("Rule", "FRED-MSR-04"), Trait("Rule", "FRED-MSR-05"), Trait("Rule", "FRED-MSR-06")]
    [Trait("Rule", "FRED-MSR-07"), Trait("Rule", "FRED-MSR-08"), Trait("Rule", "FRED-MSR-10")]
    public void Wrmsr_accepts_exactly_the_valid_values_and_rdmsr_reads_them_back() =>
        Check(Arb.From(Gen.Zip(Arbitraries.MsrNumber, Arbitraries.MsrValue)), t =>
        {
            var (msr, v) = t;
            var s = World.Kernel();
            var r = MsrAccess.Write(s, msr, v);
            string ctx() => $"WRMSR {Msr.Name(msr)} <- 0x{v:X}";
            if (Accepts(msr, v))
            {
                ExpectEqual(OutcomeKind.Completed, r.Outcome.Kind, "WRMSR outcome", ctx);
                ExpectEqual(v, MsrAccess.Read(r.State, msr).Value, "RDMSR after WRMSR", ctx);
            }
            else
            {
                ExpectEqual(Outcome.Faulted(Event.GeneralProtection()), r.Outcome, "WRMSR outcome", ctx);
                Expect(r.State == s, () => $"a rejected WRMSR changed the state: {ctx()}");
            }
        }, cases: 2000);

    [Fact]
    [Trait("Rule", "FRED-MSR-02")]
    public void Wrmsr_and_rdmsr_outside_ring_0_are_GP0()
    {
        var s = World.User();
        foreach (var msr in Msr.All)
        {
            Assert.Equal(Outcome.Faulted(Event.GeneralProtection()), MsrAccess.Write(s, msr, 0).Outcome);
            Assert.Equal(Outcome.Faulted(Event.GeneralProtection()), MsrAccess.Read(s, msr).Outcome);
        }
    }

    [Theory]
    [Trait("Rule", "FRED-MSR-03"), Trait("Rule", "FRED-MSR-05"), Trait("Rule", "FRED-MSR-07")]
    [InlineData(0x1D4u, 0xFFFF_FFFF_8160_0004UL, false)]   // CONFIG bit 2
    [InlineData(0x1D4u, 0xFFFF_FFFF_8160_0800UL, false)]   // CONFIG bit 11
    [InlineData(0x1D4u, 0xFFFF_FFFF_8160_0030UL, false)]   // CONFIG bits 5:4
    [InlineData(0x1D4u, 0xFFFF_FFFF_8160_07CBUL, true)]    // CSL 3, SSS, red zone 7, interrupt level 3
    [InlineData(0x1D4u, 0x0000_8000_0000_1000UL, false)]   // entry point not canonical
    [InlineData(0x1CDu, 0xFFFF_C900_0011_4020UL, false)]   // RSP1 bit 5
    [InlineData(0x1CDu, 0xFFFF_C900_0011_4040UL, true)]
    [InlineData(0x1D2u, 0xFFFF_C900_0042_3FFCUL, false)]   // SSP2 bit 2
    [InlineData(0x6A4u, 0xFFFF_C900_0040_3FFCUL, true)]    // PL0_SSP may be 4-aligned (delivery checks bit 2)
    [InlineData(0x1D0u, 0xFFFF_FFFF_FFFF_FFFFUL, true)]    // STKLVLS has no reserved bits
    [InlineData(0x1D5u, 0UL, false)]                        // not an MSR of this processor
    public void Worked_examples_of_wrmsr(uint msr, ulong value, bool accepted) =>
        Assert.Equal(accepted ? OutcomeKind.Completed : OutcomeKind.Fault, MsrAccess.Write(World.Kernel(), msr, value).Outcome.Kind);

    [Fact]
    [Trait("Rule", "FRED-MSR-09")]
    public void Mov_cr4_checks_reserved_bits_LMA_PAE_and_LA57() =>
        // Half the values keep to the defined bits, so that the checks beyond "reserved bit set" are reached.
        Check(Arb.From(from raw in Arbitraries.UInt64 from inDefined in Gen.Elements(true, false) from lma in Gen.Elements(true, false) from cpl in Gen.Elements(0, 3)
                       select (inDefined ? raw & (0x7FFFUL | (0x3FFUL << 16) | (1UL << 27) | (1UL << 28) | (1UL << 32)) : raw, lma, cpl)), t =>
        {
            var (v, lma, cpl) = t;
            var s = World.Kernel() with { Efer = lma ? MachineState.EferLma | MachineState.EferLme : 0 };
            if (cpl == 3) s = s with { Cs = Selectors.UserCs };
            const ulong defined = 0x7FFFUL | (0x3FFUL << 16) | (1UL << 27) | (1UL << 28) | (1UL << 32);
            bool ok = cpl == 0 && (v & ~defined) == 0 && !((v & (1UL << 32)) != 0 && !lma) && !(lma && (v & (1UL << 5)) == 0)
                      && !(lma && ((v ^ s.Cr4) & (1UL << 12)) != 0);                  // LA57 fixed while LMA = 1
            var r = ControlRegisters.MovToCr4(s, v);
            ExpectEqual(ok ? OutcomeKind.Completed : OutcomeKind.Fault, r.Outcome.Kind, $"MOV CR4 <- 0x{v:X} (LMA={lma}, CPL={cpl})", () => "");
            Expect(ok ? r.State.Cr4 == v : r.State == s, () => $"MOV CR4 <- 0x{v:X}: wrong state after");
        }, cases: 1000);

    [Fact]
    [Trait("Rule", "FRED-MSR-09")]
    public void CR4_LA57_cannot_change_in_long_mode_but_can_outside_it()
    {
        var s = World.Kernel();
        Assert.Equal(Outcome.Faulted(Event.GeneralProtection()), ControlRegisters.MovToCr4(s, s.Cr4 | MachineState.Cr4La57).Outcome);
        var legacy = s with { Efer = 0, Cr4 = MachineState.Cr4Pae };
        Assert.Equal(OutcomeKind.Completed, ControlRegisters.MovToCr4(legacy, MachineState.Cr4Pae | MachineState.Cr4La57).Outcome.Kind);
        Assert.Equal(OutcomeKind.Completed, ControlRegisters.MovToCr4(s, s.Cr4 | (1UL << 9)).Outcome.Kind);   // another bit: fine
    }

    [Fact]
    [Trait("Rule", "FRED-MSR-09")]
    public void CR4_FRED_needs_long_mode()
    {
        var legacy = World.Kernel() with { Efer = 0, Cr4 = MachineState.Cr4Pae };
        Assert.Equal(Outcome.Faulted(Event.GeneralProtection()), ControlRegisters.MovToCr4(legacy, MachineState.Cr4Pae | MachineState.Cr4Fred).Outcome);
        Assert.Equal(OutcomeKind.Completed, ControlRegisters.MovToCr4(World.Kernel(), MachineState.Cr4Pae | MachineState.Cr4Fred).Outcome.Kind);
    }
}
