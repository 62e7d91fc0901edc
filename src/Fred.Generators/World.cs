using Fred.Model;

namespace Fred.Generators;

/// <summary>
/// The fixed memory map generated cases live in: kernel stacks for stack levels 0..3, the interrupted
/// kernel stack, a user stack, shadow stacks and a GDT laid out as Linux lays it out, plus extra descriptors
/// for ERETU's descriptor path.
/// </summary>
public static class World
{
    /// <summary>Size of each stack region.</summary>
    public const ulong StackRegion = 0x4000;
    /// <summary>Base of IA32_FRED_RSPn's region for level n: LevelStackBase + n * 0x10000.</summary>
    public const ulong LevelStackBase = 0xFFFF_C900_0010_0000;
    /// <summary>Region holding the interrupted ring-0 stack.</summary>
    public const ulong KernelStackBase = 0xFFFF_C900_0020_0000;
    /// <summary>Region of the ring-3 stack (unused by delivery, mapped for realism).</summary>
    public const ulong UserStackBase = 0x0000_7FFF_FFF0_0000;
    /// <summary>Base of shadow stack n: ShadowStackBase + n * 0x10000; the current ring-0 shadow stack at n = 4.</summary>
    public const ulong ShadowStackBase = 0xFFFF_C900_0040_0000;
    /// <summary>GDT address.</summary>
    public const ulong GdtBase = 0xFFFF_FE00_0000_1000;
    /// <summary>Ring-0 code of boot-image cases (spec/image-format.md): outside the image's low 64 MiB.</summary>
    public const ulong ImageKernelCode = 0xFFFF_FFFF_8100_0000;
    /// <summary>64-bit ring-3 code of boot-image cases.</summary>
    public const ulong ImageUserCode = 0x0000_5555_5555_0000;
    /// <summary>Compatibility-mode code of boot-image cases (below 4 GiB).</summary>
    public const ulong ImageUserCode32 = 0x5550_0000;
    /// <summary>Compatibility-mode stack region of boot-image cases (below 4 GiB).</summary>
    public const ulong CompatStackBase = 0x7FF0_0000;
    /// <summary>A 64-byte aligned stack top in no mapped page: delivery onto it faults.</summary>
    public const ulong UnmappedStack = 0xFFFF_C900_0080_0000;
    /// <summary>Default ring-3 entry point (CONFIG bits 63:12).</summary>
    public const ulong DefaultEntry = 0xFFFF_FFFF_8160_0000;

    /// <summary>Extra selectors on the descriptor path (not STAR's fast path).</summary>
    public const ushort AltUserCs64 = 0x43, AltUserDs = 0x4B, AltUserCs32Limited = 0x53, NotPresentCs = 0x5B,
        Dpl0Cs = 0x63, DataAsCs = 0x6B, LAndDCs = 0x73, ReadOnlyDs = 0x7B, NotPresentDs = 0x83;

    /// <summary>Limit of the limited compatibility-mode code segment.</summary>
    public const uint LimitedLimit = 0x00FF_FFFF;

    /// <summary>Top of the region for stack level n.</summary>
    public static ulong LevelStackTop(int level) => LevelStackBase + (ulong)level * 0x10000 + StackRegion;

    /// <summary>Top of shadow stack n (0..3 per level, 4 for the interrupted kernel context).</summary>
    public static ulong ShadowStackTop(int n) => ShadowStackBase + (ulong)n * 0x10000 + StackRegion;

