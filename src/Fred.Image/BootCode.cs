using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Fred.Image;

/// <summary>
/// The code that runs before the harness: a boot sector that loads the stage with the BIOS, and a 16-bit loader that
/// copies the case data above 1 MiB (BIOS INT 13h extended reads into a bounce buffer, INT 15h AH=87h block moves),
/// enters protected mode, and a 32-bit trampoline that turns on PAE, long mode and paging and jumps to the harness.
/// </summary>
public static class BootCode
{
    /// <summary>Where the boot sector keeps the BIOS boot drive number.</summary>
    const ushort BootDrive = 0x0600;

    // Loader data, inside the loader's 1.5 KiB block.
    const ushort CaseSectors = 0x8500;   // dword: sectors of case data (patched by the builder)
    const ushort NextLba = 0x8504;       // dword
    const ushort Dest = 0x8508;          // dword: physical destination of the next chunk
    const ushort Dap = 0x8510;           // 16-byte disk address packet
    const ushort MoveGdt = 0x8520;       // 48-byte INT 15h/87h descriptor table
    const ushort Gdt32 = 0x8580;         // null, 0x08 code32, 0x10 data32
    const ushort Gdt32Ptr = 0x8598;

    /// <summary>Offset of the case-sector count inside the stage, for the builder to patch.</summary>
    public const int CaseSectorsOffset = CaseSectors - (int)Layout.Stage;

    /// <summary>The 512-byte boot sector: loads the stage (two reads of 64 sectors) and jumps to it.</summary>
    public static byte[] BootSector()
    {
        var a = new Assembler(16);
        var fail = a.CreateLabel("fail");
        var halt = a.CreateLabel("halt");
        a.cli();
        a.xor(ax, ax);
        a.mov(ds, ax);
        a.mov(es, ax);
        a.mov(ss, ax);
        a.mov(sp, 0x7C00);
        a.mov(__byte_ptr[BootDrive], dl);
        a.mov(si, (ushort)(Layout.BootSector + 0x1C0));
        a.mov(ah, 0x42);
        a.@int(0x13);
        a.jc(fail);
        a.mov(dl, __byte_ptr[BootDrive]);
        a.mov(si, (ushort)(Layout.BootSector + 0x1D0));
        a.mov(ah, 0x42);
        a.@int(0x13);
        a.jc(fail);
        a.jmp(0, (uint)Layout.Loader16);
        a.Label(ref fail);
        foreach (char c in "BOOT-ERROR\n") { a.mov(al, (byte)c); a.@out(Layout.DebugPort, al); }
        a.Label(ref halt);
        a.cli();
        a.hlt();
        a.jmp(halt);
        var bytes = Assemble(a, Layout.BootSector);
        if (bytes.Length > 0x1C0) throw new InvalidOperationException($"boot sector code is {bytes.Length} bytes");
        var sector = new byte[512];
        bytes.CopyTo(sector, 0);
        WriteDap(sector.AsSpan(0x1C0), 64, 0x0000, (ushort)Layout.Stage, 1);
        WriteDap(sector.AsSpan(0x1D0), Layout.StageSectors - 64, (ushort)((Layout.Stage + 64 * 512) >> 4), 0, 65);
        sector[510] = 0x55;
        sector[511] = 0xAA;
        return sector;
    }

    static void WriteDap(Span<byte> d, int count, ushort segment, ushort offset, ulong lba)
    {
        d[0] = 16; d[1] = 0;
        BitConverter.TryWriteBytes(d[2..], (ushort)count);
        BitConverter.TryWriteBytes(d[4..], offset);
        BitConverter.TryWriteBytes(d[6..], segment);
        BitConverter.TryWriteBytes(d[8..], lba);
    }

