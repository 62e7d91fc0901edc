using Fred.Dut;
using Fred.Model;
using Iced.Intel;

namespace Fred.Image;

/// <summary>How a case's first step is raised for real.</summary>
public enum FirstStep
{
    /// <summary>An instruction at RIP raises the event (an <c>execute</c> step, or a <c>deliver</c> step of an exception).</summary>
    Instruction,
    /// <summary>A self-IPI made pending before entry arrives at RIP (a <c>deliver</c> step of an external interrupt).</summary>
    Interrupt,
    /// <summary>The case starts with ERETU or ERETS, placed at RIP.</summary>
    Eret,
    /// <summary>The case is a WRMSR or MOV CR4 alone; the INT3 at RIP after it observes what it left (<see cref="WriteSteps"/>).</summary>
    Write,
}

/// <summary>What the output interpreter needs to know about a realized case.</summary>
/// <param name="First">How the first step is raised.</param>
/// <param name="ThenEret">The second step is an ERETU/ERETS run by the harness.</param>
/// <param name="Length">Length of the instruction placed at RIP (0 for an interrupt).</param>
/// <param name="Code">The instruction bytes the case starts with, at <paramref name="Entry"/>.</param>
/// <param name="Entry">Where the harness enters the case: RIP, or before it when an instruction leads to the state.</param>
/// <param name="WriteAt">For a case that starts with WRMSR or MOV CR4: the address of that instruction, before RIP; the
/// event after it (<paramref name="First"/>) is the case's second step.</param>
public sealed record CasePlan(FirstStep First, bool ThenEret, int Length, byte[] Code, ulong Entry, ulong? WriteAt = null);

/// <summary>A case that can run in the image: its plan and its record.</summary>
public sealed record Realized(DutCase Case, CasePlan Plan, byte[] Record);

/// <summary>
/// Turns a protocol case into a case record the harness can run (spec/image-format.md), or says why it cannot: real
/// hardware raises events only through real instructions and interrupts, from states a kernel can set up.
/// </summary>
public static class CaseRealizer
{
    /// <summary>A realized case, or the reason the image cannot run it (sent back as <c>unsupported</c>).</summary>
    public static (Realized? Case, string? Declined) Realize(DutCase c)
    {
        try { return Build(c); }
        catch (DeclineException ex) { return (null, ex.Message); }
        catch (ArgumentException ex) { return (null, ex.Message); }
        catch (InvalidOperationException ex) { return (null, ex.Message); }
    }

    sealed class DeclineException(string m) : Exception(m);
    static void Require(bool ok, string why) { if (!ok) throw new DeclineException(why); }

