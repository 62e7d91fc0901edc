namespace Fred.Reference;

/// <summary>Which Linux FRED entry code the reference follows.</summary>
public enum Profile
{
    /// <summary>The December 2022 RFC patch (RFC PATCH 21/32), quirks included; pairs with FRED 3.0 hardware.</summary>
    Rfc2022,
    /// <summary>Mainline Linux (arch/x86/entry/entry_fred.c, v6.9 and later); pairs with FRED 5.0+ hardware.</summary>
    Mainline,
}

/// <summary>Kernel configuration that changes FRED dispatch: an explicit input, never a constant.</summary>
/// <param name="Ia32Emulation">CONFIG_IA32_EMULATION is compiled in.</param>
/// <param name="Ia32Enabled">ia32_enabled() at run time (false when not compiled in or disabled with ia32_emulation=false).</param>
/// <param name="MachineCheck">CONFIG_X86_MCE.</param>
/// <param name="Cet">CONFIG_X86_CET (mainline's #CP handler).</param>
/// <param name="TdxGuest">CONFIG_INTEL_TDX_GUEST (mainline's #VE handler).</param>
/// <param name="FirstSystemVector">FIRST_SYSTEM_VECTOR: 0xEB with posted MSI, 0xEC without, 256 without a local APIC.</param>
/// <param name="DieNotifierStops">A die notifier (kgdb, kprobes, a debugger's hook) answers NOTIFY_STOP to DIE_OOPS, so
/// <c>__die</c> returns non-zero and the fatal path at stack level 0 passes signal 0 to <c>oops_end</c>: the task survives
/// (FRED-KRN-10). A run-time fact rather than a Kconfig option, but an input of dispatch like the others.</param>
public readonly record struct KernelConfig(
    bool Ia32Emulation = true, bool Ia32Enabled = true, bool MachineCheck = true, bool Cet = true, bool TdxGuest = false,
    int FirstSystemVector = 0xEB, bool DieNotifierStops = false)
{
    /// <summary>A typical x86-64 distribution configuration.</summary>
    public static KernelConfig Default => new(Ia32Emulation: true);   // not new(): that is the all-zero struct

    /// <summary>ia32_enabled() as the kernel evaluates it: false unless IA32 emulation is compiled in.</summary>
    public bool Ia32Active => Ia32Emulation && Ia32Enabled;

    /// <summary>NR_SYSTEM_VECTORS = 256 - FIRST_SYSTEM_VECTOR.</summary>
    public int SystemVectorCount => Math.Max(0, 256 - FirstSystemVector);

    /// <summary>Every combination of the boolean settings, with both FIRST_SYSTEM_VECTOR values that occur in practice.</summary>
    public static IEnumerable<KernelConfig> All()
    {
        foreach (int first in new[] { 0xEB, 0xEC })
            for (int bits = 0; bits < 64; bits++)
            {
                bool emu = (bits & 1) != 0, en = (bits & 2) != 0;
                if (!emu && en) continue;                                  // ia32_enabled() is false without emulation
                yield return new(emu, en, (bits & 4) != 0, (bits & 8) != 0, (bits & 16) != 0, first, (bits & 32) != 0);
            }
    }

    /// <inheritdoc/>
    public override string ToString() =>
        $"IA32_EMULATION={B(Ia32Emulation)} ia32_enabled={B(Ia32Active)} MCE={B(MachineCheck)} CET={B(Cet)} TDX_GUEST={B(TdxGuest)} FIRST_SYSTEM_VECTOR=0x{FirstSystemVector:X2}" +
        (DieNotifierStops ? " die-notifier=NOTIFY_STOP" : "");

    static string B(bool b) => b ? "y" : "n";
}
