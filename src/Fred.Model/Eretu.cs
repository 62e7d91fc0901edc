using System.Runtime.CompilerServices;

namespace Fred.Model;

/// <summary>The ERETU instruction (spec/07-eretu.md).</summary>
public static class Eretu
{
    /// <summary>Encoding of ERETU.</summary>
    public static readonly byte[] Encoding = [0xF3, 0x0F, 0x01, 0xCA];

    /// <summary>Executes ERETU; a fault leaves the state unchanged (FRED-ERETU-10).</summary>
    public static StepResult Execute(MachineState s) => Execute(in s);

    // The state is large: the work below takes it by reference and builds the returned state in one copy.
    static StepResult Execute(in MachineState s)
    {
        if (!s.FredEnabled || s.Cpl != 0) return Fault(in s, Event.InvalidOpcode);                 // FRED-ERETU-01
        if (s.StackLevel != 0) return Fault(in s, Event.GeneralProtection());                       // FRED-ERETU-02
        var popFault = EretFrame.Pop(in s, out var f);                                            // FRED-ERETU-03
        if (popFault is { } pf) return Fault(in s, pf);
        if (Check(in s, f) is { } gp) return Fault(in s, gp);

        var target = Segments.ForEretu(in s, (ushort)f.CsWord, (ushort)f.SsWord);               // FRED-ERETU-05/06
        if (target.Fault is { } sf) return Fault(in s, sf);
        ulong rip = f.Rip, rsp = f.Rsp;
        if (!target.Is64Bit)                                                                      // FRED-ERETU-07
        {
            rip &= 0xFFFF_FFFF;
            rsp &= 0xFFFF_FFFF;
            if (rip > target.CsLimit) return Fault(in s, Event.GeneralProtection());
        }
        var (ssp, cetFault) = ShadowStack.OnEretu(in s, target.Is64Bit);                         // FRED-CET-06
        if (cetFault is { } cf) return Fault(in s, cf);

        var c = FrameWords.Controls(s.Revision, f.CsWord, f.SsWord);
        return new(s with                                                                         // FRED-ERETU-08/09
        {
            Rip = rip,
            Rflags = f.Rflags,
            Rsp = rsp,
            Cs = (ushort)f.CsWord,
            Ss = (ushort)f.SsWord,
            Is64BitMode = target.Is64Bit,
            CsLimit = target.CsLimit,
            GsBase = s.KernelGsBase,
            KernelGsBase = s.GsBase,
            StiBlocked = false,
            PendingSingleStep = c.SoftwareEvent && (f.Rflags & MachineState.FlagTf) != 0,
            NmiBlocked = s.NmiBlocked && !c.Nmi,
            Cet = s.Cet with { Ssp = ssp },
        }, Outcome.Returned);
    }

    /// <summary>The #GP(0) checks of FRED-ERETU-04, or null when the frame is acceptable.</summary>
    public static Event? Check(MachineState s, EretFrame f) => Check(in s, f);

    static Event? Check(in MachineState s, EretFrame f)
    {
        ulong csFree = s.Revision == Revision.Fred5 ? 0 : (1UL << 24) | (1UL << 25) | (1UL << 28);
        ulong ssMask = s.Revision == Revision.Fred5 ? 0xFFF8_0003UL : 0xFFFF_0003UL;
        bool ok = Canonical.IsCanonical(f.Rip)
                  && (f.CsWord & ~csFree & 0xFFFF_FFFF_FFFF_0003UL) == 3
                  && (f.Rflags & EretFrame.EretuFlagsMask) == 0x2
                  && (f.SsWord & ssMask) == 3;
        return ok ? null : Event.GeneralProtection();
    }

    // Faults are the rare path: kept out of line so the hot path holds no copy of the state.
    [MethodImpl(MethodImplOptions.NoInlining)]
    static StepResult Fault(in MachineState s, Event e) => StepResult.Unchanged(s, Outcome.Faulted(e));
}
