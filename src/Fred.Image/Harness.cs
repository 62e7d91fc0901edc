using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Fred.Image;

/// <summary>The assembled 64-bit harness and the addresses the output interpreter needs.</summary>
/// <param name="Code">Code for <see cref="Layout.Harness64"/>.</param>
/// <param name="Handler">The common event handler the entry stubs jump to.</param>
/// <param name="EretuAt">Address of the harness's ERETU that carries out a case's <c>eretu</c> step.</param>
/// <param name="EretsAt">Address of the harness's ERETS that carries out a case's <c>erets</c> step.</param>
/// <param name="EnterAt">Addresses of the ERETS and ERETU that enter a case's context.</param>
public sealed record HarnessCode(byte[] Code, ulong Handler, ulong EretuAt, ulong EretsAt, ulong[] EnterAt);

/// <summary>
/// The harness: long-mode code that checks CPUID for FRED, programs its own FRED MSRs and CR4.FRED, then runs
/// every case record: prepares the case's memory and page tables, climbs to the case's stack level with an INT1,
/// loads the case's state and enters it with ERETU or ERETS, records what the processor did at each event (the entry
/// stub, the entry RSP, RFLAGS, selectors, GS bases, CR2, CONFIG, the 64-byte frame) and prints it on port 0xE9
/// (spec/image-format.md).
/// </summary>
public static class Harness
{
    /// <summary>Number of quadwords in an observation line after the case index.</summary>
    public const int ObsFields = 20;

    /// <summary>The entry-stub page: ring-3 events enter at +0, ring-0 events at +256; every other byte is INT3.</summary>
    public static byte[] EntryStubs()
    {
        var page = new byte[4096];
        Array.Fill(page, (byte)0xCC);
        Stub(0).CopyTo(page, 0);
        Stub(1).CopyTo(page, 256);
        return page;
    }

    // Position-independent: absolute [disp32] operands only, so the page works at whatever address CONFIG names.
    static byte[] Stub(int kind)
    {
        var a = new Assembler(64);
        a.mov(__qword_ptr[Globals.SaveRax], rax);
        a.mov(eax, kind);
        a.jmp(__qword_ptr[Globals.HandlerPtr]);
        return BootCode.Assemble(a, 0);
    }

