namespace Fred.Image;

/// <summary>Offsets of the harness's variables from <see cref="Layout.Globals"/>.</summary>
public static class Globals
{
    public const ulong HandlerPtr = Layout.Globals + 0x00;
    public const ulong SaveRax = Layout.Globals + 0x08;
    public const ulong SaveRcx = Layout.Globals + 0x10;
    public const ulong SaveRdx = Layout.Globals + 0x18;
    public const ulong SaveR11 = Layout.Globals + 0x20;
    public const ulong SaveRbx = Layout.Globals + 0x28;
    public const ulong SaveRsi = Layout.Globals + 0x30;
    public const ulong SaveRdi = Layout.Globals + 0x38;
    public const ulong SaveR8 = Layout.Globals + 0x40;
    public const ulong EntryKind = Layout.Globals + 0x48;
    public const ulong Phase = Layout.Globals + 0x50;
    public const ulong CasePtr = Layout.Globals + 0x58;
    public const ulong CasesLeft = Layout.Globals + 0x60;
    public const ulong Sum = Layout.Globals + 0x68;
    public const ulong EntryRsp = Layout.Globals + 0x78;
    public const ulong HarnessCr4 = Layout.Globals + 0x80;
    public const ulong SaveR9 = Layout.Globals + 0x88;
    // ---- the debug-register, x87 and SSE events (CaseEvents.cs) ----
    /// <summary>FCW a case with <see cref="Record.ModeX87Pending"/> runs with: every x87 exception masked but ZE.</summary>
    public const ulong X87Fcw = Layout.Globals + 0x90;
    /// <summary>MXCSR a case with <see cref="Record.ModeSimd"/> runs with: every SIMD exception masked but IE.</summary>
    public const ulong SimdMxcsr = Layout.Globals + 0x98;
    /// <summary>MXCSR after FNINIT/reset (0x1F80), restored after every case.</summary>
    public const ulong DefaultMxcsr = Layout.Globals + 0xA0;
    /// <summary>The observation block: <see cref="Observation.FieldCount"/> quadwords.</summary>
    public const ulong Obs = Layout.Globals + 0x100;
    /// <summary>The harness's own MSR settings: a count, then (msr, value) pairs.</summary>
    public const ulong HarnessMsrs = Layout.Globals + 0x400;
    /// <summary>The handler's private stack top.</summary>
    public const ulong HandlerStackTop = 0x2D000;
}

/// <summary>What the harness is doing when an event arrives.</summary>
public enum Phase : ulong
{
    /// <summary>Between cases.</summary>
    Idle = 0,
    /// <summary>The harness's own INT1, taken to reach the case's stack level before entering the case.</summary>
    Enter = 1,
    /// <summary>Loading the case's state; an event now means the emulator refused part of it.</summary>
    Setup = 2,
    /// <summary>The case runs; the next event is its first step's.</summary>
    Case = 3,
    /// <summary>The harness executed the case's ERETU/ERETS; the next event is its fault or the landing probe.</summary>
    Return = 4,
    /// <summary>Taking interrupts left pending by a case (a masked self-IPI); each is acknowledged and dropped.</summary>
    Drain = 5,
}

/// <summary>Quadword offsets inside a case record (spec/image-format.md).</summary>
public static class Record
{
    public const int Length = 0, Index = 1, Mode = 2, Pml4 = 3, Rip = 4, Rsp = 5, Rflags = 6, Cs = 7, Ss = 8, Rax = 9, Rcx = 10,
        R11 = 11, Cr2 = 12, Cr4 = 13, Gdtr = 14, Icr = 16, After = 17, Delta = 18, MsrCount = 19, Msrs = 20, MaxMsrs = 12,
        // ---- the debug registers (CaseEvents.cs): DR0..DR3, then DR7 ----
        Dr0 = Msrs + 2 * MaxMsrs, Dr7 = Dr0 + 4,
        Program = Dr7 + 1;

    // ---- mode bits of the debug-register, x87, SSE and blocking cases (CaseEvents.cs) ----
    /// <summary>Mode bit 12: the harness loads DR0..DR3 and DR7 from the record (after DR6 is cleared); clears DR7 after.</summary>
    public const ulong ModeDebug = 1UL << 12;
    /// <summary>Mode bit 13: FNINIT, FCW <see cref="Globals.X87Fcw"/>, and 1/0 (FDIV): an unmasked x87 exception is pending.</summary>
    public const ulong ModeX87Pending = 1UL << 13;
    /// <summary>Mode bit 14: MXCSR <see cref="Globals.SimdMxcsr"/> and XMM0 zeroed, so DIVSS XMM0, XMM0 raises #XM.</summary>
    public const ulong ModeSimd = 1UL << 14;
    /// <summary>Mode bit 15: enter with the frame's STI bit set (ERETS, IF = 1): blocking by STI for the first instruction.</summary>
    public const ulong ModeSti = 1UL << 15;
    /// <summary>
    /// Mode bit 16: NMIs stay blocked in the case. The harness climbs with an NMI of its own (as for
    /// <see cref="ModeNmi"/>) and enters with the frame's NMI bit clear, so they stay blocked until it finishes the case.
    /// </summary>
    public const ulong ModeNmiBlocked = 1UL << 16;

    /// <summary>Mode bit 0: enter the case with ERETU (ring 3); otherwise ERETS.</summary>
    public const ulong ModeUser = 1;
    /// <summary>
    /// Mode bit 1: the case's event is an NMI. The harness climbs to the case's stack level with an NMI of its own
    /// (so NMIs are blocked while it sends the case's), and enters with the frame's NMI bit set, which unblocks them.
    /// </summary>
    public const ulong ModeNmi = 2;
    /// <summary>Mode bit 2: the case runs with CR0.TS set (its x87 instruction raises #NM); the harness clears it after.</summary>
    public const ulong ModeTs = 4;
    /// <summary>ICR value of an NMI to APIC id 0 (the only processor): delivery mode NMI, physical destination.</summary>
    public const ulong IcrNmi = 0x400;
    /// <summary>
    /// RBP as every case starts (the model does not track RBP): non-canonical, so a load through it, which references
    /// the SS segment, raises #SS(0) in 64-bit mode.
    /// </summary>
    public const ulong StackFaultRbp = 0x8000_0000_0000_0000;
    /// <summary>What follows the first event: end the case, or the harness's ERETU / ERETS.</summary>
    public const ulong AfterEnd = 0, AfterEretu = 1, AfterErets = 2;
    /// <summary>Memory-program operations, four quadwords each: op, a, b, c.</summary>
    public const ulong OpEnd = 0, OpZero = 1, OpFillPte = 2, OpPoke = 3, OpFillByte = 4;
}
