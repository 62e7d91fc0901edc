using FsCheck;
using Fred.Conformance.Support;
using Outcome = Fred.Model.Outcome;
using FsCheck.Fluent;
using Fred.Generators;
using Fred.Model;
using Fred.Reference;
using Iced.Intel;
using Xunit.Abstractions;
using static Fred.Conformance.Support.Conformance;

namespace Fred.Conformance.Reference;

/// <summary>
/// The hardware/kernel contract: every event the model delivers, taken by the profile's assembled entry stub, dispatched,
/// and returned with the model's ERET, resumes the interrupted context except for what dispatch means to change.
/// </summary>
public class ContractTests(ITestOutputHelper output)
{
    public sealed record ContractCase(Profile Profile, DeliveryCase Delivery, KernelConfig Config)
    {
        public override string ToString() => $"{Profile} kernel on {Delivery.State.Revision} hardware, {Config}{Environment.NewLine}{Delivery}";
    }

    static readonly Dictionary<Profile, EntryStubs> Stubs = Enum.GetValues<Profile>().ToDictionary(p => p, p => EntryStubs.Assemble(p, World.DefaultEntry));

    static Arbitrary<ContractCase> Cases(Profile profile, Revision revision) => Arb.From(
        from c in Arbitraries.UnmaskedDelivery
        from config in Arbitraries.KernelConfigs
        let s = c.State with { Revision = revision, Fred = c.State.Fred with { Config = new FredConfig((c.State.Fred.Config.Value & 0xFFF) | World.DefaultEntry) } }
        select new ContractCase(profile, c with { State = s }, config),
        cc => Arbitraries.ShrinkDelivery(cc.Delivery).Select(d => cc with { Delivery = d with { State = d.State with { Revision = revision } } })
                .Where(smaller => smaller != cc));

    /// <summary>The contract for one case; fails through Expect with a readable account.</summary>
    static void Contract(ContractCase cc)
    {
        var (s, e) = (cc.Delivery.State, cc.Delivery.Event);
        var d = Delivery.Deliver(s, e);
        if (d.Outcome.Kind != OutcomeKind.Delivered) return;
        var run = KernelEntry.Run(Stubs[cc.Profile], cc.Config, d.State);
        string ctx() => $"{cc}\ndispatch: {run.Dispatch}\nERET: {run.Eret?.Outcome}";
        Expect(run.StubFault is null, () => $"the entry stub faulted: {run.StubFault}\n{ctx()}");
        if (run.Dispatch!.Fate is Fate.Panic or Fate.Oops) return;                      // the kernel does not return
        var r = run.Eret!.Value;
        if (s.Cpl == 3 && d.State.StackLevel != 0)
        {
            ExpectEqual(Outcome.Faulted(Event.GeneralProtection()), r.Outcome, "ERETU from a raised stack level", ctx);
            return;
        }
        // The only ip change dispatch may make: the RFC's fault emulation rewinds by the instruction length.
        bool emulatedFault = run.Dispatch.Trace.Any(k => k.Function == "fred_emulate_fault");
        ulong ip = s.Rip - (emulatedFault ? (ulong)e.InstructionLength : 0);
        ExpectEqual(ip, run.Dispatch.Regs.Ip, "pt_regs ip after dispatch", ctx);
        bool toCompat = s.Cpl == 3 && !s.Is64BitMode;
        if (!Canonical.IsCanonical(ip) || (toCompat && (ip & 0xFFFF_FFFF) > s.CsLimit))
        {
            // The RFC's fault emulation rewound ip across the canonical boundary, or below 0 in compatibility mode
            // (wrapping past the CS limit): the exit's ERET refuses it.
            ExpectEqual(Outcome.Faulted(Event.GeneralProtection()), r.Outcome, "ERET to a non-canonical rewound ip", ctx);
            return;
        }
        Expect(r.Outcome.Kind == OutcomeKind.Returned, () => $"the exit path's ERET did not return: {r.Outcome}\n{ctx()}");
        if (toCompat) ip &= 0xFFFF_FFFF;                                                       // ERETU to compatibility mode
        var expected = RoundTripTests.ExpectedAfterReturn(s, e) with { Rax = run.Dispatch.Regs.Ax, Rip = ip };
        var got = r.State;
        foreach (var (name, exp, obs) in new (string, object, object)[]
        {
            ("RIP", expected.Rip, got.Rip), ("RSP", expected.Rsp, got.Rsp), ("RFLAGS", expected.Rflags, got.Rflags), ("CS", expected.Cs, got.Cs),
            ("SS", expected.Ss, got.Ss), ("stack level", expected.StackLevel, got.StackLevel), ("GS base", expected.GsBase, got.GsBase),
            ("RAX", expected.Rax, got.Rax), ("RCX", expected.Rcx, got.Rcx), ("R11", expected.R11, got.R11),
            ("NMI blocked", expected.NmiBlocked, got.NmiBlocked), ("pending single-step", expected.PendingSingleStep, got.PendingSingleStep),
        })
            ExpectEqual(exp, obs, name + " after entry, dispatch and exit", ctx);
        bool syscall = run.Dispatch.Trace.Any(k => k.Function is "do_syscall_64" or "do_fast_syscall_32" or "do_int80_syscall_32");
        Expect(syscall == (got.Rax != s.Rax && got.Rax == KernelNames.MinusEnosys) || s.Rax == KernelNames.MinusEnosys,
            () => $"RAX changed without a syscall, or a syscall left RAX alone\n{ctx()}");
    }

