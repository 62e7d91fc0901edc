using Fred.Model;

namespace Fred.Dut;

/// <summary>One field where the DUT's answer differs from the model's, at one step.</summary>
/// <param name="Step">The 1-based step.</param>
/// <param name="Field">A register name, <c>outcome</c>, <c>event.vector</c>..., <c>frame.ss_word</c>..., or <c>memory[0x...]</c>.</param>
/// <param name="Expected">What the model gives.</param>
/// <param name="Observed">What the DUT gave.</param>
/// <param name="Rules">The spec rules the field is governed by at this step.</param>
public sealed record Mismatch(int Step, string Field, string Expected, string Observed, IReadOnlyList<string> Rules)
{
    /// <inheritdoc/>
    public override string ToString() => $"step {Step}: {Field}: expected {Expected}, observed {Observed} [{string.Join(", ", Rules)}]";
}

/// <summary>Lock-step comparison of a DUT's answers against the model's, under a profile.</summary>
public static class Comparator
{
    static readonly string[] FrameSlots = ["error_code", "rip", "cs_word", "rflags", "rsp", "ss_word", "event_data", "reserved"];
    static readonly HashSet<string> CetFields = ["ssp", "pl0_ssp", "fred_ssp1", "fred_ssp2", "fred_ssp3", "pl3_ssp", "s_cet", "u_cet", "ibt_waiting"];

    /// <summary>
    /// The mismatches of <see cref="Compare"/>, unless the DUT's answers are exactly the model's under one of the
    /// readings the profile allows (<see cref="Readings"/>): then none.
    /// </summary>
    public static IReadOnlyList<Mismatch> Judge(DutCase c, Answered expected, Answered observed, DutProfile profile)
    {
        var ms = Compare(c, expected, observed, profile);
        if (ms.Count == 0) return ms;
        foreach (var reading in Readings.For(profile))
            if (Compare(c, CaseRunner.Run(reading, c), observed, profile).Count == 0) return [];
        return ms;
    }

    /// <summary>The mismatches at the first step whose outcome, registers or memory differ; empty when the DUT agrees.</summary>
    public static IReadOnlyList<Mismatch> Compare(DutCase c, Answered expected, Answered observed, DutProfile profile)
    {
        if (c.Steps.Count == 0)
            return observed.Steps.Count == 0 ? [] : [new(1, "steps answered", "0", observed.Steps.Count.ToString(), ["FRED-DUT-05"])];
        var before = c.Initial;
        var observedBefore = c.Initial;
        int n = Math.Max(expected.Steps.Count, observed.Steps.Count);
        for (int i = 0; i < n; i++)
        {
            var step = c.Steps[Math.Min(i, c.Steps.Count - 1)];
            if (i >= expected.Steps.Count || i >= observed.Steps.Count)
                return [new(i + 1, "steps answered", expected.Steps.Count.ToString(), observed.Steps.Count.ToString(),
                    expected.Steps.Count < observed.Steps.Count ? ["FRED-NEST-05"] : RulesFor(step, "outcome", expected.Steps[i], before))];
            var e = expected.Steps[i];
            var o = observed.Steps[i];
            var found = CompareStep(i + 1, step, before, observedBefore, e, o, profile).ToList();
            if (found.Count > 0) return found;
            before = e.State;
            observedBefore = o.State;
        }
        return [];
    }

