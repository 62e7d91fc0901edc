namespace Fred.Reference;

/// <summary>
/// The dispatch of the December 2022 RFC (RFC PATCH 21/32, entry_fred.c), reproduced with its quirks:
/// function-pointer tables behind array_index_nospec, the SYSCALL and int $0x80 early outs, fault emulation
/// that rewinds ip and rewrites type and vector, and the noinstr bitmask.
/// </summary>
public static class Rfc2022Dispatch
{
    const int TypeCount = 8, ExceptionCount = 32;
    const int HwFault = 3, SwFault = 6;

    /// <summary>Handlers of fred_exception's table: wrapper name, inner IDT handler (null: the entry is the handler), takes the error code.</summary>
    static readonly (string Entry, string? Inner, bool ErrorCode)?[] ExceptionTable = BuildExceptionTable();

    /// <summary>Vectors whose handlers do their own irqentry/instrumentation: #DB, #BP, #DF, #PF, #MC, #UD.</summary>
    public const uint NoinstrMask = (1u << 1) | (1u << 3) | (1u << 8) | (1u << 14) | (1u << 18) | (1u << 6);

    static (string, string?, bool)?[] BuildExceptionTable()
    {
        var t = new (string, string?, bool)?[ExceptionCount];
        t[0] = ("fred_exc_divide_error", "exc_divide_error", false);
        t[1] = ("fred_exc_debug", null, false);
        t[3] = ("exc_int3", null, false);
        t[4] = ("fred_exc_overflow", "exc_overflow", false);
        t[5] = ("fred_exc_bounds", "exc_bounds", false);
        t[6] = ("exc_invalid_op", null, false);
        t[7] = ("fred_exc_device_not_available", "exc_device_not_available", false);
        t[8] = ("fred_exc_double_fault", "exc_double_fault", true);
        t[10] = ("fred_exc_invalid_tss", "exc_invalid_tss", true);
        t[11] = ("fred_exc_segment_not_present", "exc_segment_not_present", true);
        t[12] = ("fred_exc_stack_segment", "exc_stack_segment", true);
        t[13] = ("fred_exc_general_protection", "exc_general_protection", true);
        t[14] = ("fred_exc_page_fault", null, false);
        t[16] = ("fred_exc_coprocessor_error", "exc_coprocessor_error", false);
        t[17] = ("fred_exc_alignment_check", "exc_alignment_check", true);
        t[18] = ("fred_exc_machine_check", null, false);
        t[19] = ("fred_exc_simd_coprocessor_error", "exc_simd_coprocessor_error", false);
        return t;
    }

    /// <summary>fred_entry_from_user or fred_entry_from_kernel for pt_regs built from a delivered frame.</summary>
    public static DispatchResult Dispatch(PtRegs regs, bool fromUser, KernelConfig config)
    {
        var t = Tracer.Start.Call(fromUser ? "fred_entry_from_user" : "fred_entry_from_kernel");
        if (fromUser && regs.Type == 7 && regs.Vector == 1)                                  // SYSCALL early out
            return Syscall(t, regs, "do_syscall_64", withNumber: true);
        ulong type = Nospec.ArrayIndex((byte)regs.Type, TypeCount);
        t = t.Call("array_index_nospec", $"{regs.Type}, {TypeCount}");
        return (int)type switch
        {
            0 => HwInterrupt(t, regs),
            1 => BadEvent.Run(t, regs, "fred_bad_event", regs.OrigAx, config),
            2 => t.Call("fred_exc_nmi").End(regs, Fate.Handled),
            3 or 5 or 6 => Exception(t, regs, config),
            4 => fromUser ? SwInterruptUser(t, regs, config) : SwInterruptKernel(t, regs, config),
            _ => fromUser ? SyscallSlow(t, regs, config) : BadEvent.Run(t, regs, "fred_bad_event", regs.OrigAx, config),
        };
    }