    static (Realized?, string?) Build(DutCase c)
    {
        var s = c.Initial;
        Require(s.Revision == Revision.Fred5, "the image runs revision fred5 only");
        Require((s.Cr4 & MachineState.Cr4Fred) != 0 && (s.Cr4 & MachineState.Cr4Pae) != 0, "CR4 must have FRED and PAE set");
        Require((s.Cr4 & MachineState.Cr4Cet) == 0 && s.Cet.SCet == 0 && s.Cet.UCet == 0, "CET is not supported by the image");
        Require((s.Efer & 0x500) == 0x500 && (s.Efer & ~0xD01UL) == 0, "EFER must be LME|LMA with only SCE and NXE besides");
        Require(!s.PendingSingleStep && !s.InEnclave && !s.Cet.SupervisorTrackerWaiting,
            "a pending single step, enclave mode and the IBT tracker cannot be set up");
        Require(s.Star == Selectors.LinuxStar, "IA32_STAR must be Linux's (the image's GDT is Linux's)");
        // A WRMSR or MOV CR4 first runs in code the harness enters before RIP; the case's event, if any, follows it.
        Require(c.Steps.Count > 0, "a case with no step has nothing to raise");
        Step? write = WriteSteps.IsWrite(c.Steps[0]) ? c.Steps[0] : null;
        var steps = write is null ? c.Steps : c.Steps.Skip(1).ToArray();
        bool singleStep = steps.Count > 0 && IsSingleStepTrap(steps[0]);
        // The debug-register, x87 and SSE events (CaseEvents.cs): how they are raised, or why not.
        var setup = steps.Count > 0 ? CaseEvents.Of(steps[0], s) : null;
        Require(write is null || setup is null, "after a WRMSR or MOV CR4 the image raises no debug-register, x87 or SSE event");
        Require((s.Rflags & MachineState.FlagTf) == 0 || singleStep || setup is { AllowsTf: true },
            "RFLAGS.TF is realized only for the single-step #DB after a NOP, or with a data breakpoint on the instruction before RIP");
        int cpl = s.Cpl;
        if (cpl == 3)
        {
            Require((s.Cs == Selectors.UserCs && s.Is64BitMode) || (s.Cs == Selectors.User32Cs && !s.Is64BitMode), "ring-3 CS must be 0x33 (64-bit) or 0x23 (compatibility mode)");
            Require(s.Ss == Selectors.UserDs, "ring-3 SS must be 0x2B");
            Require(s.StackLevel == 0, "ring 3 runs at stack level 0");
            Require((s.Rflags & EretFrame.EretuFlagsMask) == 2, "RFLAGS must pass ERETU's checks to be entered");
            Require(s.Is64BitMode || (s.Rip >> 32 == 0 && s.Rsp >> 32 == 0), "compatibility mode needs RIP and RSP below 4 GiB");
        }
        else
        {
            Require(cpl == 0 && s.Cs == Selectors.KernelCs && s.Ss == Selectors.KernelDs && s.Is64BitMode, "ring 0 must be CS 0x10, SS 0x18, 64-bit");
            Require((s.Rflags & EretFrame.EretsFlagsMask) == 2, "RFLAGS must pass ERETS's checks to be entered");
        }
        Require(Canonical.IsCanonical(s.Rsp), "RSP must be canonical to be entered");
        Require(Canonical.IsCanonical(s.GsBase) && Canonical.IsCanonical(s.KernelGsBase), "WRMSR refuses non-canonical GS bases");
        Require(c.Steps.Count is 1 or 2, "the image runs one event and at most one ERETU/ERETS after it");

        // The harness observes an ERET's fault or landing, a masked interrupt and an INTO that raises nothing through the
        // delivery of its INT3 probe, which needs a working stack.
        // The write's effect on the MSRs, as far as the pages the case needs depend on it.
        var sw = write is null ? s : WriteSteps.After(write, s);
        bool interruptMasked = steps.Count > 0 && steps[0] is DeliverStep { Event.Type: EventType.ExternalInterrupt }
                               && ((s.Rflags & MachineState.FlagIf) == 0 || s.StiBlocked);
        bool probed = steps.Count == 0 || steps.Any(st => st is EretuStep or EretsStep)
            || interruptMasked
            || (steps[0] is ExecuteStep { Bytes: [.., 0xCE] } && (s.Rflags & MachineState.FlagOf) == 0);
        if (probed)
            Require(new[] { sw.Fred.Rsp0, sw.Fred.Rsp1, sw.Fred.Rsp2, sw.Fred.Rsp3 }.All(r => sw.Memory.AccessOf(r - 8) != PageAccess.None),
                "the INT3 probe (after an ERET, a write, a masked interrupt or an INTO that raises nothing) needs every stack mapped");
        var (first, trigger) = steps.Count == 0 ? (FirstStep.Write, Array.Empty<byte>())
            : setup is { } su ? (FirstStep.Instruction, su.Code) : FirstOf(steps[0], s);
        // A single-step trap follows the instruction before RIP: a NOP there takes the case to its state, changing only RIP
        // (and RF, which the state has clear), and the harness enters at the NOP. A data breakpoint's trap follows its FLD.
        int lead = singleStep ? trigger.Length : setup?.Lead ?? 0;
        ulong? writeAt = null;
        if (write is not null)
        {
            Require(steps.Count <= 1 && first is FirstStep.Instruction or FirstStep.Write,
                "after a WRMSR or MOV CR4 the image raises one event, with an instruction at RIP");
            Require(!singleStep, "a single-step trap cannot follow a WRMSR or MOV CR4");
            var w = WriteSteps.Lead(write, s, out var why) ?? throw new DeclineException(why!);
            writeAt = s.Rip - (ulong)w.Lead.Length + (ulong)w.WriteOffset;
            trigger = [.. w.Lead, .. trigger];
            lead = w.Lead.Length;
        }
        ulong blocking = CaseEvents.BlockingMode(s, steps.Count > 0 ? steps[0] : write!, lead);
        bool thenEret = false;
        if (write is null && c.Steps.Count == 2)
        {
            Require(first != FirstStep.Eret && c.Steps[1] is EretuStep or EretsStep, "the second step must be ERETU or ERETS after an event");
            // IF masks external interrupts only; an NMI is delivered whatever IF is (FRED-TYPE-04).
            Require(!interruptMasked, "an ERET after a masked interrupt has nothing to return from");
            Require(!(c.Steps[0] is ExecuteStep { Bytes: [.., 0xCE] } && (s.Rflags & MachineState.FlagOf) == 0), "an ERET after an INTO that raises nothing has nothing to return from");
            thenEret = true;
        }

        var b = new RecordBuilder();
        // Data pages: every page the case maps, backed by the pool, with their initial contents.
        var data = new HashSet<ulong>();
        foreach (var (start, count, access) in Wire.PageRuns(s.Memory))
            for (int i = 0; i < count; i++)
            {
                ulong page = start + (ulong)i * Memory.PageSize;
                Require(Usable(page), $"page 0x{page:X} lies in the harness's part of the address space");
                b.MapPage(page, access, code: false);
                data.Add(page);
            }
        // Code pages: RIP's page with the trigger, and the pages an ERET may land on; INT3 everywhere else.
        ulong rip = s.Rip;
        Require(Canonical.IsCanonical(rip) && Usable(rip & ~0xFFFUL), "RIP must be canonical and outside the harness");
        ulong entry0 = rip - (ulong)lead;
        Require(Canonical.IsCanonical(entry0) && Usable(entry0 & ~0xFFFUL) && (s.Is64BitMode || entry0 >> 32 == 0), "the NOP before RIP must lie outside the harness");
        var codePages = new SortedSet<ulong> { rip & ~0xFFFUL, entry0 & ~0xFFFUL, (entry0 + (ulong)Math.Max(trigger.Length, 1)) & ~0xFFFUL };
        for (ulong p = entry0 & ~0xFFFUL; p < rip; p += Memory.PageSize) codePages.Add(p);
        if (first == FirstStep.Eret)
            foreach (var landing in EretLandings(s))
                if (Canonical.IsCanonical(landing) && Usable(landing & ~0xFFFUL) && !data.Contains(landing & ~0xFFFUL)) codePages.Add(landing & ~0xFFFUL);
        foreach (var page in codePages)
        {
            Require(!data.Contains(page), $"code page 0x{page:X} is also one of the case's data pages");
            b.MapPage(page, PageAccess.Present | PageAccess.User, code: true);
        }
        for (int i = 0; i < trigger.Length; i++) b.PokeByte(entry0 + (ulong)i, trigger[i]);
        // The entry page: the harness's stubs, wherever CONFIG puts them.
        ulong entry = s.Fred.Config.EntryPoint;
        Require(Canonical.IsCanonical(entry) && Usable(entry), "CONFIG's entry point must be canonical and outside the harness");
        Require(!data.Contains(entry) && !codePages.Contains(entry), "CONFIG's entry page collides with another page of the case");
        b.MapPhysical(entry, Layout.EntryPage, writable: false, user: false);
        // A write that moves the entry point: the stubs are at the new one as well.
        ulong movedEntry = sw.Fred.Config.EntryPoint;
        if ((movedEntry & ~0xFFFUL) != (entry & ~0xFFFUL))
        {
            Require(Canonical.IsCanonical(movedEntry) && Usable(movedEntry), "CONFIG's new entry point must be canonical and outside the harness");
            Require(!data.Contains(movedEntry) && !codePages.Contains(movedEntry), "CONFIG's new entry page collides with another page of the case");
            b.MapPhysical(movedEntry, Layout.EntryPage, writable: false, user: false);
        }
        foreach (var q in s.Memory.NonZeroQuadwords) b.PokeQuad(q.Key, q.Value);
        if (steps.Count > 0 && steps[0] is DeliverStep { Event: { Type: EventType.HardwareException, Vector: Vector.PF } pf })
            Require(!codePages.Contains(pf.EventData & ~0xFFFUL) && (pf.EventData & ~0xFFFUL) != (entry & ~0xFFFUL),
                "the #PF address lies in a page the image maps for code");

        bool nmi = first == FirstStep.Interrupt && steps[0] is DeliverStep { Event.Type: EventType.Nmi };
        ulong icr = first != FirstStep.Interrupt ? 0 : nmi ? Record.IcrNmi : 0x4_0000UL | ((DeliverStep)steps[0]).Event.Vector;
        bool user = cpl == 3;
        var msrs = new List<(uint, ulong)>
        {
            (0xC000_0080, s.Efer), (0xC000_0081, s.Star),
            (0xC000_0101, user ? s.KernelGsBase : s.GsBase), (0xC000_0102, user ? s.GsBase : s.KernelGsBase), // ERETU swaps them
            (0x1CC, s.Fred.Rsp0), (0x1CD, s.Fred.Rsp1), (0x1CE, s.Fred.Rsp2), (0x1CF, s.Fred.Rsp3),
            (0x1D0, s.Fred.StackLevels.Value), (0x1D4, s.Fred.Config.Value),
        };
        ulong after = !thenEret ? Record.AfterEnd : c.Steps[1] is EretuStep ? Record.AfterEretu : Record.AfterErets;
        bool ts = steps.Count > 0 && steps[0] is DeliverStep { Event: { Type: EventType.HardwareException, Vector: Vector.NM } };
        var rec = b.Finish(c.Id, (user ? Record.ModeUser : 0) | (nmi ? Record.ModeNmi : 0) | (ts ? Record.ModeTs : 0) | ((ulong)s.StackLevel << 8)
            | (setup?.Mode ?? 0) | blocking, s with { Rip = entry0 }, icr, after, msrs, setup?.DebugRegisters);
        return (new Realized(c, new CasePlan(first, thenEret, trigger.Length - lead, trigger, entry0, writeAt), rec), null);
    }