    static IEnumerable<Mismatch> CompareStep(int index, Step step, MachineState before, MachineState observedBefore, StepAnswer e, StepAnswer o, DutProfile profile)
    {
        Mismatch M(string field, string exp, string obs) => new(index, field, exp, obs, RulesFor(step, field, e, before));

        if (e.Outcome.Kind != o.Outcome.Kind)
            yield return M("outcome", Describe(e.Outcome), Describe(o.Outcome));
        else if (e.Outcome.Kind is OutcomeKind.Delivered or OutcomeKind.Fault)
        {
            if (e.Outcome.Event.Type != o.Outcome.Event.Type) yield return M("event.type", $"{(int)e.Outcome.Event.Type} ({e.Outcome.Event.Type})", $"{(int)o.Outcome.Event.Type} ({o.Outcome.Event.Type})");
            if (e.Outcome.Event.Vector != o.Outcome.Event.Vector) yield return M("event.vector", VectorName(e.Outcome.Event), VectorName(o.Outcome.Event));
            if (e.Outcome.Event.ErrorCode != o.Outcome.Event.ErrorCode) yield return M("event.error", $"0x{e.Outcome.Event.ErrorCode:X}", $"0x{o.Outcome.Event.ErrorCode:X}");
        }
        foreach (var f in StateFields.Differing(e.State, o.State))
        {
            if (profile.Allows(DutProfile.NoCet) && CetFields.Contains(f)) continue;
            if (profile.Allows(DutProfile.Cr2NotWritten) && f == "cr2") continue;
            if (profile.Unobserved.Contains(f)) continue;
            if (f == "rflags" && e.Outcome.Kind is OutcomeKind.Returned or OutcomeKind.Completed && profile.Allows(DutProfile.RfAfterReturnUnobserved)
                && (e.State.Rflags ^ o.State.Rflags) == MachineState.FlagRf) continue;
            yield return M(f, StateFields.Show(e.State, f), StateFields.Show(o.State, f));
        }
        foreach (var a in e.State.Memory.DifferingQuadwords(o.State.Memory).Order())
        {
            ulong ev = e.State.Memory.Peek(a, 8), ov = o.State.Memory.Peek(a, 8);
            // A difference an earlier step was allowed to make, and that this step left alone on both sides, is not new.
            if (before.Memory.Peek(a, 8) == ev && observedBefore.Memory.Peek(a, 8) == ov) continue;
            string field = FieldOf(a, e);
            if (Allowed(field, ev, ov, e, profile)) continue;
            if (field.StartsWith("frame.", StringComparison.Ordinal))
                yield return new(index, field, $"0x{ev:X16}", $"0x{ov:X16}", RulesForSlot(step, field[6..], ev, ov, observedBefore.Memory.Peek(a, 8), e, before));
            else
                yield return M(field, $"0x{ev:X16}", $"0x{ov:X16}");
        }
    }

    /// <summary>The name of a memory quadword: a frame slot when the step delivered a frame there.</summary>
    public static string FieldOf(ulong address, StepAnswer expected)
    {
        if (expected.Outcome.Kind == OutcomeKind.Delivered)
        {
            ulong off = address - expected.State.Rsp;
            if (off < 64 && (off & 7) == 0) return "frame." + FrameSlots[off / 8];
        }
        return $"memory[0x{address:X}]";
    }

    static bool Allowed(string field, ulong ev, ulong ov, StepAnswer e, DutProfile p)
    {
        var ee = e.Outcome.Event;
        return field switch
        {
            "frame.ss_word" => p.Allows(DutProfile.NestedBitNotReported) && (ev ^ ov) == 1UL << 58 && (ov & (1UL << 58)) == 0,
            // The state saved for #DF is undefined in the SDM; FRED keeps the interrupted context, but RF is not
            // specified there (Bochs sets it when the #DF follows a fault during delivery): FRED-NEST-04.
            "frame.rflags" => ee.IsException(Vector.DF) && (ev ^ ov) == MachineState.FlagRf,
            "frame.event_data" => (p.Allows(DutProfile.NmiEventDataAbsent) && ee.Type == EventType.Nmi && ov == 0)
                || (p.Allows(DutProfile.NmEventDataAbsent) && ee.IsException(Vector.NM) && ov == 0)
                || (p.Allows(DutProfile.DebugEventDataPartial) && ee.Vector == Vector.DB && ee.Type is EventType.HardwareException or EventType.PrivilegedSoftwareException && ov == (ev & 0x400F)),
            _ => false,
        };
    }

    static string Describe(Outcome o) => o.Kind switch
    {
        OutcomeKind.Delivered => $"delivered {VectorName(o.Event)}",
        OutcomeKind.Fault => $"fault {VectorName(o.Event)}({o.Event.ErrorCode:X})",
        _ => Wire.OutcomeName(o.Kind),
    };

    static string VectorName(Event e) => e.Type is EventType.HardwareException ? $"{Vector.Name(e.Vector)} (vector {e.Vector})" : $"{e.Type} vector {e.Vector}";