    static DispatchResult Syscall(Tracer t, PtRegs regs, string handler, bool withNumber)
    {
        regs = regs with { OrigAx = regs.Ax, Ax = KernelNames.MinusEnosys };
        return t.Call(handler, withNumber ? $"regs, {KernelNames.SyscallNr(regs.OrigAx)}" : "regs").End(regs, Fate.Handled);
    }

    static DispatchResult HwInterrupt(Tracer t, PtRegs regs) =>
        t.Call("fred_hw_interrupt").Call("irqentry_enter").Call("instrumentation_begin")
         .Call("external_interrupt", $"regs, {KernelNames.Hex(regs.Vector)}")
         .Call("instrumentation_end").Call("irqentry_exit").End(regs, Fate.Handled);

    /// <summary>fred_exception: the 32-entry table behind array_index_nospec((u8)vector, 32).</summary>
    static DispatchResult Exception(Tracer t, PtRegs regs, KernelConfig config)
    {
        t = t.Call("fred_exception");
        int vector = (int)Nospec.ArrayIndex(regs.Vector, ExceptionCount);
        t = t.Call("array_index_nospec", $"{regs.Vector}, {ExceptionCount}");
        var entry = ExceptionTable[vector];
        if (vector == 18 && !config.MachineCheck) entry = null;                              // fred_exc_machine_check is NULL
        if (entry is not { } e) return BadEvent.Run(t, regs, "fred_bad_event", regs.OrigAx, config);
        bool instrument = (NoinstrMask & (1u << vector)) == 0;
        if (instrument) t = t.Call("irqentry_enter").Call("instrumentation_begin");
        t = t.Call(e.Entry);
        if (e.Inner is { } inner) t = t.Call(inner, e.ErrorCode ? $"regs, {KernelNames.Hex(regs.OrigAx)}" : "regs");
        if (instrument) t = t.Call("instrumentation_end").Call("irqentry_exit");
        return t.End(regs, Fate.Handled);
    }

    /// <summary>fred_emulate_trap: type := SWFAULT, orig_ax := 0, then fred_exception.</summary>
    static DispatchResult EmulateTrap(Tracer t, PtRegs regs, KernelConfig config) =>
        Exception(t.Call("fred_emulate_trap"), regs.WithType(SwFault) with { OrigAx = 0 }, config);

    /// <summary>fred_emulate_fault: ip -= instr_len, then fred_emulate_trap.</summary>
    static DispatchResult EmulateFault(Tracer t, PtRegs regs, KernelConfig config) =>
        EmulateTrap(t.Call("fred_emulate_fault"), regs with { Ip = regs.Ip - (ulong)regs.InstructionLength }, config);

    static DispatchResult SwInterruptUser(Tracer t, PtRegs regs, KernelConfig config)
    {
        t = t.Call("fred_sw_interrupt_user");
        if (regs.Vector == KernelNames.Ia32SyscallVector) return Syscall(t, regs, "do_int80_syscall_32", withNumber: false);
        return regs.Vector is 3 or 4
            ? EmulateTrap(t, regs, config)
            : EmulateFault(t, regs.WithVector(13), config);
    }

    static DispatchResult SwInterruptKernel(Tracer t, PtRegs regs, KernelConfig config)
    {
        t = t.Call("fred_sw_interrupt_kernel");
        return regs.Vector == 2 ? t.Call("fred_exc_nmi").End(regs, Fate.Handled) : BadEvent.Run(t, regs, "fred_bad_event", regs.OrigAx, config);
    }

    static DispatchResult SyscallSlow(Tracer t, PtRegs regs, KernelConfig config)
    {
        t = t.Call("fred_syscall_slow");
        if (config.Ia32Emulation && regs.Vector == 2) return Syscall(t, regs, "do_fast_syscall_32", withNumber: false);
        return EmulateFault(t, regs.WithVector(6), config);
    }
}
