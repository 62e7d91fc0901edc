using Fred.Dut;
using Fred.Model;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Fred.Image;

/// <summary>
/// How a realised case raises a #DB other than the single step, #MF or #XM, and how it is entered with blocking by
/// STI or by NMI: the code placed at (or before) RIP, the record's mode bits and debug registers.
/// </summary>
/// <param name="Code">The bytes placed at the entry (a lead instruction first when <paramref name="Lead"/> is not 0).</param>
/// <param name="Lead">Bytes before RIP: the instruction that takes the case to its state (the data access of a data breakpoint).</param>
/// <param name="Mode">Record mode bits (<see cref="Record.ModeDebug"/>, <see cref="Record.ModeX87Pending"/>, <see cref="Record.ModeSimd"/>).</param>
/// <param name="DebugRegisters">DR0, DR1, DR2, DR3 and DR7 for <see cref="Record.ModeDebug"/>, else null.</param>
/// <param name="AllowsTf">The state may have TF set (a data breakpoint reported with the single step, BS).</param>
public sealed record EventSetup(byte[] Code, int Lead, ulong Mode, ulong[]? DebugRegisters, bool AllowsTf);

/// <summary>
/// The debug-register, x87 and SSE events of the image and its blocking states (spec/image-format.md, FRED-IMG-02):
/// the realizer's side (<see cref="Of"/>, <see cref="BlockingMode"/>) and the harness's side (<see cref="EmitInit"/>,
/// <see cref="EmitSetup"/>, <see cref="EmitEntryFrame"/>, <see cref="EmitCleanup"/>).
/// </summary>
public static class CaseEvents
{
    /// <summary>DR6 B0..B3, BD and BS (FRED-DATA-02).</summary>
    public const ulong B0 = 1, B1 = 2, B2 = 4, B3 = 8, Bd = 1UL << 13, Bs = 1UL << 14;
    /// <summary>DR7.GD: general detect, a MOV to or from a debug register raises #DB first.</summary>
    public const ulong Dr7Gd = 1UL << 13;
    /// <summary>CR4.OSFXSR and CR4.OSXMMEXCPT: SSE instructions run, and unmasked SIMD exceptions raise #XM.</summary>
    public const ulong Cr4OsFxsr = 1UL << 9, Cr4OsXmmExcpt = 1UL << 10;
    /// <summary>FCW of an #MF case: every exception masked but ZE (bit 2).</summary>
    public const ushort X87Fcw = 0x037B;
    /// <summary>MXCSR of an #XM case: every exception masked but IE (bit 7), round to nearest.</summary>
    public const uint SimdMxcsr = 0x1F00;

    /// <summary>
    /// How the image raises the first step when it is a #DB other than the single step alone, #MF or #XM; null for
    /// every other step. Throws <see cref="ArgumentException"/> with the reason when the case asks for one of these
    /// events in a form the image cannot raise.
    /// </summary>
    public static EventSetup? Of(Step step, MachineState s)
    {
        if (step is not DeliverStep { Event: { Type: EventType.HardwareException, Nested: false } e }) return null;
        switch (e.Vector)
        {
            case Vector.DB when e.FrameEventData != Event.DebugSingleStep:
                return Debug(s, e.FrameEventData);
            case Vector.MF:
                // FWAIT reports the x87 exception the harness left pending (1/0 with ZE unmasked); CR0.NE is set.
                return new([0x9B], 0, Record.ModeX87Pending, null, false);
            case Vector.XF:
                Require((s.Cr4 & (Cr4OsFxsr | Cr4OsXmmExcpt)) == (Cr4OsFxsr | Cr4OsXmmExcpt),
                    "#XM needs CR4.OSFXSR and CR4.OSXMMEXCPT in the case's state (without them SSE instructions raise #UD)");
                // DIVSS XMM0, XMM0 with XMM0 zeroed: 0/0 is invalid, and IE is unmasked.
                return new([0xF3, 0x0F, 0x5E, 0xC0], 0, Record.ModeSimd, null, false);
            default:
                return null;
        }
    }

