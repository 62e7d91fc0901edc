using Fred.Generators;
using Fred.Reference;
using static Fred.Conformance.Support.Conformance;

namespace Fred.Conformance.Reference;

/// <summary>spec/12-kernel-dispatch.md: the RFC's quirks, mainline's rules, fatal events and system calls.</summary>
public class DispatchTests
{
    static readonly KernelConfig Config = KernelConfig.Default;
    static string Trace(Profile p, Fred.Reference.PtRegs r, bool user, KernelConfig? c = null) => Dispatcher.Dispatch(p, r, user, c ?? Config).TraceText;

    [Fact]
    [Trait("Rule", "FRED-KRN-01")]
    public void Rfc_nospec_clamp_sends_exception_vectors_from_32_to_the_DE_handler()
    {
        var r = Rfc2022Dispatch.Dispatch(Frames.Regs(3, 40, user: false), false, Config);
        Assert.Contains("fred_exc_divide_error(regs) -> exc_divide_error(regs)", r.TraceText);
        Assert.Equal(Fate.Handled, r.Fate);
    }

    [Fact]
    [Trait("Rule", "FRED-KRN-01")]
    public void Rfc_event_types_from_8_run_the_external_interrupt_path()
    {
        for (int type = 8; type < 16; type++)
            Assert.StartsWith("fred_entry_from_user(regs) -> array_index_nospec(" + type + ", 8) -> fred_hw_interrupt(regs) -> irqentry_enter(regs)",
                Trace(Profile.Rfc2022, Frames.Regs(type, 0x31, user: true), true));
    }

    [Fact]
    [Trait("Rule", "FRED-KRN-02")]
    public void Rfc_user_INT_n_becomes_an_emulated_GP_fault_at_the_instruction()
    {
        var regs = Frames.Regs(4, 0x81, user: true, ilen: 2, err: 0x1234, ip: 0x40_1002);
        var r = Rfc2022Dispatch.Dispatch(regs, true, Config);
        Assert.Equal(0x40_1000UL, r.Regs.Ip);                        // ip rewound by the instruction length
        Assert.Equal(6, r.Regs.Type);                                // EVENT_TYPE_SWFAULT
        Assert.Equal(13, r.Regs.Vector);                             // X86_TRAP_GP
        Assert.Equal(0UL, r.Regs.OrigAx);
        Assert.Equal("fred_entry_from_user(regs) -> array_index_nospec(4, 8) -> fred_sw_interrupt_user(regs) -> fred_emulate_fault(regs) -> fred_emulate_trap(regs) -> fred_exception(regs) -> array_index_nospec(13, 32) -> irqentry_enter(regs) -> instrumentation_begin(regs) -> fred_exc_general_protection(regs) -> exc_general_protection(regs, 0x0) -> instrumentation_end(regs) -> irqentry_exit(regs)", r.TraceText);
    }

    [Fact]
    [Trait("Rule", "FRED-KRN-02")]
    public void Rfc_user_INT_3_and_INT_4_are_emulated_traps_without_rewind()
    {
        var r = Rfc2022Dispatch.Dispatch(Frames.Regs(4, 3, user: true, ip: 0x40_1002), true, Config);
        Assert.Equal(0x40_1002UL, r.Regs.Ip);
        Assert.Equal(6, r.Regs.Type);
        Assert.Contains("exc_int3(regs)", r.TraceText);
        Assert.DoesNotContain("irqentry_enter", r.TraceText);      // #BP is in the noinstr mask
    }

    [Fact]
    [Trait("Rule", "FRED-KRN-03")]
    public void Rfc_noinstr_mask_decides_who_gets_irqentry()
    {
        foreach (int v in new[] { 0, 1, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 16, 17, 18, 19 })
        {
            string t = Trace(Profile.Rfc2022, Frames.Regs(3, v, user: false), false);
            bool noinstr = v is 1 or 3 or 6 or 8 or 14 or 18;
            Assert.Equal(!noinstr, t.Contains("irqentry_enter"));
        }
    }

    [Fact]
    [Trait("Rule", "FRED-KRN-04")]
    public void Rfc_syscall_and_int80_take_early_outs_without_mode_or_config_checks()
    {
        var off = new KernelConfig(Ia32Emulation: false, Ia32Enabled: false);
        var sys = Rfc2022Dispatch.Dispatch(Frames.Regs(7, 1, user: true, l: false, ax: 0x3C), true, off);
        Assert.Equal("fred_entry_from_user(regs) -> do_syscall_64(regs, 60)", sys.TraceText);
        var int80 = Rfc2022Dispatch.Dispatch(Frames.Regs(4, 0x80, user: true, ax: 1), true, off);
        Assert.Equal("fred_entry_from_user(regs) -> array_index_nospec(4, 8) -> fred_sw_interrupt_user(regs) -> do_int80_syscall_32(regs)", int80.TraceText);
    }

