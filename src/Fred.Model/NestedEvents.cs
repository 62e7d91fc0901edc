namespace Fred.Model;

/// <summary>How an exception raised while delivering an event combines with it (FRED-NEST-03, FRED-NEST-05, FRED-NEST-08).</summary>
public static class NestedEvents
{
    /// <summary>Contributory exceptions: #DE, #TS, #NP, #SS, #GP and #CP (FRED-NEST-03).</summary>
    public static bool IsContributory(Event e) =>
        e.Type == EventType.HardwareException && e.Vector is Vector.DE or Vector.TS or Vector.NP or Vector.SS or Vector.GP or Vector.CP;

    /// <summary>The page-fault class: #PF and #VE (FRED-NEST-03).</summary>
    public static bool IsPageFaultClass(Event e) =>
        e.Type == EventType.HardwareException && e.Vector is Vector.PF or Vector.VE;

    /// <summary>True for a page fault.</summary>
    public static bool IsPageFault(Event e) => e.IsException(Vector.PF);

    /// <summary>Exceptions whose error code has the EXT bit (bit 0): #TS, #NP, #SS, #GP (FRED-NEST-08).</summary>
    public static bool HasExtBit(Event e) =>
        e.Type == EventType.HardwareException && e.Vector is Vector.TS or Vector.NP or Vector.SS or Vector.GP;

    /// <summary>
    /// Events external to the program (FRED-NEST-08): everything but INT n, INT3, INTO, SYSCALL and SYSENTER, whose
    /// delivery is part of the program's own execution. INT1 counts as external, as it does in IDT mode.
    /// </summary>
    public static bool IsExternalToProgram(Event e) => e.Type is not (EventType.SoftwareInterrupt or EventType.SoftwareException or EventType.Other);

    /// <summary>
    /// The event to deliver next when <paramref name="second"/> arises while delivering <paramref name="first"/>:
    /// #DF by the double-fault classes, otherwise the second exception marked nested, with EXT set in its error code
    /// when the first event is external to the program. Null means shutdown.
    /// </summary>
    public static Event? Combine(Event first, Event second, Deviations deviations = Deviations.None)
    {
        if (first.IsException(Vector.DF)) return null;
        bool df = (deviations & Deviations.DoubleFaultClassesWithoutCpAndVe) != 0
            ? (IsContributory(first) && IsContributory(second) && !first.IsException(Vector.CP) && !second.IsException(Vector.CP))
              || (IsPageFault(first) && ((IsContributory(second) && !second.IsException(Vector.CP)) || IsPageFault(second)))
            : (IsContributory(first) && IsContributory(second))
              || (IsPageFaultClass(first) && (IsContributory(second) || IsPageFaultClass(second)));
        if (df) return Event.Exception(Vector.DF);
        ulong ext = HasExtBit(second) && IsExternalToProgram(first) && (deviations & Deviations.NoExtBit) == 0 ? 1UL : 0;
        return second with { Nested = true, ErrorCode = second.ErrorCode | ext };
    }
}
