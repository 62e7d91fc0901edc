using Fred.Dut;
using Fred.Model;

namespace Fred.Image;

/// <summary>
/// Turns what the harness printed for a case into the protocol's answer: the outcome and the state after each step,
/// as far as the harness can observe it (spec/image-format.md, "What the image observes"). Fields it cannot observe
/// keep their values from before the step; the image's profile lists them as unobserved.
/// </summary>
public static class Interpreter
{
    /// <summary>The state fields the harness observes; the rest are listed by the image's profile as unobserved.</summary>
    public static readonly string[] Observed =
        ["rip", "rsp", "rflags", "cs", "ss", "rax", "rcx", "r11", "gs_base", "kernel_gs_base", "cr2", "fred_config", "l"];

    /// <summary>The answer for one case.</summary>
    /// <param name="r">The realized case.</param>
    /// <param name="obs">What the harness printed for it (possibly nothing).</param>
    /// <param name="h">The harness's addresses.</param>
    /// <param name="stoppedHere">The emulator stopped while this case ran (for example a triple fault).</param>
    /// <param name="shutdown">The emulator's log says the processor shut down.</param>
    public static CaseResult Answer(Realized r, IReadOnlyList<Observation> obs, HarnessCode h, bool stoppedHere, bool shutdown)
    {
        var c = r.Case;
        var s0 = c.Initial;
        // A failed entry is the cause of whatever follows it (an NMI the entering ERET should have unblocked arrives in
        // the harness later, for example), so it is named first.
        if (obs.FirstOrDefault(o => o.Letter == 'D' && h.EnterAt.Contains(o.Frame(1)) && (o.Frame(2) & 0xFFFF) == Selectors.KernelCs) is { } entry)
            return new DutBroke(c.Id, "harness", $"the harness's ERET into the case's context raised {Describe(entry)}");
        // An event whose frame RIP is one of the harness's entry stubs interrupted the harness itself, right after another
        // delivery: an interrupt accepted there although that delivery cleared IF (docs/bochs-findings.md, finding 5),
        // typically one that blocking by STI held off until the INT3 probe. It is not the case's event.
        ulong stubs = s0.Fred.Config.EntryPoint;
        if (r.Plan.First != FirstStep.Eret && obs.FirstOrDefault(o => o.Letter is 'D' or 'R' && (o.Frame(1) == stubs || o.Frame(1) == stubs + 256) && (o.Frame(2) & 0xFFFF) == Selectors.KernelCs) is { } inStub)
            return new DutBroke(c.Id, "harness", $"an event interrupted the harness's entry stub right after a delivery (with RFLAGS.IF = {(inStub.Frame(3) >> 9) & 1}): {Describe(inStub)}");
        if (obs.FirstOrDefault(o => o.Letter == 'X') is { } x)
            return new DutBroke(c.Id, "harness", $"the emulator refused the case's state while the harness loaded it: {Describe(x)}");
        var d = obs.FirstOrDefault(o => o.Letter == 'D');
        if (d is null)
        {
            if (stoppedHere && shutdown && r.Plan.WriteAt is not null)
                return WriteSteps.ShutdownAfter(r);
            if (stoppedHere && shutdown) return new Answered(c.Id, [new StepAnswer(new Outcome(OutcomeKind.Shutdown), s0, [])]);
            return new DutBroke(c.Id, "harness", stoppedHere ? "the emulator stopped before the case's first event reached the harness"
                : "the harness printed no observation for the case");
        }
        var steps = new List<StepAnswer>();
        if (r.Plan.WriteAt is { } writeAt)
        {
            // A WRMSR or MOV CR4 ran first: its #GP ends the case; otherwise the event after it shows what it left.
            var (written, afterWrite, faulted) = WriteSteps.Answer(s0, writeAt, d);
            if (faulted) return new Answered(c.Id, [written]);
            if (r.Plan.First == FirstStep.Write)
            {
                if (!IsProbe(d) || d.Frame(1) != s0.Rip + 1)
                    return new DutBroke(c.Id, "harness", $"after the write the INT3 at RIP did not run: {Describe(d)}");
                // The INT3 at RIP: its frame gives the context the write left.
                return new Answered(c.Id, [new StepAnswer(Outcome.Completed, afterWrite with
                {
                    Rip = d.Frame(1) - 1, Rsp = d.Frame(4), Rflags = d.Frame(3), Rax = d[ObsField.Rax], Rcx = d[ObsField.Rcx], R11 = d[ObsField.R11],
                }, [])]);
            }
            steps.Add(written);
            s0 = afterWrite;
        }
        MachineState s1;
        switch (r.Plan.First)
        {
            case FirstStep.Eret:
                steps.Add(AfterEret(s0, d, faultAt: [s0.Rip]));
                return new Answered(c.Id, steps);
            case FirstStep.Interrupt when IsProbe(d) && d.Frame(1) == s0.Rip + 1:
                // The interrupt did not arrive before the first instruction ran: it was masked.
                steps.Add(new StepAnswer(new Outcome(OutcomeKind.Masked), s0, []));
                return new Answered(c.Id, steps);
            case FirstStep.Instruction when IsProbe(d) && d.Frame(1) == s0.Rip + (ulong)r.Plan.Length + 1 && r.Plan.Length > 0
                                              && (d.Frame(2) & 3) == (ulong)s0.Cpl:
                // The instruction raised nothing (INTO with OF = 0): the INT3 after it is the probe.
                steps.Add(new StepAnswer(Outcome.Completed, s0 with { Rip = d.Frame(1) - 1 }, []));
                return new Answered(c.Id, steps);
            default:
                var (answer, after) = Delivered(s0, d);
                steps.Add(answer);
                s1 = after;
                break;
        }
        if (!r.Plan.ThenEret) return new Answered(c.Id, steps);
        var ret = obs.FirstOrDefault(o => o.Letter == 'R');
        if (ret is null)
            return new DutBroke(c.Id, "harness", stoppedHere ? "the emulator stopped after the harness's ERET" : "the harness printed nothing after its ERET");
        steps.Add(AfterEret(s1, ret, faultAt: [h.EretuAt, h.EretsAt]));
        return new Answered(c.Id, steps);
    }