    [Fact]
    [Trait("Rule", "FRED-KRN-05")]
    public void Rfc_kernel_INT_n_only_accepts_the_NMI_vector()
    {
        Assert.EndsWith("fred_sw_interrupt_kernel(regs) -> fred_exc_nmi(regs)", Trace(Profile.Rfc2022, Frames.Regs(4, 2, user: false), false));
        Assert.Equal(Fate.Oops, Rfc2022Dispatch.Dispatch(Frames.Regs(4, 3, user: false), false, Config).Fate);
    }

    [Theory]
    [Trait("Rule", "FRED-KRN-06")]
    [InlineData(3, 3, true, Fate.Oops)]        // HWEXC with #BP's vector: bad
    [InlineData(6, 14, true, Fate.Oops)]       // SWEXC with #PF's vector: bad
    [InlineData(4, 0x81, true, Fate.Handled)]  // INT 0x81 from user: exc_general_protection(regs, 0)
    [InlineData(4, 0x81, false, Fate.Oops)]    // INT n from the kernel: bad
    [InlineData(7, 1, false, Fate.Oops)]       // SYSCALL from the kernel: bad
    [InlineData(1, 0, true, Fate.Oops)]        // reserved type
    [InlineData(0, 0x10, true, Fate.Warned)]   // external interrupt below 0x20: WARN and ignore
    [InlineData(2, 3, true, Fate.Oops)]        // NMI type with a vector other than 2
    [InlineData(5, 3, false, Fate.Oops)]       // INT1 type with a vector other than 1
    [InlineData(3, 29, false, Fate.Oops)]      // #VC: no handler
    public void Mainline_cross_checks_type_and_vector(int type, int vector, bool user, Fate fate) =>
        Assert.Equal(fate, MainlineDispatch.Dispatch(Frames.Regs(type, vector, user), user, Config).Fate);

    [Fact]
    [Trait("Rule", "FRED-KRN-06")]
    public void Mainline_user_INT_n_is_GP_0_with_the_frame_untouched()
    {
        var regs = Frames.Regs(4, 0x81, user: true, err: 0x55);
        var r = MainlineDispatch.Dispatch(regs, true, Config);
        Assert.Equal("fred_entry_from_user(regs) -> fred_intx(regs) -> exc_general_protection(regs, 0x0)", r.TraceText);
        Assert.Equal(regs with { OrigAx = ulong.MaxValue }, r.Regs);
    }

    [Theory]
    [Trait("Rule", "FRED-KRN-07")]
    [InlineData(0x20, "common_interrupt(regs, 0x20)")]
    [InlineData(0xEA, "common_interrupt(regs, 0xea)")]
    [InlineData(0xEB, "array_index_nospec(0, 21) -> fred_sysvec_posted_msi_notification(regs)")]
    [InlineData(0xEC, "array_index_nospec(1, 21) -> fred_sysvec_apic_timer_interrupt(regs)")]
    [InlineData(0xED, "array_index_nospec(2, 21) -> fred_handle_spurious_interrupt(regs) -> spurious_interrupt(regs, 0xed)")]
    [InlineData(0xFF, "array_index_nospec(20, 21) -> fred_sysvec_spurious_apic_interrupt(regs)")]
    public void Mainline_external_interrupts_split_into_device_and_system_vectors(int vector, string expected) =>
        Assert.Contains(expected, Trace(Profile.Mainline, Frames.Regs(0, vector, true), true));

    [Fact]
    [Trait("Rule", "FRED-KRN-08")]
    public void Mainline_int80_needs_IA32_emulation_enabled_at_run_time()
    {
        Assert.EndsWith("fred_int80_emulation(regs)", Trace(Profile.Mainline, Frames.Regs(4, 0x80, true), true));
        Assert.EndsWith("exc_general_protection(regs, 0x0)", Trace(Profile.Mainline, Frames.Regs(4, 0x80, true), true, new KernelConfig(Ia32Enabled: false)));
        Assert.EndsWith("exc_general_protection(regs, 0x0)", Trace(Profile.Mainline, Frames.Regs(4, 0x80, true), true, new KernelConfig(Ia32Emulation: false, Ia32Enabled: false)));
    }

    [Fact]
    [Trait("Rule", "FRED-KRN-09")]
    public void Mainline_configured_handlers_for_MC_VE_CP()
    {
        var none = new KernelConfig(MachineCheck: false, Cet: false, TdxGuest: false);
        var all = new KernelConfig(MachineCheck: true, Cet: true, TdxGuest: true);
        foreach (var (v, name) in new[] { (18, "fred_exc_machine_check"), (20, "exc_virtualization_exception"), (21, "exc_control_protection") })
        {
            Assert.Contains(name, Trace(Profile.Mainline, Frames.Regs(3, v, false), false, all));
            Assert.Equal(Fate.Oops, MainlineDispatch.Dispatch(Frames.Regs(3, v, false), false, none).Fate);
        }
    }