    /// <summary>
    /// A #DB from the debug registers: B0/B1 are instruction breakpoints on RIP (a fault), B2/B3 data breakpoints
    /// (read or write, 4 bytes) hit by an FLD before RIP (a trap, with BS when TF is set), BD a MOV from DR7 with DR7.GD set.
    /// </summary>
    static EventSetup Debug(MachineState s, ulong data)
    {
        const string which = "the image raises #DB event data B0/B1 as instruction breakpoints at RIP, B2/B3 as data breakpoints "
            + "hit by the instruction before RIP (with BS when TF is set), BD alone by MOV from DR7 with DR7.GD set, and BS alone as the single step";
        Require((s.Rflags & MachineState.FlagRf) == 0, "a breakpoint #DB needs RFLAGS.RF clear (RF suppresses instruction breakpoints, and an instruction before RIP clears it)");
        bool tf = (s.Rflags & MachineState.FlagTf) != 0;
        var dr = new ulong[5];
        if (data == Bd)
        {
            Require(s.Cpl == 0 && !tf, "general detect (BD) is raised by MOV from DR7 in ring 0 with TF clear");
            dr[4] = Dr7Gd;
            return new([0x0F, 0x21, 0xF8], 0, Record.ModeDebug, dr, false);   // MOV RAX, DR7: faults before it runs
        }
        ulong b = data & 0xF;
        Require(b != 0 && (data & ~(0xFUL | Bs)) == 0, which);
        if ((b & (B2 | B3)) == 0)
        {
            Require(data == b && !tf, "an instruction breakpoint (B0/B1) is realised with TF clear and nothing else in the event data");
            for (int n = 0; n < 2; n++)
                if ((b & (1UL << n)) != 0) { dr[n] = s.Rip; dr[4] |= 1UL << (2 * n); }      // L n, R/W 00 (execute), LEN 00
            return new([0x90], 0, Record.ModeDebug, dr, false);
        }
        Require((b & (B0 | B1)) == 0, which);
        Require(((data & Bs) != 0) == tf, "a data breakpoint's event data has BS exactly when TF is set (the single step of the same instruction)");
        // FLD dword [page of the FLD]: a 4-byte read that changes nothing the model tracks; the breakpoint covers it.
        const int len = 6;
        ulong at = s.Rip - len, target = at & ~0xFFFUL;
        byte[] code = s.Is64BitMode
            ? [0xD9, 0x05, .. BitConverter.GetBytes((int)((long)target - (long)s.Rip))]      // RIP-relative
            : [0xD9, 0x05, .. BitConverter.GetBytes((uint)target)];
        for (int n = 2; n < 4; n++)
            if ((b & (1UL << n)) != 0) { dr[n] = target; dr[4] |= (1UL << (2 * n)) | (0xFUL << (16 + 4 * n)); }   // L n, R/W 11, LEN 11
        return new(code, len, Record.ModeDebug, dr, tf);
    }

    /// <summary>
    /// The mode bits that give the case its blocking by STI and by NMI, or the reason the image cannot: blocking by STI
    /// only in ring 0 with IF set (ERETS sets it from its frame's STI bit; ERETU never does) and with the harness
    /// entering at RIP; blocking by NMI only when the case's own event is not an NMI (it would stay pending past the case).
    /// </summary>
    public static ulong BlockingMode(MachineState s, Step first, int lead)
    {
        ulong mode = 0;
        if (s.StiBlocked)
        {
            Require(s.Cpl == 0 && (s.Rflags & MachineState.FlagIf) != 0, "blocking by STI is entered only in ring 0 with IF set (ERETS's STI bit; ERETU sets none)");
            Require(lead == 0, "blocking by STI must cover the case's first instruction, and this case starts with an instruction before RIP");
            Require(first is not DeliverStep { Event.Type: EventType.Nmi },
                "an NMI in an STI shadow is not realised: the SDM lets a processor hold NMIs off there");
            mode |= Record.ModeSti;
        }
        if (s.NmiBlocked)
        {
            Require(first is not DeliverStep { Event.Type: EventType.Nmi }, "an NMI sent while NMIs are blocked would stay pending after the case");
            mode |= Record.ModeNmiBlocked;
        }
        return mode;
    }

