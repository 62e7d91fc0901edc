using Fred.Model;

namespace Fred.Reference;

/// <summary>
/// struct pt_regs as the FRED entry stub builds it: fifteen general registers pushed below the hardware frame,
/// then the frame itself (orig_ax is the error-code slot), then fred_info's event data.
/// </summary>
public readonly record struct PtRegs(
    ulong R15, ulong R14, ulong R13, ulong R12, ulong Bp, ulong Bx, ulong R11, ulong R10, ulong R9, ulong R8,
    ulong Ax, ulong Cx, ulong Dx, ulong Si, ulong Di,
    ulong OrigAx, ulong Ip, ulong Cs, ulong Flags, ulong Sp, ulong Ss, ulong EventData)
{
    /// <summary>Number of general registers the entry stub pushes.</summary>
    public const int GeneralRegisterCount = 15;

    /// <summary>fred_ss.type (4 bits, 51:48).</summary>
    public int Type => (int)((Ss >> 48) & 0xF);
    /// <summary>fred_ss.vector (39:32).</summary>
    public byte Vector => (byte)(Ss >> 32);
    /// <summary>fred_ss.l / RFC long_mode: the event came from 64-bit mode (57).</summary>
    public bool L => (Ss & (1UL << 57)) != 0;
    /// <summary>fred_ss.insnlen / RFC instr_len (63:60).</summary>
    public int InstructionLength => (int)(Ss >> 60);
    /// <summary>fred_cs.sl / RFC current_stack_level (17:16).</summary>
    public int StackLevel => (int)((Cs >> 16) & 3);
    /// <summary>The CS selector (regs->cs as a u16).</summary>
    public ushort CsSelector => (ushort)Cs;

    /// <summary>The same registers with fred_ss.type replaced (the RFC's emulate helpers write it).</summary>
    public PtRegs WithType(int type) => this with { Ss = (Ss & ~(0xFUL << 48)) | ((ulong)(type & 0xF) << 48) };
    /// <summary>The same registers with fred_ss.vector replaced.</summary>
    public PtRegs WithVector(byte vector) => this with { Ss = (Ss & ~(0xFFUL << 32)) | ((ulong)vector << 32) };

    /// <summary>pt_regs from a delivered frame and the interrupted context's general registers.</summary>
    public static PtRegs FromFrame(Frame f, MachineState gprs) => new(
        0, 0, 0, 0, 0, 0, gprs.R11, 0, 0, 0, gprs.Rax, gprs.Rcx, 0, 0, 0,
        f.ErrorCode, f.Rip, f.CsWord, f.Rflags, f.Rsp, f.SsWord, f.EventData);

    /// <summary>The frame quadwords pt_regs now holds (error code slot = orig_ax), for writing back before ERET.</summary>
    public Frame ToFrame(ulong reserved = 0) => new(OrigAx, Ip, Cs, Flags, Sp, Ss, EventData, reserved);

    /// <summary>A short rendering of the fields dispatch reads and writes.</summary>
    public override string ToString() =>
        $"type={Type} vector=0x{Vector:X2} sl={StackLevel} l={(L ? 1 : 0)} insnlen={InstructionLength} cs=0x{CsSelector:X4} ip=0x{Ip:X} orig_ax=0x{OrigAx:X} ax=0x{Ax:X} event data=0x{EventData:X}";
}
