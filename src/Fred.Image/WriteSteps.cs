using Fred.Dut;
using Fred.Model;

namespace Fred.Image;

/// <summary>
/// WRMSR and MOV CR4 as a case's first step (spec/image-format.md, FRED-IMG-02): the harness enters the case a few
/// bytes before its RIP, where the write runs with its operands loaded and RAX and RCX are then given back their values,
/// so the case reaches RIP in its own state with nothing changed but the register written. A rejected write raises
/// #GP(0) at the WRMSR or MOV, which the harness records like any event. An accepted write is observed by what follows:
/// the INT3 at RIP when the case has no other step (its frame, CONFIG and the GS bases at the entry point), or the
/// case's event, raised at RIP with the write in effect.
/// </summary>
public static class WriteSteps
{
    /// <summary>The MSRs a write case may name: those the harness gives back their own values after every case.</summary>
    public static readonly uint[] Restored =
        [Msr.FredConfig, Msr.FredRsp0, Msr.FredRsp1, Msr.FredRsp2, Msr.FredRsp3, Msr.FredStackLevels, Msr.GsBase, Msr.KernelGsBase];

    /// <summary>CR4 bits whose change the harness survives and that every 64-bit FRED processor implements.</summary>
    public const ulong Cr4Changeable = (1UL << 2) | (1UL << 3) | (1UL << 7) | (1UL << 8) | (1UL << 9) | (1UL << 10) | (1UL << 11) | (1UL << 16);

    /// <summary>
    /// CR4 bits reserved on every processor (and in the model): 15, 26 and 29..31, 33..63. Bits 19, 25, 28 (reserved or
    /// not depending on the processor's features) and 12 (LA57, which cannot change in IA-32e mode) are left alone.
    /// </summary>
    public const ulong Cr4ReservedEverywhere = (1UL << 15) | (1UL << 26) | (7UL << 29) | ~0x1_FFFF_FFFFUL;

    /// <summary>True for the steps this class realizes.</summary>
    public static bool IsWrite(Step step) => step is WrmsrStep or MovCr4Step;

    /// <summary>
    /// The code the harness enters at, ending at RIP, and the offset of the WRMSR or MOV CR4 in it; or why the image
    /// cannot run the write.
    /// </summary>
    public static (byte[] Lead, int WriteOffset)? Lead(Step step, MachineState s, out string? declined)
    {
        declined = Check(step, s);
        if (declined is not null) return null;
        var code = new List<byte>();
        int at;
        switch (step)
        {
            case WrmsrStep w:
                code.Add(0xB9); code.AddRange(BitConverter.GetBytes(w.Msr));                       // MOV ECX, msr
                code.Add(0xB8); code.AddRange(BitConverter.GetBytes((uint)w.Value));               // MOV EAX, low half
                code.Add(0xBA); code.AddRange(BitConverter.GetBytes((uint)(w.Value >> 32)));       // MOV EDX, high half
                at = code.Count;
                code.AddRange([0x0F, 0x30]);                                                        // WRMSR
                break;
            case MovCr4Step m:
                code.AddRange([0x48, 0xB8]); code.AddRange(BitConverter.GetBytes(m.Value));        // MOV RAX, value
                at = code.Count;
                code.AddRange([0x0F, 0x22, 0xE0]);                                                  // MOV CR4, RAX
                break;
            default:
                declined = $"{step} is not a write";
                return null;
        }
        code.AddRange([0x48, 0xB8]); code.AddRange(BitConverter.GetBytes(s.Rax));                  // MOV RAX, the case's RAX
        code.AddRange([0x48, 0xB9]); code.AddRange(BitConverter.GetBytes(s.Rcx));                  // MOV RCX, the case's RCX
        return ([.. code], at);
    }

