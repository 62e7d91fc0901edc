using Fred.Generators;
using Fred.Model;

namespace Fred.Image;

/// <summary>A bootable disk image and what the output interpreter needs to read its output.</summary>
/// <param name="Bytes">The raw disk image (whole cylinders of 16 heads and 63 sectors).</param>
/// <param name="Harness">The harness's addresses.</param>
/// <param name="Cases">The cases, in the order the image runs them.</param>
public sealed record BootImage(byte[] Bytes, HarnessCode Harness, IReadOnlyList<Realized> Cases)
{
    /// <summary>Disk cylinders, for the emulator's disk geometry.</summary>
    public int Cylinders => Bytes.Length / (512 * Layout.Heads * Layout.SectorsPerTrack);
}

/// <summary>
/// Compiles realized cases into one bootable disk image: boot sector, stage (loader, trampoline, harness, entry
/// stubs, GDT, page tables), then the case records (spec/image-format.md). Emulator-neutral: any PC emulator or
/// machine that boots a disk with a BIOS runs it.
/// </summary>
public static class ImageBuilder
{
    /// <summary>The largest number of case-record bytes one image holds.</summary>
    public const ulong MaxCaseBytes = Layout.CaseDataSize - 8;

    /// <summary>Builds the image.</summary>
    public static BootImage Build(IReadOnlyList<Realized> cases)
    {
        var harness = Harness.Build();
        var stage = new byte[Layout.StageEnd - Layout.Stage];
        void Put(ulong at, ReadOnlySpan<byte> b) => b.CopyTo(stage.AsSpan((int)(at - Layout.Stage)));
        void PutQ(ulong at, ulong v) => BitConverter.TryWriteBytes(stage.AsSpan((int)(at - Layout.Stage)), v);

        ulong gdtPtr = Layout.GdtPage + 0xF00;
        Put(Layout.Loader16, BootCode.Loader());
        Put(Layout.Trampoline32, BootCode.Trampoline(gdtPtr));
        Put(Layout.Harness64, harness.Code);
        Put(Layout.EntryPage, Harness.EntryStubs());
        PutQ(Globals.HandlerPtr, harness.Handler);
        var msrs = new (uint, ulong)[]
        {
            (0xC000_0081, Selectors.LinuxStar), (0xC000_0101, 0), (0xC000_0102, 0),
            (0x1CC, Layout.LevelStackTop(0)), (0x1CD, Layout.LevelStackTop(1)), (0x1CE, Layout.LevelStackTop(2)), (0x1CF, Layout.LevelStackTop(3)),
            (0x1D0, 0), (0x1D4, Layout.EntryPage),
        };
        PutQ(Globals.HarnessMsrs, (ulong)msrs.Length);
        for (int i = 0; i < msrs.Length; i++) { PutQ(Globals.HarnessMsrs + 8 + 16UL * (ulong)i, msrs[i].Item1); PutQ(Globals.HarnessMsrs + 16 + 16UL * (ulong)i, msrs[i].Item2); }
        // The GDT as Linux lays it out (the world's GDT), and its pseudo-descriptor.
        foreach (var (i, d) in World.Gdt) PutQ(Layout.GdtPage + 8UL * (ulong)i, d | (1UL << 40));
        BitConverter.TryWriteBytes(stage.AsSpan((int)(gdtPtr - Layout.Stage)), (ushort)World.GdtLimit);
        PutQ(gdtPtr + 2, Layout.GdtPage);
        // Harness page tables: the first GiB identity-mapped with 2 MiB pages, and the APIC.
        PutQ(Layout.HarnessPml4, Layout.HarnessPdpt | 3);
        PutQ(Layout.HarnessPdpt, Layout.HarnessPd | 3);
        PutQ(Layout.HarnessPdpt + 8 * 3, Layout.ApicPd | 3);
        for (ulong i = 0; i < 512; i++) PutQ(Layout.HarnessPd + 8 * i, (i << 21) | 0xE3);
        PutQ(Layout.ApicPd + 8 * ((Layout.Apic >> 21) & 511), Layout.Apic | 0xFB);

        var data = new MemoryStream();
        data.Write(BitConverter.GetBytes((ulong)cases.Count));
        foreach (var c in cases) data.Write(c.Record);
        if ((ulong)data.Length > Layout.CaseDataSize) throw new ArgumentException($"the cases need {data.Length} bytes; an image holds {Layout.CaseDataSize}");
        int caseSectors = (int)((data.Length + 511) / 512);
        BitConverter.TryWriteBytes(stage.AsSpan(BootCode.CaseSectorsOffset), (uint)caseSectors);

        int sectors = 1 + Layout.StageSectors + caseSectors;
        int perCylinder = Layout.Heads * Layout.SectorsPerTrack;
        int cylinders = Math.Max(1, (sectors + perCylinder - 1) / perCylinder);
        var image = new byte[cylinders * perCylinder * 512];
        BootCode.BootSector().CopyTo(image, 0);
        stage.CopyTo(image, 512);
        data.ToArray().CopyTo(image, 512 * (1 + Layout.StageSectors));
        return new BootImage(image, harness, cases);
    }

    /// <summary>Splits realized cases into image-sized batches.</summary>
    public static IEnumerable<IReadOnlyList<Realized>> Batches(IEnumerable<Realized> cases)
    {
        var batch = new List<Realized>();
        ulong bytes = 0;
        foreach (var c in cases)
        {
            if (batch.Count > 0 && bytes + (ulong)c.Record.Length > MaxCaseBytes) { yield return batch; batch = []; bytes = 0; }
            batch.Add(c);
            bytes += (ulong)c.Record.Length;
        }
        if (batch.Count > 0) yield return batch;
    }
}
