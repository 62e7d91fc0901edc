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

    // ---- dirty stacks: memory under every stack pointer holds random non-zero quadwords ----------------------

    /// <summary>Dirt below the current RSP: the largest red zone (7 x 64 bytes), the 64-byte alignment and a frame, rounded up.</summary>
    public const ulong RspDirtSpan = 0x280;
    /// <summary>Dirt below each IA32_FRED_RSPn.</summary>
    public const ulong LevelDirtSpan = 0x200;
    /// <summary>Dirt below each shadow-stack pointer (SSP, PL0_SSP, IA32_FRED_SSP1..3).</summary>
    public const ulong ShadowDirtSpan = 0x80;
    /// <summary>Fewest quadwords of one key that <see cref="DirtKey"/> takes for dirt rather than chance.</summary>
    const int MinDirt = 8;

    /// <summary>
    /// The state with every mapped quadword below its stack pointers (RSP, IA32_FRED_RSP0..3, SSP, PL0_SSP,
    /// IA32_FRED_SSP1..3) set to <see cref="DirtAt"/>: a delivery that skips a write, even of a 0, leaves dirt behind.
    /// Maps no page and writes no unmapped one.
    /// </summary>
    public static MachineState Dirty(MachineState s, ulong key)
    {
        var quadwords = DirtRegions(s)
            .SelectMany(r => QuadwordsBelow(r.Top, r.Span))
            .Distinct()
            .Where(a => s.Memory.AccessOf(a) != PageAccess.None && DirtAt(key, a) != 0)
            .Select(a => KeyValuePair.Create(a, DirtAt(key, a)))
            .ToArray();
        return s with { Memory = s.Memory.PokeAll(quadwords) };
    }

    /// <summary>A dirt quadword: the key mixed with the address, so values differ at every address and from case to case (0 only when the key equals the address's mix, which is then skipped).</summary>
    public static ulong DirtAt(ulong key, ulong address) => key ^ Mix(address);

    /// <summary>The key of the dirt a state's memory holds, or null when it holds none (fewer than 8 quadwords of one key).</summary>
    public static ulong? DirtKey(MachineState s)
    {
        var best = s.Memory.NonZeroQuadwords.GroupBy(q => q.Value ^ Mix(q.Key)).MaxBy(g => g.Count());
        return best is not null && best.Count() >= MinDirt ? best.Key : null;
    }

    /// <summary>The state with its dirt cleared to 0 (the shrink of <see cref="Dirty"/>); every other quadword is kept.</summary>
    public static MachineState Clean(MachineState s) => DirtKey(s) is { } key
        ? s with { Memory = s.Memory.PokeAll(s.Memory.NonZeroQuadwords.Where(q => q.Value == DirtAt(key, q.Key)).Select(q => KeyValuePair.Create(q.Key, 0UL)).ToArray()) }
        : s;

    static (ulong Top, ulong Span)[] DirtRegions(MachineState s) =>
    [
        (s.Rsp, RspDirtSpan),
        (s.Fred.Rsp0, LevelDirtSpan), (s.Fred.Rsp1, LevelDirtSpan), (s.Fred.Rsp2, LevelDirtSpan), (s.Fred.Rsp3, LevelDirtSpan),
        (s.Cet.Ssp, ShadowDirtSpan), (s.Fred.Ssp0, ShadowDirtSpan), (s.Fred.Ssp1, ShadowDirtSpan), (s.Fred.Ssp2, ShadowDirtSpan), (s.Fred.Ssp3, ShadowDirtSpan),
    ];

    /// <summary>The 8-byte aligned quadwords in [top - span, top), top rounded down to 8 (addresses wrap as the processor's do).</summary>
    static IEnumerable<ulong> QuadwordsBelow(ulong top, ulong span)
    {
        ulong t = top & ~7UL;
        for (ulong off = 8; off <= span; off += 8) yield return unchecked(t - off);
    }

    /// <summary>A 64-bit finalizer (xor-shift-multiply): every input bit affects every output bit.</summary>
    static ulong Mix(ulong x)
    {
        x = unchecked((x ^ (x >> 30)) * 0xBF58_476D_1CE4_E5B9UL);
        x = unchecked((x ^ (x >> 27)) * 0x94D0_49BB_1331_11EBUL);
        return x ^ (x >> 31);
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
