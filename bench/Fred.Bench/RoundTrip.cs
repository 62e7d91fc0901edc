using Fred.Model;

namespace Fred.Bench;

/// <summary>One event delivered by the model and returned from with the ERET the interrupted ring calls for.</summary>
public static class RoundTrip
{
    /// <summary>
    /// Delivers the event, then returns with ERETU (from ring 3) or ERETS (from ring 0). FRED 3 exit paths drop the
    /// error code first (ADD RSP, 8); FRED 5's ERET skips it itself.
    /// </summary>
    public static (StepResult Delivered, StepResult Returned) Run(MachineState s, Event e)
    {
        var d = Delivery.Deliver(s, e);
        var handler = d.State;
        var ready = handler.Revision == Revision.Fred3 ? handler with { Rsp = handler.Rsp + 8 } : handler;
        var r = s.Cpl == 3 ? Eretu.Execute(ready) : Erets.Execute(ready);
        return (d, r);
    }
}
