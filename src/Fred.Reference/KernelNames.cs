namespace Fred.Reference;

/// <summary>Linux constants the dispatch code uses.</summary>
public static class KernelNames
{
    /// <summary>-ENOSYS as the unsigned value stored in regs->ax.</summary>
    public const ulong MinusEnosys = unchecked((ulong)-38L);
    /// <summary>FIRST_EXTERNAL_VECTOR.</summary>
    public const int FirstExternalVector = 0x20;
    /// <summary>IA32_SYSCALL_VECTOR (int $0x80).</summary>
    public const byte Ia32SyscallVector = 0x80;
    /// <summary>SIGKILL.</summary>
    public const int SigKill = 9;

    /// <summary>Mainline's statically populated sysvec_table: vector -> handler (arch/x86/entry/entry_fred.c, irq_vectors.h).</summary>
    public static readonly IReadOnlyDictionary<int, string> SystemVectorHandlers = new Dictionary<int, string>
    {
        [0xFE] = "fred_sysvec_error_interrupt",
        [0xFF] = "fred_sysvec_spurious_apic_interrupt",
        [0xEC] = "fred_sysvec_apic_timer_interrupt",
        [0xF7] = "fred_sysvec_x86_platform_ipi",
        [0xFD] = "fred_sysvec_reschedule_ipi",
        [0xFB] = "fred_sysvec_call_function_single",
        [0xFC] = "fred_sysvec_call_function",
        [0xF8] = "fred_sysvec_reboot",
        [0xF9] = "fred_sysvec_threshold",
        [0xF4] = "fred_sysvec_deferred_error",
        [0xFA] = "fred_sysvec_thermal",
        [0xF6] = "fred_sysvec_irq_work",
        [0xF5] = "fred_sysvec_perf_guest_mediated_pmi_handler",
        [0xF2] = "fred_sysvec_kvm_posted_intr_ipi",
        [0xF1] = "fred_sysvec_kvm_posted_intr_wakeup_ipi",
        [0xF0] = "fred_sysvec_kvm_posted_intr_nested_ipi",
        [0xEB] = "fred_sysvec_posted_msi_notification",
    };

    /// <summary>
    /// The system call number as <c>do_syscall_64(struct pt_regs *regs, int nr)</c> receives it: the caller passes the
    /// 64-bit orig_ax and C converts it to <c>int</c>, keeping the low 32 bits as a signed value (0x100000001 arrives as
    /// 1, 0xffffffff as -1). Traces print an <c>int</c> argument in decimal, as %d would (FRED-KRN-11).
    /// </summary>
    public static string SyscallNr(ulong origAx) => ((int)(uint)origAx).ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Hex as the kernel's printk %lx prints it, with 0x.</summary>
    public static string Hex(ulong v) => $"0x{v:x}";
}
