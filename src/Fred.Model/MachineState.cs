using System.Runtime.CompilerServices;

namespace Fred.Model;

/// <summary>The FRED MSRs (FRED-MSR-01): CONFIG, RSP0..3, STKLVLS, SSP0 (= IA32_PL0_SSP) and SSP1..3.</summary>
public readonly record struct FredMsrs(
    FredConfig Config, ulong Rsp0, ulong Rsp1, ulong Rsp2, ulong Rsp3, StackLevels StackLevels,
    ulong Ssp0, ulong Ssp1, ulong Ssp2, ulong Ssp3)
{
    /// <summary>IA32_FRED_RSPn for a stack level.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong Rsp(int level) => (level & 3) switch { 0 => Rsp0, 1 => Rsp1, 2 => Rsp2, _ => Rsp3 };

    /// <summary>IA32_FRED_SSPn for a stack level (SSP0 is IA32_PL0_SSP).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong Ssp(int level) => (level & 3) switch { 0 => Ssp0, 1 => Ssp1, 2 => Ssp2, _ => Ssp3 };
}

/// <summary>CET state the model needs (FRED-CET-01).</summary>
/// <param name="SCet">IA32_S_CET.</param>
/// <param name="UCet">IA32_U_CET.</param>
/// <param name="Ssp">The current shadow-stack pointer.</param>
/// <param name="Pl3Ssp">IA32_PL3_SSP.</param>
/// <param name="SupervisorTrackerWaiting">Supervisor indirect-branch tracker is in WAIT_FOR_ENDBRANCH.</param>
public readonly record struct CetState(ulong SCet, ulong UCet, ulong Ssp, ulong Pl3Ssp, bool SupervisorTrackerWaiting)
{
    /// <summary>SH_STK_EN, bit 0 of IA32_U_CET / IA32_S_CET.</summary>
    public const ulong ShadowStackEnable = 1;

    /// <summary>ENDBR_EN, bit 2 of IA32_U_CET / IA32_S_CET.</summary>
    public const ulong EndbranchEnable = 4;
}

