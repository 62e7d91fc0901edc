namespace Fred.Reference;

/// <summary>
/// Mainline Linux's FRED dispatch (arch/x86/entry/entry_fred.c): a switch on the event type, then on the vector,
/// with type and vector cross-checked, fred_bad_type for everything else, and array_index_nospec on sysvec_table.
/// </summary>
public static class MainlineDispatch
{
    /// <summary>fred_entry_from_user or fred_entry_from_kernel.</summary>
    public static DispatchResult Dispatch(PtRegs regs, bool fromUser, KernelConfig config)
    {
        var t = Tracer.Start.Call(fromUser ? "fred_entry_from_user" : "fred_entry_from_kernel");
        ulong errorCode = regs.OrigAx;
        regs = regs with { OrigAx = ulong.MaxValue };                                       // orig_ax = -1
        switch (regs.Type)
        {
            case 0: return ExtInt(t, regs, config);
            case 2 when regs.Vector == 2: return t.Call("fred_exc_nmi").End(regs, Fate.Handled);
            case 3: return HwExc(t, regs, errorCode, config);
            case 4 when fromUser: return IntX(t, regs, config);
            case 5 when regs.Vector == 1: return t.Call("fred_exc_debug").End(regs, Fate.Handled);
            case 6: return SwExc(t, regs, errorCode, config);
            case 7 when fromUser: return Other(t, regs, config);
        }
        return BadEvent.Run(t, regs, "fred_bad_type", errorCode, config);
    }

    static DispatchResult ExtInt(Tracer t, PtRegs regs, KernelConfig config)
    {
        t = t.Call("fred_extint");
        int vector = regs.Vector;
        if (vector < KernelNames.FirstExternalVector) return t.Call("WARN_ON_ONCE", $"vector {KernelNames.Hex((ulong)vector)} < FIRST_EXTERNAL_VECTOR").End(regs, Fate.Warned);
        if (vector >= config.FirstSystemVector)
        {
            t = t.Call("irqentry_enter").Call("instrumentation_begin");
            ulong index = Nospec.ArrayIndex((ulong)(vector - config.FirstSystemVector), (ulong)config.SystemVectorCount);
            t = t.Call("array_index_nospec", $"{vector - config.FirstSystemVector}, {config.SystemVectorCount}");
            int slot = (int)index + config.FirstSystemVector;
            t = KernelNames.SystemVectorHandlers.TryGetValue(slot, out var handler)
                ? t.Call(handler)
                : t.Call("fred_handle_spurious_interrupt").Call("spurious_interrupt", $"regs, {KernelNames.Hex((ulong)vector)}");
            return t.Call("instrumentation_end").Call("irqentry_exit").End(regs, Fate.Handled);
        }
        return t.Call("common_interrupt", $"regs, {KernelNames.Hex((ulong)vector)}").End(regs, Fate.Handled);
    }

    static DispatchResult HwExc(Tracer t, PtRegs regs, ulong errorCode, KernelConfig config)
    {
        t = t.Call("fred_hwexc", $"regs, {KernelNames.Hex(errorCode)}");
        string ec = $"regs, {KernelNames.Hex(errorCode)}";
        (string Name, string Args)? handler = regs.Vector switch
        {
            14 => ("exc_page_fault", ec),
            0 => ("exc_divide_error", "regs"),
            1 => ("fred_exc_debug", "regs"),
            5 => ("exc_bounds", "regs"),
            6 => ("exc_invalid_op", "regs"),
            7 => ("exc_device_not_available", "regs"),
            8 => ("exc_double_fault", ec),
            10 => ("exc_invalid_tss", ec),
            11 => ("exc_segment_not_present", ec),
            12 => ("exc_stack_segment", ec),
            13 => ("exc_general_protection", ec),
            16 => ("exc_coprocessor_error", "regs"),
            17 => ("exc_alignment_check", ec),
            19 => ("exc_simd_coprocessor_error", "regs"),
            18 when config.MachineCheck => ("fred_exc_machine_check", "regs"),
            20 when config.TdxGuest => ("exc_virtualization_exception", "regs"),
            21 when config.Cet => ("exc_control_protection", ec),
            _ => null,
        };
        return handler is { } h ? t.Call(h.Name, h.Args).End(regs, Fate.Handled) : BadEvent.Run(t, regs, "fred_bad_type", errorCode, config);
    }

    static DispatchResult SwExc(Tracer t, PtRegs regs, ulong errorCode, KernelConfig config)
    {
        t = t.Call("fred_swexc", $"regs, {KernelNames.Hex(errorCode)}");
        return regs.Vector switch
        {
            3 => t.Call("exc_int3").End(regs, Fate.Handled),
            4 => t.Call("exc_overflow").End(regs, Fate.Handled),
            _ => BadEvent.Run(t, regs, "fred_bad_type", errorCode, config),
        };
    }

    static DispatchResult IntX(Tracer t, PtRegs regs, KernelConfig config)
    {
        t = t.Call("fred_intx");
        return regs.Vector switch
        {
            3 => t.Call("exc_int3").End(regs, Fate.Handled),
            4 => t.Call("exc_overflow").End(regs, Fate.Handled),
            KernelNames.Ia32SyscallVector when config.Ia32Active => t.Call("fred_int80_emulation").End(regs, Fate.Handled),
            _ => t.Call("exc_general_protection", "regs, 0x0").End(regs, Fate.Handled),
        };
    }

    static DispatchResult Other(Tracer t, PtRegs regs, KernelConfig config)
    {
        t = t.Call("fred_other");
        if (regs.Vector == 1 && regs.L)
        {
            regs = regs with { OrigAx = regs.Ax, Ax = KernelNames.MinusEnosys };
            return t.Call("do_syscall_64", $"regs, {KernelNames.SyscallNr(regs.OrigAx)}").End(regs, Fate.Handled);
        }
        if (config.Ia32Active && regs.Vector == 2 && !regs.L)
        {
            regs = regs with { OrigAx = regs.Ax, Ax = KernelNames.MinusEnosys };
            return t.Call("do_fast_syscall_32").End(regs, Fate.Handled);
        }
        return t.Call("exc_invalid_op").End(regs, Fate.Handled);
    }
}

/// <summary>Chooses the dispatcher for a profile.</summary>
public static class Dispatcher
{
    /// <summary>Runs the profile's fred_entry_from_user / fred_entry_from_kernel.</summary>
    public static DispatchResult Dispatch(Profile profile, PtRegs regs, bool fromUser, KernelConfig config) => profile switch
    {
        Profile.Rfc2022 => Rfc2022Dispatch.Dispatch(regs, fromUser, config),
        _ => MainlineDispatch.Dispatch(regs, fromUser, config),
    };
}
