namespace Fred.Model;

/// <summary>The CS word's fields, decoded for one revision.</summary>
/// <param name="Selector">CS selector of the interrupted context.</param>
/// <param name="StackLevel">Stack level before the event.</param>
/// <param name="Wfe">WAIT_FOR_ENDBRANCH was in effect (FRED 5 only).</param>
/// <param name="ReservedBits">Bits the revision does not define; zero in every frame delivery writes.</param>
public readonly record struct CsWord(ushort Selector, int StackLevel, bool Wfe, ulong ReservedBits);

/// <summary>The SS word's fields (event information and ERET controls).</summary>
public readonly record struct SsWord(
    ushort Selector, byte Vector, EventType Type, bool Enclave, bool Is64Bit, bool Nested, int InstructionLength, ulong ReservedBits);

/// <summary>The three ERET controls: STI, SWEVENT and NMI (SS word in FRED 5, CS word in FRED 3).</summary>
public readonly record struct EretControls(bool Sti, bool SoftwareEvent, bool Nmi);

/// <summary>Encodes and decodes the CS and SS words for one revision (FRED-FRAME-02..04, FRED-REV-02).</summary>
public static class FrameWords
{
    const int F5Sti = 16, F5SwEvent = 17, F5Nmi = 18, F5Wfe = 18;
    const int F3Sti = 24, F3SwEvent = 25, F3Nmi = 28;

    /// <summary>CS-word bits that carry meaning in a revision (selector, stack level, WFE or the F3 controls).</summary>
    public static ulong CsDefinedMask(Revision r) =>
        r == Revision.Fred5 ? 0x7_FFFFUL : 0x3_FFFFUL | (1UL << F3Sti) | (1UL << F3SwEvent) | (1UL << F3Nmi);

    /// <summary>SS-word bits that carry meaning in a revision.</summary>
    public static ulong SsDefinedMask(Revision r) =>
        (r == Revision.Fred5 ? 0x7_FFFFUL : 0xFFFFUL) | (0xFFUL << 32) | (0xFUL << 48) | (7UL << 56) | (0xFUL << 60);

    /// <summary>Builds the CS word.</summary>
    public static ulong EncodeCs(Revision r, ushort selector, int stackLevel, bool wfe, EretControls c)
    {
        ulong w = selector | ((ulong)(stackLevel & 3) << 16);
        if (r == Revision.Fred5)
            return w | (wfe ? 1UL << F5Wfe : 0);
        return w | Bit(c.Sti, F3Sti) | Bit(c.SoftwareEvent, F3SwEvent) | Bit(c.Nmi, F3Nmi);
    }

    /// <summary>Builds the SS word.</summary>
    public static ulong EncodeSs(Revision r, ushort selector, EretControls c, byte vector, EventType type, bool enclave, bool is64, bool nested, int ilen)
    {
        ulong w = selector | ((ulong)vector << 32) | ((ulong)type << 48) | Bit(enclave, 56) | Bit(is64, 57) | Bit(nested, 58) | ((ulong)(ilen & 0xF) << 60);
        if (r == Revision.Fred5)
            w |= Bit(c.Sti, F5Sti) | Bit(c.SoftwareEvent, F5SwEvent) | Bit(c.Nmi, F5Nmi);
        return w;
    }

    /// <summary>Decodes the CS word.</summary>
    public static CsWord DecodeCs(Revision r, ulong w) =>
        new((ushort)w, (int)((w >> 16) & 3), r == Revision.Fred5 && (w & (1UL << F5Wfe)) != 0, w & ~CsDefinedMask(r));

    /// <summary>Decodes the SS word.</summary>
    public static SsWord DecodeSs(Revision r, ulong w) =>
        new((ushort)w, (byte)(w >> 32), (EventType)((w >> 48) & 0xF), (w & (1UL << 56)) != 0, (w & (1UL << 57)) != 0,
            (w & (1UL << 58)) != 0, (int)(w >> 60), w & ~SsDefinedMask(r));

    /// <summary>Reads the STI/SWEVENT/NMI controls from the word that holds them in this revision.</summary>
    public static EretControls Controls(Revision r, ulong csWord, ulong ssWord) => r == Revision.Fred5
        ? new((ssWord & (1UL << F5Sti)) != 0, (ssWord & (1UL << F5SwEvent)) != 0, (ssWord & (1UL << F5Nmi)) != 0)
        : new((csWord & (1UL << F3Sti)) != 0, (csWord & (1UL << F3SwEvent)) != 0, (csWord & (1UL << F3Nmi)) != 0);

    static ulong Bit(bool b, int n) => b ? 1UL << n : 0;
}

/// <summary>The 64-byte FRED stack frame as eight raw quadwords (FRED-FRAME-01).</summary>
public readonly record struct Frame(ulong ErrorCode, ulong Rip, ulong CsWord, ulong Rflags, ulong Rsp, ulong SsWord, ulong EventData, ulong Reserved)
{
    /// <summary>Size of a frame in bytes.</summary>
    public const int Size = 64;

    /// <summary>Quadword offsets from the frame base.</summary>
    public const int ErrorCodeOffset = 0, RipOffset = 8, CsOffset = 16, RflagsOffset = 24, RspOffset = 32, SsOffset = 40, EventDataOffset = 48, ReservedOffset = 56;

    /// <summary>The eight quadwords from the base upward.</summary>
    public ulong[] ToQuadwords() => [ErrorCode, Rip, CsWord, Rflags, Rsp, SsWord, EventData, Reserved];

    /// <summary>Reads a frame from memory at a base address (null if any quadword is not readable).</summary>
    public static Frame? Read(Memory memory, ulong baseAddress)
    {
        Span<ulong> q = stackalloc ulong[8];
        if (memory.ReadAll(baseAddress, q, AccessKind.SupervisorRead) is not null) return null;
        return new(q[0], q[1], q[2], q[3], q[4], q[5], q[6], q[7]);
    }

    /// <summary>A readable multi-line rendering with every field by name for one revision.</summary>
    public string Describe(Revision r)
    {
        var cs = FrameWords.DecodeCs(r, CsWord);
        var ss = FrameWords.DecodeSs(r, SsWord);
        var c = FrameWords.Controls(r, CsWord, SsWord);
        return string.Join(Environment.NewLine,
            $"  +0  error code  0x{ErrorCode:X}",
            $"  +8  RIP         0x{Rip:X16}",
            $"  +16 CS word     0x{CsWord:X16}  selector=0x{cs.Selector:X4} stack level={cs.StackLevel} wfe={B(cs.Wfe)}{(cs.ReservedBits != 0 ? $" RESERVED=0x{cs.ReservedBits:X}" : "")}",
            $"  +24 RFLAGS      0x{Rflags:X16}",
            $"  +32 RSP         0x{Rsp:X16}",
            $"  +40 SS word     0x{SsWord:X16}  selector=0x{ss.Selector:X4} sti={B(c.Sti)} swevent={B(c.SoftwareEvent)} nmi={B(c.Nmi)} vector=0x{ss.Vector:X2} type={ss.Type}({(int)ss.Type}) enclave={B(ss.Enclave)} 64-bit={B(ss.Is64Bit)} nested={B(ss.Nested)} insn length={ss.InstructionLength}{(ss.ReservedBits != 0 ? $" RESERVED=0x{ss.ReservedBits:X}" : "")}",
            $"  +48 event data  0x{EventData:X}",
            $"  +56 reserved    0x{Reserved:X}");
        static string B(bool b) => b ? "1" : "0";
    }
}