    static void Require(bool ok, string why) { if (!ok) throw new ArgumentException(why); }

    // ---- the harness's side --------------------------------------------------------------------------------

    /// <summary>At start: the harness runs with CR4.OSFXSR and OSXMMEXCPT (as Linux does) and keeps the FCW and MXCSR values.</summary>
    public static void EmitInit(Assembler a)
    {
        a.mov(rax, cr4);
        a.or(rax, (int)(Cr4OsFxsr | Cr4OsXmmExcpt));
        a.mov(cr4, rax);
        a.mov(__qword_ptr[Globals.X87Fcw], X87Fcw);
        a.mov(__qword_ptr[Globals.SimdMxcsr], (int)SimdMxcsr);
        a.mov(__qword_ptr[Globals.DefaultMxcsr], 0x1F80);
    }

    /// <summary>
    /// While loading the case (rbx: its record; the case's CR4 and CR0 are loaded): the pending x87 exception, MXCSR
    /// and XMM0, then DR6 cleared, DR0..DR3 and DR7 last (DR7.GD forbids any later MOV DR).
    /// </summary>
    public static void EmitSetup(Assembler a)
    {
        Label noX87 = a.CreateLabel(), noSimd = a.CreateLabel(), noDebug = a.CreateLabel();
        a.bt(__qword_ptr[rbx + 8 * Record.Mode], 13);
        a.jnc(noX87);
        a.fninit();
        a.fldcw(__word_ptr[Globals.X87Fcw]);
        a.fldz();
        a.fld1();
        a.fdiv(st0, st1);                          // 1/0 with ZE unmasked: pending until the next waiting x87 instruction
        a.Label(ref noX87);
        a.bt(__qword_ptr[rbx + 8 * Record.Mode], 14);
        a.jnc(noSimd);
        a.ldmxcsr(__dword_ptr[Globals.SimdMxcsr]);
        a.xorps(xmm0, xmm0);
        a.Label(ref noSimd);
        a.bt(__qword_ptr[rbx + 8 * Record.Mode], 12);
        a.jnc(noDebug);
        a.mov(eax, 0xFFFF_0FF0);
        a.mov(dr6, rax);
        a.mov(rax, __qword_ptr[rbx + 8 * Record.Dr0]);
        a.mov(dr0, rax);
        a.mov(rax, __qword_ptr[rbx + 8 * (Record.Dr0 + 1)]);
        a.mov(dr1, rax);
        a.mov(rax, __qword_ptr[rbx + 8 * (Record.Dr0 + 2)]);
        a.mov(dr2, rax);
        a.mov(rax, __qword_ptr[rbx + 8 * (Record.Dr0 + 3)]);
        a.mov(dr3, rax);
        a.mov(rax, __qword_ptr[rbx + 8 * Record.Dr7]);
        a.mov(dr7, rax);
        a.Label(ref noDebug);
    }

    /// <summary>
    /// After the entry frame is written (rdi: the frame, rbx: the record): the STI bit (SS word bit 16) for blocking by
    /// STI. Blocking by NMI needs nothing here: the frame's NMI bit stays clear.
    /// </summary>
    public static void EmitEntryFrame(Assembler a)
    {
        Label noSti = a.CreateLabel();
        a.bt(__qword_ptr[rbx + 8 * Record.Mode], 15);
        a.jnc(noSti);
        a.bts(__qword_ptr[rdi + 40], 16);
        a.Label(ref noSti);
    }

    /// <summary>After every case (harness CR4 and CR0.TS clear again): DR7 and DR6 cleared, x87 and MXCSR reset.</summary>
    public static void EmitCleanup(Assembler a)
    {
        a.xor(eax, eax);
        a.mov(dr7, rax);
        a.mov(eax, 0xFFFF_0FF0);
        a.mov(dr6, rax);
        a.fninit();
        a.ldmxcsr(__dword_ptr[Globals.DefaultMxcsr]);
    }
}
