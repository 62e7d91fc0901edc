using Fred.Model;

namespace Fred.Bench;

/// <summary>
/// The benchmarks' own fixed machine: level stacks, an interrupted kernel stack, user stacks, shadow stacks and
/// Linux's selectors, with the FRED MSRs as Linux programs them. Independent of the test project on purpose.
/// </summary>
public static class BenchWorld
{
    /// <summary>Size of every stack region.</summary>
    public const ulong StackRegion = 0x4000;
    /// <summary>IA32_FRED_RSPn's region for level n starts at LevelStackBase + n * 0x10000.</summary>
    public const ulong LevelStackBase = 0xFFFF_C900_0010_0000;
    /// <summary>The interrupted ring-0 stack.</summary>
    public const ulong KernelStackBase = 0xFFFF_C900_0020_0000;
    /// <summary>The 64-bit user stack.</summary>
    public const ulong UserStackBase = 0x0000_7FFF_FFF0_0000;
    /// <summary>The compatibility-mode user stack (below 4 GiB).</summary>
    public const ulong CompatStackBase = 0x0000_0000_0080_0000;
    /// <summary>Shadow stack n (0..3 per level, 4 for the interrupted kernel context) starts at ShadowStackBase + n * 0x10000.</summary>
    public const ulong ShadowStackBase = 0xFFFF_C900_0040_0000;
    /// <summary>Ring-3 entry point; ring-0 events enter 256 bytes above it.</summary>
    public const ulong Entry = 0xFFFF_FFFF_8160_0000;
    /// <summary>Linux's IA32_FRED_STKLVLS: #DB 1, NMI 2, #DF 3, #MC 2.</summary>
    public const ulong LinuxStackLevels = 0x0000_0020_0003_0024;

    /// <summary>Top of the stack for level n.</summary>
    public static ulong LevelStackTop(int level) => LevelStackBase + (ulong)level * 0x10000 + StackRegion;

    /// <summary>Top of shadow stack n.</summary>
    public static ulong ShadowStackTop(int n) => ShadowStackBase + (ulong)n * 0x10000 + StackRegion;

    /// <summary>Every region mapped.</summary>
    public static Memory Memory { get; } = BuildMemory();

    static Memory BuildMemory()
    {
        var m = Memory.Empty;
        for (int n = 0; n < 4; n++) m = m.Map(LevelStackBase + (ulong)n * 0x10000, StackRegion, PageAccess.SupervisorData);
        m = m.Map(KernelStackBase, StackRegion, PageAccess.SupervisorData);
        m = m.Map(UserStackBase, StackRegion, PageAccess.UserData);
        m = m.Map(CompatStackBase, StackRegion, PageAccess.UserData);
        for (int n = 0; n < 5; n++) m = m.Map(ShadowStackBase + (ulong)n * 0x10000, StackRegion, PageAccess.SupervisorData);
        return m;
    }

    /// <summary>CONFIG (one 64-byte red-zone unit, interrupts at level 0), RSP0..3, Linux's STKLVLS and SSP0..3.</summary>
    public static FredMsrs Msrs => new(FredConfig.Create(Entry, redZoneUnits: 1), LevelStackTop(0), LevelStackTop(1),
        LevelStackTop(2), LevelStackTop(3), new(LinuxStackLevels), ShadowStackTop(0), ShadowStackTop(1), ShadowStackTop(2), ShadowStackTop(3));

    /// <summary>Ring 0, stack level 0, interrupts enabled.</summary>
    public static MachineState Kernel(Revision r) =>
        MachineState.Create(r, Msrs, Memory) with { Rsp = KernelStackBase + 0x3000, Rflags = 0x246 };

    /// <summary>Ring 3, 64-bit mode.</summary>
    public static MachineState User(Revision r) => Kernel(r) with
    {
        Cs = Selectors.UserCs, Ss = Selectors.UserDs, Rip = 0x0000_0000_0040_1000, Rsp = UserStackBase + 0x3F00, Rflags = 0x202,
    };

    /// <summary>Ring 3, compatibility mode (STAR's 32-bit fast path on return).</summary>
    public static MachineState UserCompat(Revision r) => User(r) with
    {
        Cs = Selectors.User32Cs, Is64BitMode = false, Rip = 0x0804_9000, Rsp = CompatStackBase + 0x3F00,
    };

    /// <summary>Ring 0 already at stack level 1 (inside a #DB handler, say).</summary>
    public static MachineState KernelAtLevel1(Revision r) => (Kernel(r) with { Rsp = LevelStackTop(1) - 0x1000 }).WithStackLevel(1);

    /// <summary>Ring 0 with supervisor shadow stacks on: delivery pushes the shadow-stack record, ERETS checks and pops it.</summary>
    public static MachineState KernelWithShadowStack(Revision r) => Kernel(r) with
    {
        Cr4 = MachineState.Cr4Pae | MachineState.Cr4Fred | MachineState.Cr4Cet,
        Cet = new CetState(CetState.ShadowStackEnable, 0, ShadowStackTop(4) - 0x100, 0, false),
    };
}