    /// <summary>The spec rules that govern a field at a step, given what the model did.</summary>
    public static IReadOnlyList<string> RulesFor(Step step, string field, StepAnswer expected, MachineState before)
    {
        var o = expected.Outcome;
        bool fault = o.Kind is OutcomeKind.Fault;
        string slot = field.StartsWith("frame.", StringComparison.Ordinal) ? field[6..] : "";
        string[] r = step switch
        {
            DeliverStep or ExecuteStep => DeliveryRules(step, field, slot, o, before),
            EretuStep => fault && field != "outcome" && !field.StartsWith("event.", StringComparison.Ordinal) ? ["FRED-ERETU-10"] : field switch
            {
                "outcome" or "event.type" or "event.vector" or "event.error" => ["FRED-ERETU-02", "FRED-ERETU-04", "FRED-ERETU-05", "FRED-ERETU-11"],
                "rip" => ["FRED-ERETU-04", "FRED-ERETU-08"],
                "cs" or "ss" or "l" or "cs_limit" => ["FRED-ERETU-05", "FRED-ERETU-06", "FRED-ERETU-07", "FRED-ERETU-11"],
                "nmi_blocked" or "pending_db" => ["FRED-ERETU-09", "FRED-DATA-06"],
                "ssp" or "pl3_ssp" or "ibt_waiting" => ["FRED-CET-06"],
                "fred_config" => ["FRED-ERETU-02"],
                _ => ["FRED-ERETU-08"],
            },
            EretsStep => fault && field != "outcome" && !field.StartsWith("event.", StringComparison.Ordinal) ? ["FRED-ERETS-06"] : field switch
            {
                "outcome" or "event.type" or "event.vector" or "event.error" => ["FRED-ERETS-03", "FRED-CET-05"],
                "fred_config" => ["FRED-ERETS-04"],
                "nmi_blocked" or "pending_db" => ["FRED-ERETS-05", "FRED-DATA-06"],
                "ssp" or "ibt_waiting" => ["FRED-CET-05"],
                _ => ["FRED-ERETS-05"],
            },
            WrmsrStep w => fault && field != "outcome" && !field.StartsWith("event.", StringComparison.Ordinal) ? ["FRED-MSR-10"] : w.Msr switch
            {
                Msr.FredConfig => ["FRED-MSR-03", "FRED-MSR-04"],
                >= Msr.FredRsp0 and <= Msr.FredRsp3 => ["FRED-MSR-05"],
                Msr.FredStackLevels => ["FRED-MSR-06"],
                Msr.Pl0Ssp or (>= Msr.FredSsp1 and <= Msr.FredSsp3) => ["FRED-MSR-07"],
                _ => ["FRED-MSR-02", "FRED-MSR-08"],
            },
            MovCr4Step => ["FRED-MSR-09"],
            AddRspStep => ["FRED-REV-03"],
            _ => ["FRED-REV-05"],
        };
        return r;
    }

