namespace Fred.Model;

/// <summary>MSR numbers the model implements (FRED-MSR-01).</summary>
public static class Msr
{
    /// <summary>IA32_U_CET.</summary>
    public const uint UCet = 0x6A0;
    /// <summary>IA32_S_CET.</summary>
    public const uint SCet = 0x6A2;
    /// <summary>IA32_PL0_SSP, which is also IA32_FRED_SSP0.</summary>
    public const uint Pl0Ssp = 0x6A4;
    /// <summary>IA32_PL3_SSP.</summary>
    public const uint Pl3Ssp = 0x6A7;
    /// <summary>IA32_FRED_RSP0.</summary>
    public const uint FredRsp0 = 0x1CC;
    /// <summary>IA32_FRED_RSP1.</summary>
    public const uint FredRsp1 = 0x1CD;
    /// <summary>IA32_FRED_RSP2.</summary>
    public const uint FredRsp2 = 0x1CE;
    /// <summary>IA32_FRED_RSP3.</summary>
    public const uint FredRsp3 = 0x1CF;
    /// <summary>IA32_FRED_STKLVLS.</summary>
    public const uint FredStackLevels = 0x1D0;
    /// <summary>IA32_FRED_SSP1.</summary>
    public const uint FredSsp1 = 0x1D1;
    /// <summary>IA32_FRED_SSP2.</summary>
    public const uint FredSsp2 = 0x1D2;
    /// <summary>IA32_FRED_SSP3.</summary>
    public const uint FredSsp3 = 0x1D3;
    /// <summary>IA32_FRED_CONFIG.</summary>
    public const uint FredConfig = 0x1D4;
    /// <summary>IA32_STAR.</summary>
    public const uint Star = 0xC000_0081;
    /// <summary>IA32_GS_BASE.</summary>
    public const uint GsBase = 0xC000_0101;
    /// <summary>IA32_KERNEL_GS_BASE.</summary>
    public const uint KernelGsBase = 0xC000_0102;

    /// <summary>Every MSR number the model implements.</summary>
    public static readonly uint[] All =
        [UCet, SCet, Pl0Ssp, Pl3Ssp, FredRsp0, FredRsp1, FredRsp2, FredRsp3, FredStackLevels, FredSsp1, FredSsp2, FredSsp3, FredConfig, Star, GsBase, KernelGsBase];

    /// <summary>The architectural name of an MSR number.</summary>
    public static string Name(uint msr) => msr switch
    {
        UCet => "IA32_U_CET", SCet => "IA32_S_CET", Pl0Ssp => "IA32_PL0_SSP", Pl3Ssp => "IA32_PL3_SSP",
        FredRsp0 => "IA32_FRED_RSP0", FredRsp1 => "IA32_FRED_RSP1", FredRsp2 => "IA32_FRED_RSP2", FredRsp3 => "IA32_FRED_RSP3",
        FredStackLevels => "IA32_FRED_STKLVLS", FredSsp1 => "IA32_FRED_SSP1", FredSsp2 => "IA32_FRED_SSP2", FredSsp3 => "IA32_FRED_SSP3",
        FredConfig => "IA32_FRED_CONFIG", Star => "IA32_STAR", GsBase => "IA32_GS_BASE", KernelGsBase => "IA32_KERNEL_GS_BASE",
        _ => $"MSR 0x{msr:X}",
    };
}

/// <summary>WRMSR and RDMSR over the model's MSRs (spec/01-enabling-and-msrs.md).</summary>
public static class MsrAccess
{
    /// <summary>Reserved bits of IA32_U_CET / IA32_S_CET that the model checks (9:6).</summary>
    public const ulong CetReservedMask = 0x3C0;

    /// <summary>Executes WRMSR; a rejected write raises #GP(0) and changes nothing (FRED-MSR-10).</summary>
    public static StepResult Write(MachineState s, uint msr, ulong value)
    {
        if (s.Cpl != 0) return Reject(s);                                                        // FRED-MSR-02
        if (!IsValid(msr, value)) return Reject(s);
        var f = s.Fred;
        var next = msr switch
        {
            Msr.FredConfig => s with { Fred = f with { Config = new(value) } },
            Msr.FredRsp0 => s with { Fred = f with { Rsp0 = value } },
            Msr.FredRsp1 => s with { Fred = f with { Rsp1 = value } },
            Msr.FredRsp2 => s with { Fred = f with { Rsp2 = value } },
            Msr.FredRsp3 => s with { Fred = f with { Rsp3 = value } },
            Msr.FredStackLevels => s with { Fred = f with { StackLevels = new(value) } },
            Msr.Pl0Ssp => s with { Fred = f with { Ssp0 = value } },
            Msr.FredSsp1 => s with { Fred = f with { Ssp1 = value } },
            Msr.FredSsp2 => s with { Fred = f with { Ssp2 = value } },
            Msr.FredSsp3 => s with { Fred = f with { Ssp3 = value } },
            Msr.Pl3Ssp => s with { Cet = s.Cet with { Pl3Ssp = value } },
            Msr.UCet => s with { Cet = s.Cet with { UCet = value } },
            Msr.SCet => s with { Cet = s.Cet with { SCet = value } },
            Msr.Star => s with { Star = value },
            Msr.GsBase => s with { GsBase = value },
            Msr.KernelGsBase => s with { KernelGsBase = value },
            _ => s,
        };
        return new(next, Outcome.Completed);
    }

