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

    /// <summary>Hex as the kernel's printk %lx prints it, with 0x.</summary>
    public static string Hex(ulong v) => $"0x{v:x}";
}