    /// <summary>A #DB whose event data is DR6.BS alone: the single-step trap (FRED-DATA-02).</summary>
    static bool IsSingleStepTrap(Step step) =>
        step is DeliverStep { Event: { Type: EventType.HardwareException, Vector: Vector.DB, Nested: false } e } && e.FrameEventData == Event.DebugSingleStep;

    /// <summary>True when a page is outside the harness's identity map and the APIC's 2 MiB page.</summary>
    static bool Usable(ulong page) => page >= Layout.HarnessLimit && (page & ~0x1F_FFFFUL) != Layout.Apic;

    /// <summary>Where an ERET that starts a case may land: the RIP in its frame (and its low half for compatibility mode).</summary>
    static IEnumerable<ulong> EretLandings(MachineState s)
    {
        ulong r = s.Memory.Peek(s.Rsp + 8, 8);
        yield return r;
        yield return r & 0xFFFF_FFFF;
    }

    /// <summary>The first step: how it is raised, and the bytes placed at RIP.</summary>
    static (FirstStep, byte[]) FirstOf(Step step, MachineState s)
    {
        bool b64 = s.Is64BitMode;
        switch (step)
        {
            case ExecuteStep { Bytes: var bytes }:
                // NoInvalidCheck: a LOCK prefix makes these instructions #UD on hardware, which is the event wanted.
                var d = Iced.Intel.Decoder.Create(b64 ? 64 : 32, new ByteArrayCodeReader(bytes), DecoderOptions.NoInvalidCheck);
                d.IP = 0;
                d.Decode(out var insn);
                var error = d.LastError;
                if (insn.IsInvalid && b64)
                {
                    // INTO does not exist in 64-bit mode: hardware raises #UD, as the model does. The 32-bit decoding
                    // names it, and its error (not the 64-bit decoder's) says whether the bytes decode.
                    var d32 = Iced.Intel.Decoder.Create(32, new ByteArrayCodeReader(bytes), DecoderOptions.NoInvalidCheck);
                    d32.Decode(out var into);
                    if (into.Mnemonic == Mnemonic.Into) (insn, error) = (into, d32.LastError);
                }
                Require(error == DecoderError.None && !insn.IsInvalid, "the instruction bytes do not decode");
                Require(insn.Mnemonic is Mnemonic.Int or Mnemonic.Int3 or Mnemonic.Int1 or Mnemonic.Into or Mnemonic.Syscall or Mnemonic.Sysenter or Mnemonic.Ud2,
                    $"{insn.Mnemonic} is not an instruction the image raises events with");
                return (FirstStep.Instruction, bytes[..insn.Length]);
            case EretuStep:
                Require(s.Cpl == 0, "ERETU runs in ring 0");
                RequireLandingElsewhere(s);
                return (FirstStep.Eret, [0xF3, 0x0F, 0x01, 0xCA]);
            case EretsStep:
                Require(s.Cpl == 0, "ERETS runs in ring 0");
                RequireLandingElsewhere(s);
                return (FirstStep.Eret, [0xF2, 0x0F, 0x01, 0xCA]);
            case DeliverStep { Event: var e }:
                Require(!e.Nested, "an event cannot be injected as nested");
                switch (e.Type, e.Vector)
                {
                    case (EventType.ExternalInterrupt, >= 32):
                        return (FirstStep.Interrupt, []);
                    case (EventType.Nmi, Vector.NMI):
                        Require(e.EventData == 0, "NMI-source event data cannot be produced by a self-NMI");
                        return (FirstStep.Interrupt, []);
                    case (EventType.HardwareException, Vector.DE):
                        return (FirstStep.Instruction, [0xF6, 0xF4]);          // DIV AH always overflows
                    case (EventType.HardwareException, Vector.UD):
                        return (FirstStep.Instruction, [0x0F, 0x0B]);          // UD2
                    case (EventType.HardwareException, Vector.GP):
                        Require(e.ErrorCode == 0 && b64, "#GP is raised by a non-canonical access, error code 0, in 64-bit mode");
                        return (FirstStep.Instruction, MovAl(0x8000_0000_0000_0000UL, write: false, b64));
                    case (EventType.HardwareException, Vector.SS):
                        Require(e.ErrorCode == 0 && b64, "#SS is raised by a non-canonical stack reference, error code 0, in 64-bit mode");
                        return (FirstStep.Instruction, [0x8A, 0x45, 0x00]);   // MOV AL, [RBP]: RBP is Record.StackFaultRbp
                    case (EventType.HardwareException, Vector.DB):
                        Require(IsSingleStepTrap(step), "a #DB is raised only as a single-step trap: event data DR6.BS alone");
                        Require((s.Rflags & MachineState.FlagTf) != 0 && (s.Rflags & MachineState.FlagRf) == 0,
                            "a single-step trap is delivered after an instruction: RFLAGS.TF set and RF clear");
                        return (FirstStep.Instruction, [0x90]);                // NOP at RIP - 1, then the trap
                    case (EventType.HardwareException, Vector.NM):
                        // FRED-DATA-03: #NM's event data is IA32_XFD_ERR, which nothing in the image sets.
                        Require(e.EventData == 0, "#NM's event data (IA32_XFD_ERR) is 0 in the image");
                        return (FirstStep.Instruction, [0xD9, 0xD0]);          // FNOP with CR0.TS set (Record.ModeTs)
                    case (EventType.HardwareException, Vector.AC):
                        Require(e.ErrorCode == 0 && s.Cpl == 3 && (s.Rflags & MachineState.FlagAc) != 0,
                            "#AC is raised by a misaligned load in ring 3 with RFLAGS.AC set, error code 0");
                        // The two bytes at offset 1 of RIP's own page: a code page, mapped and readable from ring 3.
                        return (FirstStep.Instruction, MovAx((s.Rip & ~0xFFFUL) + 1, b64));
                    case (EventType.HardwareException, Vector.PF):
                        return (FirstStep.Instruction, PageFault(s, e));
                    default:
                        throw new DeclineException($"event type {(int)e.Type} vector {e.Vector} cannot be raised by the image");
                }
            default:
                throw new DeclineException($"a first step \"{step}\" cannot be run by the image");
        }
    }