    /// <summary>The 16-bit loader, assembled at <see cref="Layout.Loader16"/>, with its data block, 1.5 KiB in all.</summary>
    public static byte[] Loader()
    {
        var a = new Assembler(16);
        var loop = a.CreateLabel("loop");
        var done = a.CreateLabel("done");
        var small = a.CreateLabel("small");
        var fail = a.CreateLabel("fail");
        var halt = a.CreateLabel("halt");
        // Fast A20.
        a.@in(al, 0x92);
        a.or(al, 2);
        a.and(al, 0xFE);
        a.@out(0x92, al);
        a.mov(__dword_ptr[NextLba], (uint)(1 + Layout.StageSectors));
        a.mov(__dword_ptr[Dest], (uint)Layout.CaseData);
        a.Label(ref loop);
        a.mov(ecx, __dword_ptr[CaseSectors]);
        a.test(ecx, ecx);
        a.jz(done);
        a.cmp(ecx, Layout.BounceSectors);
        a.jbe(small);
        a.mov(ecx, Layout.BounceSectors);
        a.Label(ref small);
        // Disk address packet: count ecx, buffer Bounce, LBA NextLba.
        a.mov(__byte_ptr[Dap], 16);
        a.mov(__byte_ptr[Dap + 1], 0);
        a.mov(__word_ptr[Dap + 2], cx);
        a.mov(__word_ptr[Dap + 4], 0);
        a.mov(__word_ptr[Dap + 6], (ushort)(Layout.Bounce >> 4));
        a.mov(eax, __dword_ptr[NextLba]);
        a.mov(__dword_ptr[Dap + 8], eax);
        a.mov(__dword_ptr[Dap + 12], 0);
        a.push(ecx);
        a.mov(dl, __byte_ptr[BootDrive]);
        a.mov(si, Dap);
        a.mov(ah, 0x42);
        a.@int(0x13);
        a.pop(ecx);
        a.jc(fail);
        // INT 15h AH=87h: move CX words from the bounce buffer to Dest.
        a.mov(eax, __dword_ptr[Dest]);
        a.mov(__word_ptr[MoveGdt + 24 + 2], ax);
        a.shr(eax, 16);
        a.mov(__byte_ptr[MoveGdt + 24 + 4], al);
        a.mov(__byte_ptr[MoveGdt + 24 + 7], ah);
        a.push(ecx);
        a.shl(ecx, 8);               // sectors -> words
        a.mov(si, MoveGdt);
        a.push(ds);
        a.pop(es);
        a.mov(ah, 0x87);
        a.@int(0x15);
        a.pop(ecx);
        a.jc(fail);
        a.add(__dword_ptr[NextLba], ecx);
        a.sub(__dword_ptr[CaseSectors], ecx);
        a.shl(ecx, 9);
        a.add(__dword_ptr[Dest], ecx);
        a.jmp(loop);
        a.Label(ref done);
        a.cli();
        a.lgdt(__[Gdt32Ptr]);
        a.mov(eax, cr0);
        a.or(eax, 1);
        a.mov(cr0, eax);
        a.jmp(0x08, (uint)Layout.Trampoline32);
        a.Label(ref fail);
        foreach (char c in "LOAD-ERROR\n") { a.mov(al, (byte)c); a.@out(Layout.DebugPort, al); }
        a.Label(ref halt);
        a.hlt();
        a.jmp(halt);
        var code = Assemble(a, Layout.Loader16);
        var block = new byte[Layout.Trampoline32 - Layout.Loader16];
        if (code.Length > CaseSectors - (int)Layout.Loader16) throw new InvalidOperationException($"loader is {code.Length} bytes");
        code.CopyTo(block, 0);
        // INT 15h/87h descriptors: source (bounce buffer) and destination, 64 KiB limit, data read/write.
        var move = block.AsSpan(MoveGdt - (int)Layout.Loader16, 48);
        WriteMoveDescriptor(move[16..], Layout.Bounce);
        WriteMoveDescriptor(move[24..], Layout.CaseData);
        var gdt = block.AsSpan(Gdt32 - (int)Layout.Loader16);
        BitConverter.TryWriteBytes(gdt[8..], 0x00CF_9A00_0000_FFFFUL);
        BitConverter.TryWriteBytes(gdt[16..], 0x00CF_9200_0000_FFFFUL);
        var ptr = block.AsSpan(Gdt32Ptr - (int)Layout.Loader16);
        BitConverter.TryWriteBytes(ptr, (ushort)23);
        BitConverter.TryWriteBytes(ptr[2..], (uint)Gdt32);
        return block;
    }

    static void WriteMoveDescriptor(Span<byte> d, ulong base_)
    {
        BitConverter.TryWriteBytes(d, (ushort)0xFFFF);
        d[2] = (byte)base_; d[3] = (byte)(base_ >> 8); d[4] = (byte)(base_ >> 16);
        d[5] = 0x93; d[6] = 0; d[7] = (byte)(base_ >> 24);
    }

    /// <summary>The 32-bit trampoline at <see cref="Layout.Trampoline32"/>: PAE, LME, paging, the Linux GDT, then 64-bit code.</summary>
    public static byte[] Trampoline(ulong linuxGdtPtr)
    {
        var a = new Assembler(32);
        a.mov(ax, 0x10);
        a.mov(ds, ax);
        a.mov(es, ax);
        a.mov(ss, ax);
        a.mov(esp, 0x7C00);
        a.mov(eax, cr4);
        a.or(eax, 0x20);             // PAE
        a.mov(cr4, eax);
        a.mov(eax, (uint)Layout.HarnessPml4);
        a.mov(cr3, eax);
        a.mov(ecx, 0xC000_0080);
        a.rdmsr();
        a.or(eax, 0x101);            // LME, SCE
        a.wrmsr();
        a.mov(eax, cr0);
        a.or(eax, 0x8001_0000);      // PG, WP
        a.mov(cr0, eax);
        a.lgdt(__[(uint)linuxGdtPtr]);
        a.jmp(0x10, (uint)Layout.Harness64);
        var code = Assemble(a, Layout.Trampoline32);
        if (code.Length > (int)(Layout.Harness64 - Layout.Trampoline32)) throw new InvalidOperationException($"trampoline is {code.Length} bytes");
        return code;
    }

    /// <summary>Assembles at a fixed address.</summary>
    internal static byte[] Assemble(Assembler a, ulong rip)
    {
        var ms = new MemoryStream();
        a.Assemble(new StreamCodeWriter(ms), rip);
        return ms.ToArray();
    }
}