    static string[] DeliveryRules(Step step, string field, string slot, Outcome o, MachineState before)
    {
        var e = o.Event;
        bool nested = o.Kind == OutcomeKind.Delivered && e.Nested;
        bool df = o.Kind == OutcomeKind.Delivered && e.IsException(Vector.DF);
        if (field is "outcome" or "event.type" or "event.vector" or "event.error" or "steps answered")
            return o.Kind switch
            {
                OutcomeKind.Masked => ["FRED-TYPE-04"],
                OutcomeKind.InvalidEvent => ["FRED-TYPE-02"],
                OutcomeKind.NotFredMode => ["FRED-MSR-09"],
                OutcomeKind.Shutdown => ["FRED-NEST-05"],
                OutcomeKind.Completed => ["FRED-INSN-01"],
                _ when df => ["FRED-NEST-03", "FRED-NEST-04"],
                _ when nested => ["FRED-NEST-01", "FRED-DELIV-09"],
                _ => step is ExecuteStep ? ["FRED-INSN-01", "FRED-INSN-03"] : ["FRED-TYPE-01", "FRED-DELIV-09"],
            };
        if (o.Kind != OutcomeKind.Delivered) return ["FRED-DELIV-08"];
        string[] frame = slot switch
        {
            "error_code" => ["FRED-FRAME-01", "FRED-TYPE-03"],
            "rip" => step is ExecuteStep ? ["FRED-FRAME-05", "FRED-INSN-02"] : ["FRED-FRAME-05"],
            "cs_word" => before.Revision == Revision.Fred3 ? ["FRED-FRAME-04", "FRED-FRAME-06"] : ["FRED-FRAME-02", "FRED-FRAME-06", "FRED-CET-07"],
            "rflags" or "rsp" => ["FRED-FRAME-05"],
            "ss_word" => before.Revision == Revision.Fred3 ? ["FRED-FRAME-04", "FRED-FRAME-07", "FRED-FRAME-08", "FRED-NEST-06"] : ["FRED-FRAME-03", "FRED-FRAME-07", "FRED-FRAME-08", "FRED-NEST-06"],
            "event_data" => e.Type == EventType.Nmi ? ["FRED-DATA-04"]
                : e.IsException(Vector.PF) ? ["FRED-DATA-01"]
                : e.Vector == Vector.DB && e.Type is EventType.HardwareException or EventType.PrivilegedSoftwareException ? ["FRED-DATA-02"]
                : e.IsException(Vector.NM) ? ["FRED-DATA-03"] : ["FRED-DATA-05"],
            "reserved" => ["FRED-FRAME-01"],
            _ => [],
        };
        if (frame.Length > 0) return frame;
        // Memory outside the frame: the shadow-stack record when a ring-0 event had supervisor shadow stacks, otherwise a
        // write delivery must not make at all (a frame written in the wrong place, for example).
        if (field.StartsWith("memory[", StringComparison.Ordinal))
            return before.SupervisorShadowStack && before.Cpl == 0 ? ["FRED-CET-03", "FRED-DELIV-08"] : ["FRED-DELIV-05", "FRED-DELIV-08"];
        return field switch
        {
            "rip" => nested ? ["FRED-DELIV-01", "FRED-NEST-02", "FRED-DELIV-10"] : ["FRED-DELIV-01", "FRED-DELIV-10"],
            "rsp" => ["FRED-DELIV-05"],
            "fred_config" => ["FRED-DELIV-02", "FRED-DELIV-03", "FRED-DELIV-04"],
            "cs" or "ss" or "gs_base" or "kernel_gs_base" or "l" or "cs_limit" => ["FRED-DELIV-07"],
            "ssp" or "pl3_ssp" => ["FRED-CET-02", "FRED-CET-04"],
            "ibt_waiting" => ["FRED-CET-07"],
            "rcx" or "r11" => ["FRED-INSN-05"],
            "cr2" => ["FRED-DATA-01"],
            _ => ["FRED-DELIV-06"],
        };
    }

    /// <summary>
    /// The rules behind a frame slot that differs after a delivery, by root cause: FRED-DELIV-08 when the DUT left the
    /// slot as memory held it before the step (non-zero, so not a written 0), then the rule of each differing bit (CS and SS word field by field, RF
    /// in RFLAGS, the nested bit of #DF, the saved RIP of a nested exception raised by an instruction's event, the EXT
    /// bit of a nested exception's error code). The slot's rules from <see cref="RulesFor"/> when no bit names one.
    /// </summary>
    /// <param name="step">The step.</param>
    /// <param name="slot">The slot: <c>error_code</c>, <c>rip</c>, <c>cs_word</c> ... <c>reserved</c>.</param>
    /// <param name="expected">The model's value.</param>
    /// <param name="observed">The DUT's value.</param>
    /// <param name="old">What the DUT's memory held there before the step.</param>
    /// <param name="answer">The model's answer for the step.</param>
    /// <param name="before">The model's state before the step.</param>
    public static IReadOnlyList<string> RulesForSlot(Step step, string slot, ulong expected, ulong observed, ulong old, StepAnswer answer, MachineState before)
    {
        var rules = new List<string>();
        // Over a zero quadword a DUT that wrote 0 and one that wrote nothing look the same: only dirt tells them apart.
        if (observed == old && old != 0) rules.Add("FRED-DELIV-08");
        var byBits = SlotBitRules(step, slot, expected ^ observed, answer.Outcome.Event, before.Revision).ToList();
        rules.AddRange(byBits.Count > 0 ? byBits : RulesFor(step, "frame." + slot, answer, before));
        return rules.Distinct().ToArray();
    }