    /// <summary>
    /// An ERET whose frame returns into its own four bytes would run again instead of reaching the INT3 probe, and its
    /// second run's fault would read as the first one's.
    /// </summary>
    static void RequireLandingElsewhere(MachineState s)
    {
        ulong landing = s.Memory.Peek(EretFrame.PopBase(s), 8);
        Require(landing - s.Rip >= 4 && (s.Is64BitMode || (landing & 0xFFFF_FFFF) - s.Rip >= 4), "the ERET's frame returns into the ERET itself");
    }

    /// <summary>MOV AL, [moffs] or MOV [moffs], AL: a one-byte access that changes nothing when it faults.</summary>
    static byte[] MovAl(ulong address, bool write, bool b64)
    {
        var bytes = new List<byte> { (byte)(write ? 0xA2 : 0xA0) };
        if (b64) bytes.AddRange(BitConverter.GetBytes(address));
        else bytes.AddRange(BitConverter.GetBytes((uint)address));
        return [.. bytes];
    }

    /// <summary>MOV AX, [moffs]: a two-byte load that changes nothing when it faults.</summary>
    static byte[] MovAx(ulong address, bool b64) =>
        [0x66, 0xA1, .. b64 ? BitConverter.GetBytes(address) : BitConverter.GetBytes((uint)address)];

    /// <summary>A one-byte access that raises exactly the #PF the step asks for, or a decline.</summary>
    static byte[] PageFault(MachineState s, Event e)
    {
        ulong addr = e.EventData;
        Require(Canonical.IsCanonical(addr) && (s.Is64BitMode || addr >> 32 == 0), "the #PF address must be reachable by a data access");
        Require((e.ErrorCode & ~7UL) == 0, "only the P, W and U bits of a #PF error code can be produced by a data access");
        bool write = (e.ErrorCode & 2) != 0, user = (e.ErrorCode & 4) != 0;
        Require(user == (s.Cpl == 3), "the U bit of the #PF error code must match the CPL");
        var access = s.Memory.AccessOf(addr);
        bool present = (access & PageAccess.Present) != 0;
        bool faults = !present || (write && (access & PageAccess.Writable) == 0) || (user && (access & PageAccess.User) == 0);
        Require(faults && present == ((e.ErrorCode & 1) != 0), "the #PF error code does not match the page the address lies in");
        Require(addr >= Layout.HarnessLimit && (addr & ~0x1F_FFFFUL) != Layout.Apic, "the #PF address lies in the harness");
        return MovAl(addr, write, s.Is64BitMode);
    }
}