    /// <summary>Why the image cannot run a write from a state, or null when it can.</summary>
    static string? Check(Step step, MachineState s)
    {
        if (!s.Is64BitMode) return "a WRMSR or MOV CR4 case runs in 64-bit mode";
        if ((s.Rflags & (MachineState.FlagRf | MachineState.FlagTf)) != 0)
            return "a WRMSR or MOV CR4 case needs RFLAGS.RF and TF clear (the instructions before RIP would clear RF or trap)";
        switch (step)
        {
            case WrmsrStep w when !Restored.Contains(w.Msr):
                return $"WRMSR to {Msr.Name(w.Msr)}: the harness gives back only CONFIG, RSP0..3, STKLVLS and the GS bases after a case";
            case WrmsrStep { Msr: >= Msr.FredRsp0 and <= Msr.FredRsp3, Value: var v } when s.Cpl == 0 && MsrAccess.IsValid(Msr.FredRsp0, v)
                                                                                       && !(Usable(v - 64) && Usable(v - 1)):
                return "WRMSR of an RSPn whose frame would lie in the harness";
            case MovCr4Step m when s.Cpl == 0 && (m.Value & Cr4ReservedEverywhere) == 0 && (m.Value & MachineState.Cr4Pae) != 0:
                if ((m.Value & MachineState.Cr4Fred) == 0) return "MOV CR4 clearing CR4.FRED: the harness has no IDT to survive it";
                if (((m.Value ^ s.Cr4) & ~Cr4Changeable) != 0)
                    return "MOV CR4 changing a bit other than TSD, DE, PGE, PCE, OSFXSR, OSXMMEXCPT, UMIP and FSGSBASE";
                break;
        }
        return null;
    }

    /// <summary>The state after the write if it is accepted (the model's reading), for planning the pages the case needs.</summary>
    public static MachineState After(Step step, MachineState s)
    {
        var r = step.Apply(s);
        return r.Outcome.Kind == OutcomeKind.Completed ? r.State : s;
    }

    /// <summary>True when a linear address lies outside the harness's 64 MiB and the APIC's 2 MiB page.</summary>
    static bool Usable(ulong a) => a >= Layout.HarnessLimit && (a & ~0x1F_FFFFUL) != Layout.Apic;

    /// <summary>
    /// A case whose processor shut down before the harness recorded anything. A write alone is answered `completed`
    /// with the registers as they were: no #GP reached the harness (the case's stacks and entry point are sound, so the
    /// #GP of a refused write is recorded), and the INT3 after the write could not be delivered, which a CONFIG the write
    /// made unusable explains. Before an event, a write to a register the image observes (CONFIG, the GS bases) leaves
    /// nothing to observe it by, and the case is a harness error; a write to another register is answered `completed`
    /// with that register as it was (unobserved, FRED-IMG-04), then the shutdown.
    /// </summary>
    public static CaseResult ShutdownAfter(Realized r)
    {
        var c = r.Case;
        if (r.Plan.First == FirstStep.Write) return new Answered(c.Id, [new StepAnswer(Outcome.Completed, c.Initial, [])]);
        if (c.Steps[0] is WrmsrStep { Msr: Msr.FredConfig or Msr.GsBase or Msr.KernelGsBase })
            return new DutBroke(c.Id, "harness", "the processor shut down after the case's write, before the harness could observe it");
        return new Answered(c.Id, [new StepAnswer(Outcome.Completed, c.Initial, []), new StepAnswer(new Outcome(OutcomeKind.Shutdown), c.Initial, [])]);
    }

    /// <summary>
    /// The answer to the write from the first event the harness recorded: the #GP it raised at the WRMSR or MOV, or,
    /// when the write was accepted, the state it left as far as the event shows it: CONFIG (the event does not change it
    /// but for the current stack level, which the frame's CS word gives) and the GS bases (unchanged by a ring-0
    /// delivery); the other registers are those the case started with (the lead gives RAX and RCX back), and the
    /// unobserved fields (CR4, RSP0..3, STKLVLS) stay as they were.
    /// </summary>
    /// <returns>The answer, the state after the write, and whether the #GP ended the case.</returns>
    public static (StepAnswer Answer, MachineState After, bool Faulted) Answer(MachineState s0, ulong writeAt, Observation d)
    {
        var e = Interpreter.EventOf(d);
        bool user = (d.Frame(2) & 3) == 3;
        if (e is { Type: EventType.HardwareException, Vector: Vector.GP } && d.Frame(1) == writeAt && (d.Frame(2) & 0xFFFF) == s0.Cs)
            return (new StepAnswer(Outcome.Faulted(new Event(EventType.HardwareException, Vector.GP, d.Frame(0))), s0, []), s0, true);
        var config = new FredConfig(d[ObsField.FredConfig]).WithCurrentStackLevel(user ? s0.StackLevel : (int)((d.Frame(2) >> 16) & 3));
        var after = s0 with
        {
            Fred = s0.Fred with { Config = config },
            GsBase = user ? d[ObsField.KernelGsBase] : d[ObsField.GsBase],
            KernelGsBase = user ? d[ObsField.GsBase] : d[ObsField.KernelGsBase],
        };
        return (new StepAnswer(Outcome.Completed, after, []), after, false);
    }
}
