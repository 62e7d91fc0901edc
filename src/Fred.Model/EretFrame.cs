using System.Runtime.CompilerServices;

namespace Fred.Model;

/// <summary>The five quadwords ERETU/ERETS pop: RIP, CS word, RFLAGS, RSP, SS word (FRED-ERETU-03, FRED-REV-03).</summary>
public readonly record struct EretFrame(ulong Rip, ulong CsWord, ulong Rflags, ulong Rsp, ulong SsWord)
{
    /// <summary>RFLAGS bits ERETS requires clear: 3, 5, 15, 17 and 63:22 (bit 1 must be set).</summary>
    public const ulong EretsFlagsMask = 0xFFFF_FFFF_FFC2_802A;

    /// <summary>RFLAGS bits ERETU requires clear: as ERETS plus IOPL.</summary>
    public const ulong EretuFlagsMask = 0xFFFF_FFFF_FFC2_B02A;

    /// <summary>Where the popped frame starts: RSP+8 in FRED 5 (ERET skips the error code), RSP in FRED 3.</summary>
    public static ulong PopBase(MachineState s) => PopBase(in s);

    static ulong PopBase(in MachineState s) => s.Revision == Revision.Fred5 ? s.Rsp + 8 : s.Rsp;

    /// <summary>Reads the five quadwords with supervisor reads, or returns the first fault.</summary>
    public static (EretFrame Frame, Event? Fault) Pop(MachineState s)
    {
        var fault = Pop(in s, out var frame);
        return (frame, fault);
    }

    /// <summary>As <see cref="Pop(MachineState)"/>: the fault, or null with the frame (default on a fault).</summary>
    internal static Event? Pop(in MachineState s, out EretFrame frame)
    {
        Span<ulong> v = stackalloc ulong[5];
        var fault = s.Memory.ReadAll(PopBase(in s), v, AccessKind.SupervisorRead);
        frame = fault is null ? new(v[0], v[1], v[2], v[3], v[4]) : default;
        return fault;
    }

    /// <summary>RSP after a successful ERET is the popped RSP; this is where the frame ended.</summary>
    public static ulong End(MachineState s) => PopBase(in s) + 40;
}

/// <summary>The ERETS instruction (spec/08-erets.md).</summary>
public static class Erets
{
    /// <summary>Encoding of ERETS.</summary>
    public static readonly byte[] Encoding = [0xF2, 0x0F, 0x01, 0xCA];

    /// <summary>Executes ERETS; a fault leaves the state unchanged (FRED-ERETS-06).</summary>
    public static StepResult Execute(MachineState s) => Execute(in s);

    // The state is large: the work below takes it by reference and builds the returned state in one copy.
    static StepResult Execute(in MachineState s)
    {
        if (!s.FredEnabled || s.Cpl != 0) return Fault(in s, Event.InvalidOpcode);                // FRED-ERETS-01
        var popFault = EretFrame.Pop(in s, out var f);                                           // FRED-ERETS-02
        if (popFault is { } pf) return Fault(in s, pf);
        if (Check(in s, f) is { } gp) return Fault(in s, gp);

        int newLevel = Math.Min(s.StackLevel, FrameWords.DecodeCs(s.Revision, f.CsWord).StackLevel);   // FRED-ERETS-04
        var (ssp, cetFault) = ShadowStack.OnErets(in s, f.Rip, f.CsWord, newLevel);
        if (cetFault is { } cf) return Fault(in s, cf);

        var c = FrameWords.Controls(s.Revision, f.CsWord, f.SsWord);
        bool wfe = FrameWords.DecodeCs(s.Revision, f.CsWord).Wfe;
        return new(s with                                                                        // FRED-ERETS-05
        {
            Rip = f.Rip,
            Rflags = f.Rflags,
            Rsp = f.Rsp,
            StiBlocked = c.Sti && (f.Rflags & MachineState.FlagIf) != 0,
            PendingSingleStep = c.SoftwareEvent && (f.Rflags & MachineState.FlagTf) != 0,
            NmiBlocked = s.NmiBlocked && !c.Nmi,
            Cet = s.Cet with { Ssp = ssp, SupervisorTrackerWaiting = wfe && s.SupervisorIbt },
            Fred = s.Fred with { Config = s.Fred.Config.WithCurrentStackLevel(newLevel) },
        }, Outcome.Returned);
    }

    /// <summary>The #GP(0) checks of FRED-ERETS-03, or null when the frame is acceptable.</summary>
    public static Event? Check(MachineState s, EretFrame f) => Check(in s, f);

    static Event? Check(in MachineState s, EretFrame f)
    {
        ulong csFree = s.Revision == Revision.Fred5 ? 0x7_0000UL : 0x3_0000UL | (1UL << 24) | (1UL << 25) | (1UL << 28);
        ulong ssKeep = s.Revision == Revision.Fred5 ? 0xFFF8_FFFFUL : 0xFFFF_FFFFUL;
        bool ok = Canonical.IsCanonical(f.Rip)
                  && (f.CsWord & ~csFree) == s.Cs
                  && (f.Rflags & EretFrame.EretsFlagsMask) == 0x2
                  && (f.SsWord & ssKeep) == s.Ss;
        return ok ? null : Event.GeneralProtection();
    }

    // Faults are the rare path: kept out of line so the hot path holds no copy of the state.
    [MethodImpl(MethodImplOptions.NoInlining)]
    static StepResult Fault(in MachineState s, Event e) => StepResult.Unchanged(s, Outcome.Faulted(e));
}