    /// <summary>Executes RDMSR: the value, or #GP(0) at CPL>0 or for an MSR the model does not implement.</summary>
    public static (ulong Value, Outcome Outcome) Read(MachineState s, uint msr)
    {
        if (s.Cpl != 0 || !Msr.All.Contains(msr)) return (0, Outcome.Faulted(Event.GeneralProtection()));
        ulong v = msr switch
        {
            Msr.FredConfig => s.Fred.Config.Value, Msr.FredRsp0 => s.Fred.Rsp0, Msr.FredRsp1 => s.Fred.Rsp1,
            Msr.FredRsp2 => s.Fred.Rsp2, Msr.FredRsp3 => s.Fred.Rsp3, Msr.FredStackLevels => s.Fred.StackLevels.Value,
            Msr.Pl0Ssp => s.Fred.Ssp0, Msr.FredSsp1 => s.Fred.Ssp1, Msr.FredSsp2 => s.Fred.Ssp2, Msr.FredSsp3 => s.Fred.Ssp3,
            Msr.Pl3Ssp => s.Cet.Pl3Ssp, Msr.UCet => s.Cet.UCet, Msr.SCet => s.Cet.SCet, Msr.Star => s.Star,
            Msr.GsBase => s.GsBase, Msr.KernelGsBase => s.KernelGsBase, _ => 0,
        };
        return (v, Outcome.Completed);
    }

    /// <summary>The value checks of FRED-MSR-01 and FRED-MSR-03..08.</summary>
    public static bool IsValid(uint msr, ulong value) => msr switch
    {
        Msr.FredConfig => !new FredConfig(value).HasReservedBits && Canonical.IsCanonical(value & ~0xFFFUL),
        Msr.FredRsp0 or Msr.FredRsp1 or Msr.FredRsp2 or Msr.FredRsp3 => (value & 0x3F) == 0 && Canonical.IsCanonical(value),
        Msr.FredStackLevels or Msr.Star => true,
        Msr.FredSsp1 or Msr.FredSsp2 or Msr.FredSsp3 => (value & 7) == 0 && Canonical.IsCanonical(value),
        Msr.Pl0Ssp or Msr.Pl3Ssp => (value & 3) == 0 && Canonical.IsCanonical(value),
        Msr.GsBase or Msr.KernelGsBase => Canonical.IsCanonical(value),
        Msr.UCet or Msr.SCet => (value & CetReservedMask) == 0 && Canonical.IsCanonical(value & ~0xFFFUL),
        _ => false,
    };

    static StepResult Reject(MachineState s) => StepResult.Unchanged(s, Outcome.Faulted(Event.GeneralProtection()));
}

/// <summary>MOV to CR4 (FRED-MSR-09).</summary>
public static class ControlRegisters
{
    /// <summary>CR4 bits the model's processor implements; every other bit is reserved.</summary>
    public const ulong Cr4Defined = 0x1BFF_7FFFUL | MachineState.Cr4Fred;

    /// <summary>Executes MOV CR4; a rejected value raises #GP(0) and changes nothing.</summary>
    public static StepResult MovToCr4(MachineState s, ulong value)
    {
        bool lma = (s.Efer & MachineState.EferLma) != 0;
        bool bad = s.Cpl != 0
                   || (value & ~Cr4Defined) != 0
                   || ((value & MachineState.Cr4Fred) != 0 && !lma)
                   || (lma && (value & MachineState.Cr4Pae) == 0)
                   || (lma && ((value ^ s.Cr4) & MachineState.Cr4La57) != 0);   // 4- or 5-level paging is fixed in IA-32e mode
        return bad ? StepResult.Unchanged(s, Outcome.Faulted(Event.GeneralProtection())) : new(s with { Cr4 = value }, Outcome.Completed);
    }
}