    /// <summary>The rule of each group of differing bits of a frame slot (spec/03-frame.md, 06-nested-events-and-double-fault.md).</summary>
    static IEnumerable<string> SlotBitRules(Step step, string slot, ulong diff, Event e, Revision r)
    {
        bool f5 = r == Revision.Fred5, instruction = step is ExecuteStep && !e.Nested, df = e.IsException(Vector.DF);
        string csLayout = f5 ? "FRED-FRAME-02" : "FRED-FRAME-04", ssLayout = f5 ? "FRED-FRAME-03" : "FRED-FRAME-04";
        bool Any(ulong mask) => (diff & mask) != 0;
        switch (slot)
        {
            case "error_code":
                if (df) { yield return "FRED-NEST-04"; break; }
                bool ext = e.Nested && e.Type == EventType.HardwareException && e.Vector is Vector.GP or Vector.SS or Vector.NP or Vector.TS;
                if (ext && Any(1)) yield return "FRED-NEST-08";
                if (Any(ext ? ~1UL : ~0UL)) { yield return "FRED-FRAME-01"; yield return "FRED-TYPE-03"; }
                break;
            case "rip":
                yield return "FRED-FRAME-05";
                if (step is ExecuteStep) yield return e.Nested ? "FRED-NEST-07" : "FRED-INSN-02";
                break;
            case "rflags":
                yield return "FRED-FRAME-05";
                if (Any(MachineState.FlagRf) && IsInstructionEvent(e)) yield return "FRED-FRAME-09";
                break;
            case "rsp":
                yield return "FRED-FRAME-05";
                break;
            case "cs_word":
                if (Any(0xFFFF)) yield return csLayout;
                if (Any(3UL << 16)) yield return "FRED-FRAME-06";
                if (f5 && Any(1UL << 18)) yield return "FRED-CET-07";
                if (Any(~FrameWords.CsDefinedMask(r)) || (!f5 && Any(FrameWords.CsDefinedMask(r) & ~0x3_FFFFUL))) yield return csLayout;
                break;
            case "ss_word":
                if (Any(0xFFFF | (1UL << 56) | ~FrameWords.SsDefinedMask(r)) || (f5 && Any(6UL << 16))) yield return ssLayout;
                if (f5 && Any(1UL << 16)) yield return "FRED-FRAME-10";          // the STI bit
                if (Any((0xFFUL << 32) | (0xFUL << 48)))
                {
                    yield return "FRED-TYPE-01";
                    if (instruction) yield return "FRED-INSN-01";
                }
                if (Any(1UL << 57)) yield return "FRED-FRAME-08";
                if (Any(1UL << 58)) yield return df ? "FRED-NEST-04" : "FRED-NEST-06";
                if (Any(0xFUL << 60))
                {
                    yield return "FRED-FRAME-07";
                    if (instruction) yield return "FRED-INSN-02";
                }
                break;
            case "event_data":
                if (df) yield return "FRED-NEST-04";
                break;
            case "reserved":
                yield return "FRED-FRAME-01";
                break;
        }
    }

    /// <summary>An event raised by INT n, INT1, INT3, INTO, SYSCALL or SYSENTER.</summary>
    static bool IsInstructionEvent(Event e) => !e.Nested && e.Type switch
    {
        EventType.SoftwareInterrupt or EventType.PrivilegedSoftwareException or EventType.SoftwareException => true,
        EventType.Other => e.Vector is Vector.Syscall or Vector.Sysenter,
        _ => false,
    };

    /// <summary>What a failure is, independent of where: the step's kind and the fields that differ (memory addresses folded).</summary>
    public static string Signature(DutCase c, IReadOnlyList<Mismatch> ms)
    {
        if (ms.Count == 0) return "";
        if (c.Steps.Count == 0) return "case: steps answered";
        var step = c.Steps[Math.Min(ms[0].Step - 1, c.Steps.Count - 1)];
        string op = step switch
        {
            DeliverStep => "deliver", ExecuteStep => "execute", EretuStep => "eretu", EretsStep => "erets",
            WrmsrStep => "wrmsr", MovCr4Step => "mov-cr4", AddRspStep => "add-rsp", _ => "step",
        };
        return op + ": " + string.Join(", ", ms.Select(m => m.Field.StartsWith("memory[", StringComparison.Ordinal) ? "memory" : m.Field).Distinct().Order());
    }
}
