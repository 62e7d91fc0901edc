namespace Fred.Image;

/// <summary>
/// Where everything sits in the guest's physical memory. The first 64 MiB are identity-mapped, supervisor only, in
/// the harness's page tables and in every case's page tables, so the harness can run in either; a case may use any
/// other canonical linear address (spec/image-format.md).
/// </summary>
public static class Layout
{
    /// <summary>The BIOS loads the boot sector here.</summary>
    public const ulong BootSector = 0x7C00;
    /// <summary>The stage: 16-bit loader, 32-bit trampoline, 64-bit harness and its static data.</summary>
    public const ulong Stage = 0x8000;
    /// <summary>16-bit loader code.</summary>
    public const ulong Loader16 = 0x8000;
    /// <summary>32-bit trampoline code.</summary>
    public const ulong Trampoline32 = 0x8600;
    /// <summary>64-bit harness code.</summary>
    public const ulong Harness64 = 0x8800;
    /// <summary>The page holding the FRED entry stubs (ring-3 events at +0, ring-0 events at +256).</summary>
    public const ulong EntryPage = 0x10000;
    /// <summary>Harness variables and save areas.</summary>
    public const ulong Globals = 0x11000;
    /// <summary>The harness's GDT, laid out as Linux lays it out, and its pseudo-descriptors.</summary>
    public const ulong GdtPage = 0x12000;
    /// <summary>The harness's PML4.</summary>
    public const ulong HarnessPml4 = 0x13000;
    /// <summary>The harness's PDPT for the low 512 GiB.</summary>
    public const ulong HarnessPdpt = 0x14000;
    /// <summary>A page directory identity-mapping the first GiB with 2 MiB pages (harness only).</summary>
    public const ulong HarnessPd = 0x15000;
    /// <summary>A page directory identity-mapping the first 64 MiB (shared by every case).</summary>
    public const ulong LowPd = 0x16000;
    /// <summary>A page directory mapping the local APIC's 2 MiB page at 0xFEE00000 (shared by every case).</summary>
    public const ulong ApicPd = 0x17000;
    /// <summary>End of the stage.</summary>
    public const ulong StageEnd = 0x18000;
    /// <summary>Stage size in 512-byte sectors.</summary>
    public const int StageSectors = (int)((StageEnd - Stage) / 512);

    /// <summary>Harness stacks: the top of the stack used at stack level n.</summary>
    public static ulong LevelStackTop(int n) => 0x22000UL + 0x2000UL * (ulong)n;
    /// <summary>The harness's main-loop stack top.</summary>
    public const ulong MainStackTop = 0x2A000;
    /// <summary>Where the harness builds the ERETS frame that returns to its main loop.</summary>
    public const ulong ReturnFrame = 0x2B000;

    /// <summary>A quadword outside the stage that survives a processor reset: set once the harness has started.</summary>
    public const ulong BootMarker = 0x2F000;
    /// <summary>The value of the boot marker.</summary>
    public const ulong BootMagic = 0x4652_4544_424F_4F54; // "FREDBOOT"
    /// <summary>Real-mode bounce buffer for loading the case data.</summary>
    public const ulong Bounce = 0x30000;
    /// <summary>Sectors per BIOS read into the bounce buffer.</summary>
    public const int BounceSectors = 64;

    /// <summary>Page-table arena: each case's page tables (rebuilt for every case).</summary>
    public const ulong Arena = 0x40_0000;
    /// <summary>Arena size.</summary>
    public const ulong ArenaSize = 0x80_0000;
    /// <summary>Pool of physical pages backing a case's pages (refilled for every case).</summary>
    public const ulong Pool = 0xC0_0000;
    /// <summary>Pool size.</summary>
    public const ulong PoolSize = 0x140_0000;
    /// <summary>The case data: a count, then one record per case.</summary>
    public const ulong CaseData = 0x200_0000;
    /// <summary>Largest case data.</summary>
    public const ulong CaseDataSize = 0x200_0000;
    /// <summary>Everything below this is the harness's; cases use no linear address below it.</summary>
    public const ulong HarnessLimit = 0x400_0000;
    /// <summary>The local APIC's registers.</summary>
    public const ulong Apic = 0xFEE0_0000;
    /// <summary>Guest memory the image needs, in MiB.</summary>
    public const int GuestMegabytes = 64;

    /// <summary>Bochs's debug port: bytes written here appear on the emulator's console.</summary>
    public const byte DebugPort = 0xE9;
    /// <summary>Bochs's shutdown port: writing "Shutdown" to it ends the simulation.</summary>
    public const ushort ShutdownPort = 0x8900;

    /// <summary>Disk geometry: heads and sectors per track; the image is padded to whole cylinders.</summary>
    public const int Heads = 16, SectorsPerTrack = 63;
}