    [Theory]
    [Trait("Rule", "FRED-KRN-13"), Trait("Rule", "FRED-KRN-12")]
    [InlineData(Profile.Rfc2022, Revision.Fred3)]
    [InlineData(Profile.Mainline, Revision.Fred5)]
    public void Matched_kernel_and_hardware_resume_the_interrupted_context(Profile profile, Revision revision) =>
        Check(Cases(profile, revision), Contract, cases: 1000);

    [Theory]
    [Trait("Rule", "FRED-KRN-14")]
    [InlineData(Profile.Rfc2022, Revision.Fred5)]
    [InlineData(Profile.Mainline, Revision.Fred3)]
    public void Mismatched_kernel_and_hardware_break_the_contract_as_documented(Profile profile, Revision revision)
    {
        var failure = Assert.Throws<ConformanceViolation>(() => Check(Cases(profile, revision), Contract, cases: 1000));
        output.WriteLine(failure.Message);
        // The RFC exit adds 8 before ERET and FRED 5's ERET skips 8 more: it pops the CS word as RIP. Mainline's exit
        // leaves RSP at the error code and FRED 3's ERET pops it as RIP. Either way the exit path's ERET faults.
        Assert.Contains("the exit path's ERET did not return: fault #GP", failure.Message);
    }

    [Theory]
    [Trait("Rule", "FRED-KRN-12")]
    [InlineData(Profile.Rfc2022)]
    [InlineData(Profile.Mainline)]
    public void Entry_stubs_lay_out_as_the_architecture_requires(Profile profile)
    {
        var stubs = Stubs[profile];
        Assert.Equal(0UL, stubs.UserEntry & 0xFFF);
        Assert.Equal(stubs.UserEntry + 256, stubs.KernelEntry);
        var user = stubs.Decode(stubs.UserEntry);
        var kernel = stubs.Decode(stubs.KernelEntry);
        output.WriteLine(stubs.Disassemble(stubs.UserEntry));
        Assert.Equal(Code.Eretu, user[^1].Code);
        Assert.True(user[^1].NextIP <= stubs.KernelEntry, "the user path must fit in 256 bytes");
        Assert.Equal(Code.Erets, kernel[^1].Code);
        foreach (var (path, dispatcher) in new[] { (user, stubs.UserDispatcher), (kernel, stubs.KernelDispatcher) })
        {
            Assert.Equal(15, path.Count(i => i.Mnemonic == Mnemonic.Push));
            Assert.Equal(15, path.Count(i => i.Mnemonic == Mnemonic.Pop));
            Assert.Single(path, i => i.Mnemonic == Mnemonic.Call && i.NearBranchTarget == dispatcher);
            Assert.Single(path, i => i.Mnemonic == Mnemonic.Mov && i.Op0Register == Register.RDI && i.Op1Register == Register.RSP);
            bool drops = path.Any(i => i.Mnemonic == Mnemonic.Add && i.Op0Register == Register.RSP && i.GetImmediate(1) == 8);
            Assert.Equal(profile == Profile.Rfc2022, drops);
            Assert.Equal(Mnemonic.Pop, path[^(drops ? 3 : 2)].Mnemonic);              // the ERET (and RFC's drop) follow POP_REGS
        }
        for (ulong a = user[^1].NextIP; a < stubs.KernelEntry; a++) Assert.Equal(0xCC, stubs.Code[a - stubs.UserEntry]);
    }
}