    /// <summary>Assembles the harness at <see cref="Layout.Harness64"/>.</summary>
    public static HarnessCode Build()
    {
        var a = new Assembler(64);
        var L = (string n) => a.CreateLabel(n);
        Label hasFred = L("hasFred"), mainNext = L("mainNext"), loopCheck = L("loopCheck"), allDone = L("allDone"), shutdown = L("shutdown"),
            prog = L("prog"), progDone = L("progDone"), opZero = L("opZero"), opFill = L("opFill"), opPoke = L("opPoke"), opFillB = L("opFillB"),
            fillLoop = L("fillLoop"), progNext = L("progNext"), handler = L("handler"), enterCase = L("enterCase"), msrLoop = L("msrLoop"),
            msrDone = L("msrDone"), noIcr = L("noIcr"), finishCase = L("finishCase"), printHex = L("printHex"), printRaw = L("printRaw"),
            hexLoop = L("hexLoop"), digit = L("digit"), printObs = L("printObs"), obsLoop = L("obsLoop"), setHarnessMsrs = L("setHarnessMsrs"),
            hmLoop = L("hmLoop"), hmDone = L("hmDone"), letterR = L("letterR"), letterX = L("letterX"), letterDone = L("letterDone"),
            eretuAt = L("eretuAt"), eretsAt = L("eretsAt"), enterUser = L("enterUser"), halt = L("halt"),
            printLine = L("printLine"), climbNmi = L("climbNmi"), nmiWait = L("nmiWait"), firstBoot = L("firstBoot"), drain = L("drain"), enterErets = L("enterErets"), beginLine = L("beginLine"), noTs = L("noTs");

        // WRMSR for each (msr, value) pair: r8 holds the count, rsi the first pair.
        void WriteMsrs(Label loop, Label done)
        {
            a.Label(ref loop);
            a.test(r8, r8);
            a.jz(done);
            a.mov(ecx, __dword_ptr[rsi]);
            a.mov(eax, __dword_ptr[rsi + 8]);
            a.mov(edx, __dword_ptr[rsi + 12]);
            a.wrmsr();
            a.add(rsi, 16);
            a.dec(r8);
            a.jmp(loop);
            a.Label(ref done);
        }

        void Text(string s) { foreach (char c in s) { a.mov(al, (byte)c); a.@out(Layout.DebugPort, al); } }

        // ---- start -----------------------------------------------------------------------------------
        a.mov(ax, 0x18);
        a.mov(ds, ax);
        a.mov(es, ax);
        a.mov(ss, ax);
        a.xor(eax, eax);
        a.mov(fs, ax);
        a.mov(gs, ax);
        a.mov(rsp, Layout.MainStackTop);
        a.mov(al, 0xFF);                            // mask both PICs: only the case's self-IPIs interrupt
        a.@out(0x21, al);
        a.@out(0xA1, al);
        // A triple fault resets the processor and the BIOS boots the image again; memory survives, so a second start
        // finds the marker, says RESET and stops instead of running the cases again.
        a.mov(rax, Layout.BootMagic);
        a.mov(rdi, Layout.BootMarker);
        a.cmp(__qword_ptr[rdi], rax);
        a.jne(firstBoot);
        Text("RESET\n");
        a.jmp(shutdown);
        a.Label(ref firstBoot);
        a.mov(__qword_ptr[rdi], rax);
        Text("FRED-IMAGE 1\n");
        a.mov(eax, 7);
        a.mov(ecx, 1);
        a.cpuid();
        a.bt(eax, 17);
        a.jc(hasFred);
        Text("NOFRED\n");
        a.jmp(shutdown);
        a.Label(ref hasFred);
        a.mov(rdi, Layout.Apic + 0xF0);
        a.mov(__dword_ptr[rdi], 0x10F);             // APIC software enable; spurious vector 0x0F, which no case uses
        a.mov(rdi, Layout.Apic + 0x80);
        a.mov(__dword_ptr[rdi], 0);                 // TPR 0
        a.call(setHarnessMsrs);
        CaseEvents.EmitInit(a);
        // CR0 as Linux has it: MP and NE set, EM clear (x87 instructions run, and raise #NM only with TS set), and AM set
        // (ring 3 with RFLAGS.AC checks alignment: #AC).
        a.mov(rax, cr0);
        a.or(eax, (1 << 1) | (1 << 5) | (1 << 18));
        a.btr(rax, 2);
        a.mov(cr0, rax);
        a.mov(rax, cr4);
        a.bts(rax, 32);                             // CR4.FRED
        a.mov(cr4, rax);
        a.mov(__qword_ptr[Globals.HarnessCr4], rax);
        a.mov(rax, __qword_ptr[Layout.CaseData]);
        a.mov(__qword_ptr[Globals.CasesLeft], rax);
        a.mov(rax, Layout.CaseData + 8);
        a.mov(__qword_ptr[Globals.CasePtr], rax);
        a.jmp(loopCheck);

        // ---- main loop (CSL 0, harness page tables) ---------------------------------------------------
        a.Label(ref mainNext);
        a.mov(rsp, Layout.MainStackTop);
        a.mov(rax, __qword_ptr[Globals.CasePtr]);
        a.add(rax, __qword_ptr[rax]);
        a.mov(__qword_ptr[Globals.CasePtr], rax);
        a.dec(__qword_ptr[Globals.CasesLeft]);
        a.Label(ref loopCheck);
        a.cmp(__qword_ptr[Globals.CasesLeft], 0);
        a.je(allDone);
        a.mov(rbx, __qword_ptr[Globals.CasePtr]);
        a.mov(r9d, 'B');
        a.call(beginLine);
        // The memory program: zero and fill pages, write page-table entries and initial quadwords.
        a.lea(rsi, __[rbx + 8 * Record.Program]);
        a.Label(ref prog);
        a.mov(rax, __qword_ptr[rsi]);
        a.cmp(rax, (int)Record.OpEnd);
        a.je(progDone);
        a.mov(rdi, __qword_ptr[rsi + 8]);
        a.mov(rcx, __qword_ptr[rsi + 16]);
        a.cmp(rax, (int)Record.OpZero);
        a.je(opZero);
        a.cmp(rax, (int)Record.OpFillPte);
        a.je(opFill);
        a.cmp(rax, (int)Record.OpPoke);
        a.je(opPoke);
        a.Label(ref opFillB);
        a.mov(rax, __qword_ptr[rsi + 24]);
        a.rep.stosb();
        a.jmp(progNext);
        a.Label(ref opZero);
        a.xor(eax, eax);
        a.rep.stosq();
        a.jmp(progNext);
        a.Label(ref opFill);
        a.mov(rax, __qword_ptr[rsi + 24]);
        a.Label(ref fillLoop);
        a.mov(__qword_ptr[rdi], rax);
        a.add(rdi, 8);
        a.add(rax, 0x1000);
        a.dec(rcx);
        a.jnz(fillLoop);
        a.jmp(progNext);
        a.Label(ref opPoke);
        a.mov(__qword_ptr[rdi], rcx);
        a.Label(ref progNext);
        a.add(rsi, 32);
        a.jmp(prog);
        a.Label(ref progDone);
        // Reach the case's stack level: INT1 uses STKLVLS[1], which is set to that level; for an NMI case an NMI
        // of the harness's own (STKLVLS[2]) does it, so that NMIs are blocked while the case's NMI is sent.
        a.mov(rax, __qword_ptr[rbx + 8 * Record.Mode]);
        a.shr(rax, 8);
        a.and(eax, 3);
        a.mov(edx, eax);
        a.shl(eax, 2);
        a.shl(edx, 4);
        a.or(eax, edx);
        a.xor(edx, edx);
        a.mov(ecx, 0x1D0);
        a.wrmsr();
        a.mov(__qword_ptr[Globals.Phase], (int)Phase.Enter);
        a.test(__qword_ptr[rbx + 8 * Record.Mode], (int)(Record.ModeNmi | Record.ModeNmiBlocked));
        a.jnz(climbNmi);
        a.int1();
        a.jmp(shutdown);                            // not reached
        a.Label(ref climbNmi);
        a.mov(rdi, Layout.Apic + 0x310);
        a.mov(__dword_ptr[rdi], 0);
        a.mov(rdi, Layout.Apic + 0x300);
        a.mov(__dword_ptr[rdi], (int)Record.IcrNmi);
        a.Label(ref nmiWait);
        a.pause();
        a.jmp(nmiWait);                             // the NMI arrives here

        a.Label(ref allDone);
        Text("END\n");
        a.Label(ref shutdown);
        a.mov(dx, Layout.ShutdownPort);
        foreach (char c in "Shutdown") { a.mov(al, (byte)c); a.@out(dx, al); }
        a.Label(ref halt);
        a.cli();
        a.hlt();
        a.jmp(halt);

        // ---- the common handler --------------------------------------------------------------------------
        a.Label(ref handler);
        a.mov(__qword_ptr[Globals.EntryKind], rax);
        a.mov(__qword_ptr[Globals.SaveRcx], rcx);
        a.mov(__qword_ptr[Globals.SaveRdx], rdx);
        a.mov(__qword_ptr[Globals.SaveR11], r11);
        a.mov(__qword_ptr[Globals.SaveRbx], rbx);
        a.mov(__qword_ptr[Globals.SaveRsi], rsi);
        a.mov(__qword_ptr[Globals.SaveRdi], rdi);
        a.mov(__qword_ptr[Globals.SaveR8], r8);
        a.mov(__qword_ptr[Globals.SaveR9], r9);
        a.mov(__qword_ptr[Globals.EntryRsp], rsp);
        a.cmp(__qword_ptr[Globals.Phase], (int)Phase.Drain);
        a.je(drain);
        a.mov(rdi, Globals.Obs);
        a.mov(__qword_ptr[rdi + 8], rsp);
        a.mov(rsp, Globals.HandlerStackTop);
        a.cmp(__qword_ptr[Globals.Phase], (int)Phase.Enter);
        a.je(enterCase);
        a.pushfq();
        a.pop(rax);
        a.mov(__qword_ptr[rdi + 16], rax);
        a.mov(rax, __qword_ptr[Globals.EntryKind]);
        a.mov(__qword_ptr[rdi], rax);
        a.xor(eax, eax);
        a.mov(ax, cs);
        a.mov(__qword_ptr[rdi + 24], rax);
        a.mov(ax, ss);
        a.mov(__qword_ptr[rdi + 32], rax);
        a.mov(rax, __qword_ptr[Globals.SaveRax]);
        a.mov(__qword_ptr[rdi + 40], rax);
        a.mov(rax, __qword_ptr[Globals.SaveRcx]);
        a.mov(__qword_ptr[rdi + 48], rax);
        a.mov(rax, __qword_ptr[Globals.SaveR11]);
        a.mov(__qword_ptr[rdi + 56], rax);
        foreach (var (msr, off) in new[] { (0xC000_0101u, 64), (0xC000_0102u, 72), (0x1D4u, 88) })
        {
            a.mov(ecx, msr);
            a.rdmsr();
            a.shl(rdx, 32);
            a.or(rax, rdx);
            a.mov(__qword_ptr[rdi + off], rax);
        }
        a.mov(rax, cr2);
        a.mov(__qword_ptr[rdi + 80], rax);
        a.mov(rsi, __qword_ptr[Globals.EntryRsp]);
        for (int i = 0; i < 8; i++)
        {
            a.mov(rax, __qword_ptr[rsi + 8 * i]);
            a.mov(__qword_ptr[rdi + 96 + 8 * i], rax);
        }
        // The line's letter: D for the case's first event, R after the harness's ERET, X for anything else.
        a.mov(r9d, 'D');
        a.mov(rax, __qword_ptr[Globals.Phase]);
        a.cmp(rax, (int)Phase.Case);
        a.je(letterDone);
        a.cmp(rax, (int)Phase.Return);
        a.je(letterR);
        a.Label(ref letterX);
        a.mov(r9d, 'X');
        a.jmp(letterDone);
        a.Label(ref letterR);
        a.mov(r9d, 'R');
        a.Label(ref letterDone);
        a.call(printObs);
        a.cmp(__qword_ptr[Globals.Phase], (int)Phase.Case);
        a.jne(finishCase);
        a.mov(rbx, __qword_ptr[Globals.CasePtr]);
        a.mov(rax, __qword_ptr[rbx + 8 * Record.After]);
        a.cmp(rax, (int)Record.AfterEnd);
        a.je(finishCase);
        // The case's ERETU / ERETS step, executed by the harness on the frame the event left.
        a.mov(__qword_ptr[Globals.Phase], (int)Phase.Return);
        a.mov(rsp, __qword_ptr[Globals.EntryRsp]);
        a.add(rsp, __qword_ptr[rbx + 8 * Record.Delta]);
        a.cmp(rax, (int)Record.AfterEretu);
        Restore();
        a.je(eretuAt);
        a.Label(ref eretsAt);
        a.erets();
        a.Label(ref eretuAt);
        a.eretu();

        void Restore()
        {
            // MOV does not touch the flags, so the comparison above survives.
            a.mov(rax, __qword_ptr[Globals.SaveRax]);
            a.mov(rcx, __qword_ptr[Globals.SaveRcx]);
            a.mov(rdx, __qword_ptr[Globals.SaveRdx]);
            a.mov(r11, __qword_ptr[Globals.SaveR11]);
            a.mov(rbx, __qword_ptr[Globals.SaveRbx]);
            a.mov(rsi, __qword_ptr[Globals.SaveRsi]);
            a.mov(rdi, __qword_ptr[Globals.SaveRdi]);
            a.mov(r8, __qword_ptr[Globals.SaveR8]);
            a.mov(r9, __qword_ptr[Globals.SaveR9]);
        }

        // ---- entering a case (handler of the harness's INT1, at the case's stack level) ---------------------
        a.Label(ref enterCase);
        // FRED delivery cleared IF already; CLI says so again for emulators that track interrupt masking apart from
        // RFLAGS (spec/image-format.md, "Findings").
        a.cli();
        a.mov(__qword_ptr[Globals.Phase], (int)Phase.Setup);
        a.mov(rbx, __qword_ptr[Globals.CasePtr]);
        a.mov(rax, __qword_ptr[rbx + 8 * Record.Pml4]);
        a.mov(cr3, rax);
        a.lgdt(__[rbx + 8 * Record.Gdtr]);
        a.mov(r8, __qword_ptr[rbx + 8 * Record.MsrCount]);
        a.lea(rsi, __[rbx + 8 * Record.Msrs]);
        WriteMsrs(msrLoop, msrDone);
        a.mov(rax, __qword_ptr[rbx + 8 * Record.Cr2]);
        a.mov(cr2, rax);
        a.mov(rax, __qword_ptr[rbx + 8 * Record.Cr4]);
        a.mov(cr4, rax);
        a.bt(__qword_ptr[rbx + 8 * Record.Mode], 2);
        a.jnc(noTs);
        a.mov(rax, cr0);
        a.bts(rax, 3);                              // CR0.TS: the case's x87 instruction raises #NM
        a.mov(cr0, rax);
        a.Label(ref noTs);
        CaseEvents.EmitSetup(a);
        a.mov(rax, __qword_ptr[rbx + 8 * Record.Icr]);
        a.test(rax, rax);
        a.jz(noIcr);
        a.mov(rdi, Layout.Apic + 0x310);
        a.mov(__dword_ptr[rdi], 0);
        a.mov(rdi, Layout.Apic + 0x300);
        a.mov(__dword_ptr[rdi], eax);               // self IPI: stays pending while this handler runs with IF = 0
        a.Label(ref noIcr);
        // The return frame, built over the INT1 frame.
        a.mov(rdi, __qword_ptr[Globals.EntryRsp]);
        a.mov(__qword_ptr[rdi], 0);
        a.mov(rax, __qword_ptr[rbx + 8 * Record.Rip]);
        a.mov(__qword_ptr[rdi + 8], rax);
        a.mov(rax, __qword_ptr[rbx + 8 * Record.Mode]);
        a.and(eax, 0x300);
        a.shl(rax, 8);                              // stack level into CS-word bits 17:16
        a.or(rax, __qword_ptr[rbx + 8 * Record.Cs]);
        a.mov(__qword_ptr[rdi + 16], rax);
        a.mov(rax, __qword_ptr[rbx + 8 * Record.Rflags]);
        a.mov(__qword_ptr[rdi + 24], rax);
        a.mov(rax, __qword_ptr[rbx + 8 * Record.Rsp]);
        a.mov(__qword_ptr[rdi + 32], rax);
        a.mov(rax, __qword_ptr[rbx + 8 * Record.Mode]);
        a.and(eax, (int)Record.ModeNmi);
        a.shl(rax, 17);                             // ModeNmi (bit 1) to the SS word's NMI bit (18): unblock NMIs
        a.or(rax, __qword_ptr[rbx + 8 * Record.Ss]);
        a.mov(__qword_ptr[rdi + 40], rax);
        CaseEvents.EmitEntryFrame(a);
        a.mov(__qword_ptr[rdi + 48], 0);
        a.mov(__qword_ptr[rdi + 56], 0);
        a.mov(__qword_ptr[Globals.Phase], (int)Phase.Case);
        a.mov(rsp, rdi);
        a.bt(__qword_ptr[rbx + 8 * Record.Mode], 0);
        a.mov(rbp, Record.StackFaultRbp);          // a case's #SS comes from a load through RBP (the harness never uses RBP)
        a.mov(rax, __qword_ptr[rbx + 8 * Record.Rax]);
        a.mov(rcx, __qword_ptr[rbx + 8 * Record.Rcx]);
        a.mov(r11, __qword_ptr[rbx + 8 * Record.R11]);
        a.jc(enterUser);
        a.Label(ref enterErets);
        a.erets();
        a.Label(ref enterUser);
        a.eretu();

        // ---- finishing a case: back to the harness's world, then ERETS to the main loop at level 0 ----------
        a.Label(ref finishCase);
        a.mov(rsp, Globals.HandlerStackTop);
        a.mov(__qword_ptr[Globals.Phase], (int)Phase.Idle);
        a.mov(rax, Layout.HarnessPml4);
        a.mov(cr3, rax);
        a.lgdt(__[Layout.GdtPage + 0xF00]);
        a.mov(rax, __qword_ptr[Globals.HarnessCr4]);
        a.mov(cr4, rax);
        a.clts();
        CaseEvents.EmitCleanup(a);
        a.call(setHarnessMsrs);
        // EOI until nothing is in service (an interrupt taken inside a handler leaves a second one); harmless when empty.
        a.mov(rdi, Layout.Apic + 0xB0);
        for (int i = 0; i < 8; i++) a.mov(__dword_ptr[rdi], 0);
        // A masked case leaves its interrupt pending: open a window for it and drop it (the Drain path below).
        a.mov(__qword_ptr[Globals.Phase], (int)Phase.Drain);
        a.sti();
        for (int i = 0; i < 4; i++) a.nop();
        a.cli();
        a.mov(__qword_ptr[Globals.Phase], (int)Phase.Idle);
        a.mov(rbx, __qword_ptr[Globals.CasePtr]);
        a.mov(r9d, 'E');
        a.call(beginLine);
        a.mov(rdi, Layout.ReturnFrame);
        a.mov(__qword_ptr[rdi], 0);
        a.lea(rax, __[mainNext]);
        a.mov(__qword_ptr[rdi + 8], rax);
        a.mov(__qword_ptr[rdi + 16], 0x10);
        a.mov(__qword_ptr[rdi + 24], 2);
        a.mov(rax, Layout.MainStackTop);
        a.mov(__qword_ptr[rdi + 32], rax);
        a.mov(__qword_ptr[rdi + 40], 0x18 | (1 << 18));   // the NMI bit: leave NMIs unblocked after an NMI case
        a.mov(__qword_ptr[rdi + 48], 0);
        a.mov(__qword_ptr[rdi + 56], 0);
        a.mov(rsp, rdi);
        a.erets();

        // ---- a stale interrupt: acknowledge it and return to the drain window ---------------------------------
        a.Label(ref drain);
        a.mov(rdi, Layout.Apic + 0xB0);
        a.mov(__dword_ptr[rdi], 0);
        Restore();
        a.erets();

        // ---- subroutines -----------------------------------------------------------------------------------
        a.Label(ref setHarnessMsrs);
        a.mov(rsi, Globals.HarnessMsrs);
        a.mov(r8, __qword_ptr[rsi]);
        a.add(rsi, 8);
        WriteMsrs(hmLoop, hmDone);
        a.ret();

        // beginLine: prints "<r9b> <index>\n" for the record at rbx.
        a.Label(ref beginLine);
        a.mov(eax, r9d);
        a.@out(Layout.DebugPort, al);
        a.mov(r8, __qword_ptr[rbx + 8 * Record.Index]);
        a.call(printRaw);
        a.mov(al, (byte)'\n');
        a.@out(Layout.DebugPort, al);
        a.ret();

        // printObs: "<r9b> <index> <20 fields> <sum>\n"; the sum covers the index and the fields.
        a.Label(ref printObs);
        a.mov(__qword_ptr[Globals.Sum], 0);
        a.mov(eax, r9d);
        a.@out(Layout.DebugPort, al);
        a.mov(rbx, __qword_ptr[Globals.CasePtr]);
        a.mov(r8, __qword_ptr[rbx + 8 * Record.Index]);
        a.call(printHex);
        a.mov(rsi, Globals.Obs);
        a.mov(r10d, ObsFields);
        a.Label(ref obsLoop);
        a.mov(r8, __qword_ptr[rsi]);
        a.call(printHex);
        a.add(rsi, 8);
        a.dec(r10d);
        a.jnz(obsLoop);
        a.mov(r8, __qword_ptr[Globals.Sum]);
        a.call(printRaw);
        a.Label(ref printLine);
        a.mov(al, (byte)'\n');
        a.@out(Layout.DebugPort, al);
        a.ret();

        // printHex: adds r8 to the sum, then prints " " and r8 as 16 hex digits (printRaw).
        a.Label(ref printHex);
        a.add(__qword_ptr[Globals.Sum], r8);
        a.Label(ref printRaw);
        a.mov(al, (byte)' ');
        a.@out(Layout.DebugPort, al);
        a.mov(ecx, 16);
        a.Label(ref hexLoop);
        a.rol(r8, 4);
        a.mov(eax, r8d);
        a.and(eax, 0xF);
        a.add(eax, '0');
        a.cmp(eax, '9');
        a.jbe(digit);
        a.add(eax, 'a' - '9' - 1);
        a.Label(ref digit);
        a.@out(Layout.DebugPort, al);
        a.dec(ecx);
        a.jnz(hexLoop);
        a.ret();

        var ms = new MemoryStream();
        var result = a.Assemble(new StreamCodeWriter(ms), Layout.Harness64, BlockEncoderOptions.ReturnNewInstructionOffsets);
        var code = ms.ToArray();
        if (code.Length > (int)(Layout.EntryPage - Layout.Harness64)) throw new InvalidOperationException($"harness is {code.Length} bytes");
        return new HarnessCode(code, result.GetLabelRIP(handler), result.GetLabelRIP(eretuAt), result.GetLabelRIP(eretsAt),
            [result.GetLabelRIP(enterErets), result.GetLabelRIP(enterUser)]);
    }
}
