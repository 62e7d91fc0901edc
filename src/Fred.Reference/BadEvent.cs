namespace Fred.Reference;

/// <summary>
/// The fatal-event path both profiles share in shape: fred_bad_event (RFC) and fred_bad_type (mainline).
/// A raised stack level panics; level 0 oopses and kills the task, unless <c>__die</c> returns non-zero (a die notifier
/// stopped the oops), when oops_end gets signal 0 and the task survives.
/// </summary>
public static class BadEvent
{
    /// <summary>Runs the fatal path; <paramref name="errorCode"/> is what the function logs and passes to die.</summary>
    public static DispatchResult Run(Tracer t, PtRegs regs, string function, ulong errorCode, KernelConfig config)
    {
        t = t.Call(function, function == "fred_bad_type" ? $"regs, {KernelNames.Hex(errorCode)}" : "regs")
             .Call("irqentry_nmi_enter").Call("instrumentation_begin");
        // The format both kernels print: "event type %u vector %u error 0x%lx aux 0x%lx at %04x:%016lx\n".
        string details = $"event type {regs.Type} vector {regs.Vector} error {KernelNames.Hex(errorCode)} aux {KernelNames.Hex(regs.EventData)} at {regs.CsSelector:x4}:{regs.Ip:x16}\\n";
        if (regs.StackLevel > 0)
        {
            return t.Call("pr_emerg", $"\"PANIC: invalid or fatal FRED event; {details}\"")
                    .Call("die", $"\"invalid or fatal FRED event\", regs, {KernelNames.Hex(errorCode)}")
                    .Call("panic", "\"invalid or fatal FRED event\"")
                    .End(regs, Fate.Panic);
        }
        t = t.Call("oops_begin", "")
             .Call("pr_alert", $"\"BUG: invalid or fatal FRED event; {details}\"")
             .Call("__die", $"\"Invalid or fatal FRED event\", regs, {KernelNames.Hex(errorCode)}")
             .Call("oops_end", config.DieNotifierStops ? "flags, regs, 0" : "flags, regs, SIGKILL");
        // oops_end with a signal ends in make_task_dead and never returns: nothing after it runs.
        if (!config.DieNotifierStops) return t.End(regs, Fate.Oops);
        return t.Call("instrumentation_end").Call("irqentry_nmi_exit").End(regs, Fate.Survived);
    }
}