/// <summary>The architectural state of one logical processor that FRED reads or writes.</summary>
public readonly record struct MachineState
{
    /// <summary>CR4.CET.</summary>
    public const ulong Cr4Cet = 1UL << 23;
    /// <summary>CR4.FRED.</summary>
    public const ulong Cr4Fred = 1UL << 32;
    /// <summary>CR4.PAE.</summary>
    public const ulong Cr4Pae = 1UL << 5;
    /// <summary>CR4.LA57 (bit 12): 57-bit linear addresses, 5-level paging; cannot change while IA-32e mode is active.</summary>
    public const ulong Cr4La57 = 1UL << 12;
    /// <summary>EFER.LMA.</summary>
    public const ulong EferLma = 1UL << 10;
    /// <summary>EFER.LME.</summary>
    public const ulong EferLme = 1UL << 8;
    /// <summary>RFLAGS.TF.</summary>
    public const ulong FlagTf = 1UL << 8;
    /// <summary>RFLAGS.IF.</summary>
    public const ulong FlagIf = 1UL << 9;
    /// <summary>RFLAGS.OF.</summary>
    public const ulong FlagOf = 1UL << 11;
    /// <summary>RFLAGS.IOPL (two bits).</summary>
    public const ulong FlagIopl = 3UL << 12;
    /// <summary>RFLAGS.RF.</summary>
    public const ulong FlagRf = 1UL << 16;
    /// <summary>RFLAGS.VM.</summary>
    public const ulong FlagVm = 1UL << 17;
    /// <summary>RFLAGS.AC.</summary>
    public const ulong FlagAc = 1UL << 18;

    /// <summary>Which architecture revision this processor implements.</summary>
    public Revision Revision { get; init; }
    /// <summary>RIP.</summary>
    public ulong Rip { get; init; }
    /// <summary>RSP.</summary>
    public ulong Rsp { get; init; }
    /// <summary>RFLAGS.</summary>
    public ulong Rflags { get; init; }
    /// <summary>CS selector; its RPL is the CPL.</summary>
    public ushort Cs { get; init; }
    /// <summary>SS selector.</summary>
    public ushort Ss { get; init; }
    /// <summary>CS.L: the code runs in 64-bit mode (false: compatibility mode).</summary>
    public bool Is64BitMode { get; init; }
    /// <summary>CS limit (meaningful in compatibility mode).</summary>
    public uint CsLimit { get; init; }
    /// <summary>RAX: carried unchanged by FRED; present so dispatch references have the syscall number.</summary>
    public ulong Rax { get; init; }
    /// <summary>RCX: SYSCALL under FRED does not write it (FRED-INSN-05).</summary>
    public ulong Rcx { get; init; }
    /// <summary>R11: SYSCALL under FRED does not write it (FRED-INSN-05).</summary>
    public ulong R11 { get; init; }
    /// <summary>GS base.</summary>
    public ulong GsBase { get; init; }
    /// <summary>IA32_KERNEL_GS_BASE.</summary>
    public ulong KernelGsBase { get; init; }
    /// <summary>CR2 (written on #PF as in IDT mode).</summary>
    public ulong Cr2 { get; init; }
    /// <summary>CR4.</summary>
    public ulong Cr4 { get; init; }
    /// <summary>IA32_EFER.</summary>
    public ulong Efer { get; init; }
    /// <summary>IA32_STAR.</summary>
    public ulong Star { get; init; }
    /// <summary>GDTR base.</summary>
    public ulong GdtBase { get; init; }
    /// <summary>GDTR limit.</summary>
    public ushort GdtLimit { get; init; }
    /// <summary>The FRED MSRs.</summary>
    public FredMsrs Fred { get; init; }
    /// <summary>CET state.</summary>
    public CetState Cet { get; init; }
    /// <summary>NMIs are blocked.</summary>
    public bool NmiBlocked { get; init; }
    /// <summary>Blocking by STI is in effect.</summary>
    public bool StiBlocked { get; init; }
    /// <summary>A single-step #DB is pending (set by ERET from SWEVENT and TF).</summary>
    public bool PendingSingleStep { get; init; }
    /// <summary>Executing inside an SGX enclave (only recorded in the frame).</summary>
    public bool InEnclave { get; init; }
    /// <summary>Memory.</summary>
    public Memory Memory { get; init; }

    /// <summary>Current privilege level: RPL of CS.</summary>
    public int Cpl => Cs & 3;
    /// <summary>CR4.FRED is set.</summary>
    public bool FredEnabled => (Cr4 & Cr4Fred) != 0;
    /// <summary>The current stack level, CONFIG[1:0].</summary>
    public int StackLevel => Fred.Config.CurrentStackLevel;
    /// <summary>Supervisor shadow stacks are active.</summary>
    public bool SupervisorShadowStack => (Cr4 & Cr4Cet) != 0 && (Cet.SCet & CetState.ShadowStackEnable) != 0;
    /// <summary>User shadow stacks are active.</summary>
    public bool UserShadowStack => (Cr4 & Cr4Cet) != 0 && (Cet.UCet & CetState.ShadowStackEnable) != 0;
    /// <summary>Supervisor indirect-branch tracking is active.</summary>
    public bool SupervisorIbt => (Cr4 & Cr4Cet) != 0 && (Cet.SCet & CetState.EndbranchEnable) != 0;

    /// <summary>The same state with another current stack level.</summary>
    public MachineState WithStackLevel(int level) => this with { Fred = Fred with { Config = Fred.Config.WithCurrentStackLevel(level) } };

    /// <summary>A FRED-enabled processor in ring 0, 64-bit mode, with Linux's selectors and the given MSRs.</summary>
    public static MachineState Create(Revision revision, FredMsrs fred, Memory memory) => new()
    {
        Revision = revision,
        Rip = 0xFFFF_FFFF_8100_0000,
        Rsp = 0xFFFF_C900_0000_4000,
        Rflags = 0x2,
        Cs = Selectors.KernelCs,
        Ss = Selectors.KernelDs,
        Is64BitMode = true,
        CsLimit = 0xFFFF_FFFF,
        Cr4 = Cr4Pae | Cr4Fred,
        Efer = EferLma | EferLme | 1,
        Star = Selectors.LinuxStar,
        Fred = fred,
        Memory = memory,
    };

    /// <summary>A short multi-line rendering of the registers that FRED touches.</summary>
    public string Describe() => string.Join(Environment.NewLine,
        $"  RIP=0x{Rip:X16} RSP=0x{Rsp:X16} RFLAGS=0x{Rflags:X} CS=0x{Cs:X4} SS=0x{Ss:X4} CPL={Cpl} {(Is64BitMode ? "64-bit" : "compat")} stack level={StackLevel}",
        $"  GS.base=0x{GsBase:X} KERNEL_GS_BASE=0x{KernelGsBase:X} CR4=0x{Cr4:X} STAR=0x{Star:X16}",
        $"  CONFIG=0x{Fred.Config.Value:X} RSP0..3=0x{Fred.Rsp0:X},0x{Fred.Rsp1:X},0x{Fred.Rsp2:X},0x{Fred.Rsp3:X} STKLVLS=0x{Fred.StackLevels.Value:X}",
        $"  SSP=0x{Cet.Ssp:X} SSP0..3=0x{Fred.Ssp0:X},0x{Fred.Ssp1:X},0x{Fred.Ssp2:X},0x{Fred.Ssp3:X} PL3_SSP=0x{Cet.Pl3Ssp:X} S_CET=0x{Cet.SCet:X} U_CET=0x{Cet.UCet:X}",
        $"  NMI blocked={NmiBlocked} STI blocked={StiBlocked} pending single-step={PendingSingleStep} IBT waiting={Cet.SupervisorTrackerWaiting}");
}

/// <summary>Linux's x86-64 GDT selectors and IA32_STAR (fred-facts section 8).</summary>
public static class Selectors
{
    /// <summary>__KERNEL_CS.</summary>
    public const ushort KernelCs = 0x10;
    /// <summary>__KERNEL_DS.</summary>
    public const ushort KernelDs = 0x18;
    /// <summary>__USER32_CS.</summary>
    public const ushort User32Cs = 0x23;
    /// <summary>__USER_DS.</summary>
    public const ushort UserDs = 0x2B;
    /// <summary>__USER_CS.</summary>
    public const ushort UserCs = 0x33;
    /// <summary>Linux's IA32_STAR: __USER32_CS in 63:48, __KERNEL_CS in 47:32.</summary>
    public const ulong LinuxStar = 0x0023_0010_0000_0000;
}