    [Fact]
    [Trait("Rule", "FRED-KRN-10")]
    public void A_fatal_event_panics_from_a_raised_stack_level_and_oopses_from_level_0() => Check(Arbitraries.DispatchCases, c =>
    {
        foreach (var profile in Enum.GetValues<Profile>())
        {
            var r = Dispatcher.Dispatch(profile, c.Regs, c.FromUser, c.Config);
            bool fatal = r.Trace.Any(k => k.Function is "fred_bad_event" or "fred_bad_type");
            ExpectEqual(fatal, r.Fate is Fate.Panic or Fate.Oops or Fate.Survived, $"{profile}: fatal trace vs fate", () => $"{c}\n{r}");
            if (fatal)
                ExpectEqual(c.Regs.StackLevel > 0 ? Fate.Panic : c.Config.DieNotifierStops ? Fate.Survived : Fate.Oops, r.Fate,
                    $"{profile} fate of a fatal event", () => $"{c}\n{r}");
            if (fatal && c.Regs.StackLevel == 0)
                ExpectEqual(c.Config.DieNotifierStops ? "flags, regs, 0" : "flags, regs, SIGKILL", r.Trace.Single(k => k.Function == "oops_end").Arguments,
                    $"{profile}: the signal oops_end gets", () => $"{c}\n{r}");
            Expect(r.Trace[0].Function == (c.FromUser ? "fred_entry_from_user" : "fred_entry_from_kernel"), () => $"trace does not start at the entry function\n{c}\n{r}");
        }
    }, cases: 2000);

    [Theory]
    [Trait("Rule", "FRED-KRN-11")]
    [InlineData(0x3CUL, "60")]
    [InlineData(0x1_0000_0001UL, "1")]                  // int nr: the upper half is dropped
    [InlineData(0xFFFF_FFFFUL, "-1")]
    [InlineData(0xFFFF_FFFF_FFFF_FFFFUL, "-1")]
    [InlineData(0x8000_0000UL, "-2147483648")]
    public void Do_syscall_64_receives_the_number_as_an_int(ulong ax, string nr)
    {
        foreach (var profile in Enum.GetValues<Profile>())
        {
            var r = Dispatcher.Dispatch(profile, Frames.Regs(7, 1, user: true, ax: ax), true, KernelConfig.Default);
            Assert.Equal($"regs, {nr}", r.Trace.Single(k => k.Function == "do_syscall_64").Arguments);
            Assert.Equal(ax, r.Regs.OrigAx);                                      // pt_regs keeps all 64 bits
        }
    }

    [Fact]
    [Trait("Rule", "FRED-KRN-10")]
    public void The_fatal_event_message_is_the_kernels_format_with_its_newline()
    {
        var regs = Frames.Regs(1, 7, user: true, err: 0x18) with { EventData = 0xABC, OrigAx = 0x18 };
        foreach (var (profile, function) in new[] { (Profile.Rfc2022, "pr_alert"), (Profile.Mainline, "pr_alert") })
        {
            var r = Dispatcher.Dispatch(profile, regs, true, KernelConfig.Default);
            Assert.Equal("\"BUG: invalid or fatal FRED event; event type 1 vector 7 error 0x18 aux 0xabc at 0033:0000000000401002\\n\"",
                r.Trace.Single(k => k.Function == function).Arguments);
        }
    }

    [Fact]
    [Trait("Rule", "FRED-KRN-11")]
    public void Syscalls_save_ax_in_orig_ax_and_set_ax_to_minus_ENOSYS() => Check(Arbitraries.DispatchCases, c =>
    {
        foreach (var profile in Enum.GetValues<Profile>())
        {
            var r = Dispatcher.Dispatch(profile, c.Regs, c.FromUser, c.Config);
            bool syscall = r.Trace.Any(k => k.Function is "do_syscall_64" or "do_fast_syscall_32" or "do_int80_syscall_32");
            if (!syscall) continue;
            ExpectEqual(c.Regs.Ax, r.Regs.OrigAx, $"{profile}: orig_ax", () => $"{c}\n{r}");
            ExpectEqual(unchecked((ulong)-38L), r.Regs.Ax, $"{profile}: ax", () => $"{c}\n{r}");
            if (profile == Profile.Mainline)
            {
                bool sysenter = r.Trace.Any(k => k.Function == "do_fast_syscall_32");
                Expect(sysenter ? !c.Regs.L && c.Regs.Vector == 2 : c.Regs.L && c.Regs.Vector == 1, () => $"mainline ran a syscall in the wrong mode\n{c}\n{r}");
            }
        }
    }, cases: 2000);

    [Fact]
    [Trait("Rule", "FRED-KRN-11")]
    public void Mainline_refuses_SYSCALL_outside_64_bit_mode_and_SYSENTER_inside_it()
    {
        Assert.EndsWith("fred_other(regs) -> exc_invalid_op(regs)", Trace(Profile.Mainline, Frames.Regs(7, 1, true, l: false), true));
        Assert.EndsWith("fred_other(regs) -> exc_invalid_op(regs)", Trace(Profile.Mainline, Frames.Regs(7, 2, true, l: true), true));
        Assert.EndsWith("fred_other(regs) -> do_fast_syscall_32(regs)", Trace(Profile.Mainline, Frames.Regs(7, 2, true, l: false), true));
    }
}