    /// <summary>The event a frame records.</summary>
    public static Event EventOf(Observation o) =>
        new((EventType)((o.Frame(5) >> 48) & 0xF), (byte)(o.Frame(5) >> 32), o.Frame(0), o.Frame(6), (byte)(o.Frame(5) >> 60));

    internal static bool IsProbe(Observation o) => EventOf(o) is { Type: EventType.SoftwareException, Vector: Vector.BP };

    /// <summary>A delivery: the handler's registers, and the frame as the quadwords written.</summary>
    static (StepAnswer, MachineState) Delivered(MachineState before, Observation o)
    {
        ulong rsp = o[ObsField.Rsp];
        var writes = Enumerable.Range(0, 8).Select(i => KeyValuePair.Create(rsp + 8UL * (ulong)i, o.Frame(i))).ToArray();
        var memory = before.Memory;
        foreach (var w in writes) memory = memory.Poke(w.Key, 8, w.Value);
        var after = before with
        {
            Rip = before.Fred.Config.EntryPoint + (o[ObsField.EntryKind] == 1 ? 256UL : 0),
            Rsp = rsp,
            Rflags = o[ObsField.Rflags],
            Cs = (ushort)o[ObsField.Cs],
            Ss = (ushort)o[ObsField.Ss],
            Is64BitMode = true,
            Rax = o[ObsField.Rax],
            Rcx = o[ObsField.Rcx],
            R11 = o[ObsField.R11],
            GsBase = o[ObsField.GsBase],
            KernelGsBase = o[ObsField.KernelGsBase],
            Cr2 = o[ObsField.Cr2],
            Fred = before.Fred with { Config = new FredConfig(o[ObsField.FredConfig]) },
            Memory = memory,
        };
        var e = EventOf(o);
        return (new StepAnswer(new Outcome(OutcomeKind.Delivered, new Event(e.Type, e.Vector, e.ErrorCode)), after, writes), after);
    }

    /// <summary>
    /// After an ERET: a #GP raised at the ERET itself is its fault; any other event is the landing probe, whose frame
    /// gives the context the ERET returned to.
    /// </summary>
    static StepAnswer AfterEret(MachineState before, Observation o, ulong[] faultAt)
    {
        var e = EventOf(o);
        if (e is { Type: EventType.HardwareException, Vector: Vector.GP } && faultAt.Contains(o.Frame(1)) && (o.Frame(2) & 0xFFFF) == Selectors.KernelCs)
            return new StepAnswer(Outcome.Faulted(new Event(EventType.HardwareException, Vector.GP, o.Frame(0))), before, []);
        ulong cs = o.Frame(2) & 0xFFFF;
        bool user = (cs & 3) == 3;
        var after = before with
        {
            Rip = o.Frame(1) - e.InstructionLength,
            Rsp = o.Frame(4),
            Rflags = o.Frame(3),
            Cs = (ushort)cs,
            Ss = (ushort)(o.Frame(5) & 0xFFFF),
            Is64BitMode = ((o.Frame(5) >> 57) & 1) != 0,
            Rax = o[ObsField.Rax],
            Rcx = o[ObsField.Rcx],
            R11 = o[ObsField.R11],
            // The probe's own delivery from ring 3 swapped the GS bases once more.
            GsBase = user ? o[ObsField.KernelGsBase] : o[ObsField.GsBase],
            KernelGsBase = user ? o[ObsField.GsBase] : o[ObsField.KernelGsBase],
            Cr2 = e is { Type: EventType.HardwareException, Vector: Vector.PF } ? before.Cr2 : o[ObsField.Cr2],
            Fred = before.Fred with { Config = before.Fred.Config.WithCurrentStackLevel(user ? 0 : (int)((o.Frame(2) >> 16) & 3)) },
        };
        return new StepAnswer(Outcome.Returned, after, []);
    }

    static string Describe(Observation o)
    {
        var e = EventOf(o);
        return $"event type {(int)e.Type} vector {e.Vector} error 0x{e.ErrorCode:X} at RIP 0x{o.Frame(1):X}";
    }
}
