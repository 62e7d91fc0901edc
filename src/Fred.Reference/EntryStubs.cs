using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Fred.Reference;

/// <summary>
/// The FRED entry stubs as machine code, assembled with Iced: the user entry at a 4 KiB-aligned address, the kernel
/// entry exactly 256 bytes later. Each pushes the fifteen general registers below the hardware frame (pt_regs),
/// clears them, calls the C dispatcher with RDI = pt_regs, pops them, drops the error code (RFC only) and ERETs.
/// </summary>
public sealed record EntryStubs(Profile Profile, ulong UserEntry, byte[] Code, ulong UserDispatcher, ulong KernelDispatcher)
{
    /// <summary>Offset of the kernel entry from the user entry.</summary>
    public const int KernelEntryOffset = 256;

    /// <summary>Address of the kernel entry.</summary>
    public ulong KernelEntry => UserEntry + KernelEntryOffset;

    /// <summary>Registers in PUSH_REGS order (pt_regs from di at the top down to r15 at the bottom).</summary>
    public static readonly AssemblerRegister64[] PushOrder = [rdi, rsi, rdx, rcx, rax, r8, r9, r10, r11, rbx, rbp, r12, r13, r14, r15];

    /// <summary>Assembles both stubs for a profile at a 4 KiB-aligned entry point.</summary>
    public static EntryStubs Assemble(Profile profile, ulong userEntry)
    {
        if ((userEntry & 0xFFF) != 0) throw new ArgumentException($"the FRED entry point 0x{userEntry:X} must be 4 KiB aligned", nameof(userEntry));
        ulong userDispatch = userEntry + 0x1000, kernelDispatch = userEntry + 0x1100;   // fred_entry_from_user / _kernel
        var user = Stub(profile, userDispatch, ring3: true, userEntry);
        var kernel = Stub(profile, kernelDispatch, ring3: false, userEntry + KernelEntryOffset);
        if (user.Length > KernelEntryOffset)
            throw new InvalidOperationException($"the user entry stub is {user.Length} bytes; it must fit in {KernelEntryOffset}");
        var code = new byte[KernelEntryOffset + kernel.Length];
        Array.Fill(code, (byte)0xCC);                                                      // int3 padding up to +256
        user.CopyTo(code, 0);
        kernel.CopyTo(code, KernelEntryOffset);
        return new(profile, userEntry, code, userDispatch, kernelDispatch);
    }

    static byte[] Stub(Profile profile, ulong dispatcher, bool ring3, ulong at)
    {
        var a = new Assembler(64);
        foreach (var r in PushOrder) a.push(r);                                          // PUSH_AND_CLEAR_REGS
        foreach (var r in new AssemblerRegister32[] { esi, edx, ecx, r8d, r9d, r10d, r11d, ebx, ebp, r12d, r13d, r14d, r15d }) a.xor(r, r);
        a.mov(rdi, rsp);                                                                  // rdi -> pt_regs
        a.call(dispatcher);
        foreach (var r in PushOrder.Reverse()) a.pop(r);                                  // POP_REGS
        if (profile == Profile.Rfc2022) a.add(rsp, 8);                                    // FRED 3.0: drop the error code
        if (ring3) a.eretu(); else a.erets();
        var w = new ByteWriter();
        a.Assemble(w, at);
        return w.Bytes;
    }

    /// <summary>The decoded instructions of the stub starting at an entry address, up to and including its ERET.</summary>
    public IReadOnlyList<Instruction> Decode(ulong entry)
    {
        var d = Decoder.Create(64, new ByteArrayCodeReader(Code, (int)(entry - UserEntry), Code.Length - (int)(entry - UserEntry)));
        d.IP = entry;
        var list = new List<Instruction>();
        while (d.IP < UserEntry + (ulong)Code.Length)
        {
            var i = d.Decode();
            list.Add(i);
            if (i.Code is Iced.Intel.Code.Eretu or Iced.Intel.Code.Erets || i.IsInvalid) break;
        }
        return list;
    }

    /// <summary>The stub disassembled, one instruction a line.</summary>
    public string Disassemble(ulong entry)
    {
        var f = new IntelFormatter();
        var o = new StringOutput();
        return string.Join(Environment.NewLine, Decode(entry).Select(i => { f.Format(i, o); return $"{i.IP:X16}  {o.ToStringAndReset()}"; }));
    }

    sealed class ByteWriter : CodeWriter
    {
        readonly List<byte> bytes = [];
        public byte[] Bytes => [.. bytes];
        public override void WriteByte(byte value) => bytes.Add(value);
    }
}