    /// <summary>The GDT image: index -> descriptor.</summary>
    public static readonly (int Index, ulong Descriptor)[] Gdt =
    [
        (2, Segments.FlatDescriptor(code: true, longMode: true, dpl: 0)),   // 0x10 __KERNEL_CS
        (3, Segments.FlatDescriptor(code: false, longMode: false, dpl: 0)), // 0x18 __KERNEL_DS
        (4, Segments.FlatDescriptor(code: true, longMode: false, dpl: 3)),  // 0x23 __USER32_CS
        (5, Segments.FlatDescriptor(code: false, longMode: false, dpl: 3)), // 0x2B __USER_DS
        (6, Segments.FlatDescriptor(code: true, longMode: true, dpl: 3)),   // 0x33 __USER_CS
        (8, Segments.FlatDescriptor(code: true, longMode: true, dpl: 3)),   // 0x43
        (9, Segments.FlatDescriptor(code: false, longMode: false, dpl: 3)), // 0x4B
        (10, Limited(Segments.FlatDescriptor(code: true, longMode: false, dpl: 3))), // 0x53, limit 0x00FFFFFF
        (11, Segments.FlatDescriptor(code: true, longMode: true, dpl: 3, present: false)), // 0x5B
        (12, Segments.FlatDescriptor(code: true, longMode: true, dpl: 0)),  // 0x63 DPL 0
        (13, Segments.FlatDescriptor(code: false, longMode: false, dpl: 3)), // 0x6B data used as CS
        (14, Segments.FlatDescriptor(code: true, longMode: true, dpl: 3) | (1UL << 54)), // 0x73 L and D
        (15, Segments.FlatDescriptor(code: false, longMode: false, dpl: 3) & ~(1UL << 41)), // 0x7B read-only data
        (16, Segments.FlatDescriptor(code: false, longMode: false, dpl: 3, present: false)), // 0x83
    ];

    // Limit field 0x00FFF with 4 KiB granularity: a limit of 0x00FFFFFF.
    static ulong Limited(ulong d) => (d & ~((0xFUL << 48) | 0xFFFFUL)) | 0x0FFFUL;

    /// <summary>GDT limit covering every entry above.</summary>
    public const ushort GdtLimit = 17 * 8 - 1;

    /// <summary>The memory every case starts from: all stacks, shadow stacks and the GDT mapped.</summary>
    public static Memory BaseMemory { get; } = BuildMemory();

    static Memory BuildMemory()
    {
        var m = Memory.Empty;
        for (int n = 0; n < 4; n++) m = m.Map(LevelStackBase + (ulong)n * 0x10000, StackRegion, PageAccess.SupervisorData);
        m = m.Map(KernelStackBase, StackRegion, PageAccess.SupervisorData);
        m = m.Map(UserStackBase, StackRegion, PageAccess.UserData);
        for (int n = 0; n < 5; n++) m = m.Map(ShadowStackBase + (ulong)n * 0x10000, StackRegion, PageAccess.SupervisorData);
        m = m.Map(GdtBase, Memory.PageSize, PageAccess.Present);
        foreach (var (i, d) in Gdt) m = m.Poke(GdtBase + (ulong)(8 * i), 8, d);
        return m;
    }

    /// <summary>Linux's STKLVLS: #DB 1, NMI 2, #DF 3, #MC 2.</summary>
    public const ulong LinuxStackLevels = 0x0000_0020_0003_0024;

    /// <summary>FRED MSRs as Linux programs them, over this world's stacks.</summary>
    public static FredMsrs LinuxMsrs => new(FredConfig.Create(DefaultEntry, redZoneUnits: 1), LevelStackTop(0), LevelStackTop(1),
        LevelStackTop(2), LevelStackTop(3), new(LinuxStackLevels), ShadowStackTop(0), ShadowStackTop(1), ShadowStackTop(2), ShadowStackTop(3));

    /// <summary>A ring-0 state in this world with Linux's settings.</summary>
    public static MachineState Kernel(Revision r = Revision.Fred5) =>
        MachineState.Create(r, LinuxMsrs, BaseMemory) with { Rsp = KernelStackBase + 0x3000, GdtBase = GdtBase, GdtLimit = GdtLimit };

    /// <summary>A ring-3 64-bit state in this world with Linux's settings.</summary>
    public static MachineState User(Revision r = Revision.Fred5) => Kernel(r) with
    {
        Cs = Selectors.UserCs, Ss = Selectors.UserDs, Rip = 0x0000_0000_0040_1000, Rsp = UserStackBase + 0x3F00, Rflags = 0x202,
    };
}
