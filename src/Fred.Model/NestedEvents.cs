namespace Fred.Model;

/// <summary>How an exception raised while delivering an event combines with it (FRED-NEST-03, FRED-NEST-05).</summary>
public static class NestedEvents
{
    /// <summary>Contributory exceptions: #DE, #TS, #NP, #SS, #GP.</summary>
    public static bool IsContributory(Event e) =>
        e.Type == EventType.HardwareException && e.Vector is Vector.DE or Vector.TS or Vector.NP or Vector.SS or Vector.GP;

    /// <summary>True for a page fault.</summary>
    public static bool IsPageFault(Event e) => e.IsException(Vector.PF);

    /// <summary>
    /// The event to deliver next when <paramref name="second"/> arises while delivering <paramref name="first"/>:
    /// #DF by the classic rules, otherwise the second exception marked nested. Null means shutdown.
    /// </summary>
    public static Event? Combine(Event first, Event second)
    {
        if (first.IsException(Vector.DF)) return null;
        bool df = (IsContributory(first) && IsContributory(second))
                  || (IsPageFault(first) && (IsContributory(second) || IsPageFault(second)));
        return df ? Event.Exception(Vector.DF) : second with { Nested = true };
    }
}
