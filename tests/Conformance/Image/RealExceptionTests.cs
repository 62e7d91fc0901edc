using Fred.Dut;
using Fred.Generators;
using Fred.Image;
using Fred.Model;
using Iced.Intel;

namespace Fred.Conformance.Image;

/// <summary>Exceptions the image raises with a real instruction: which instruction, from which states, and when it declines.</summary>
public class RealExceptionTests
{
    static MachineState Kernel => World.Kernel() with { Rip = World.ImageKernelCode + 0x10 };

    static MachineState User64 => World.Kernel() with
    {
        Cs = Selectors.UserCs, Ss = Selectors.UserDs, Rip = World.ImageUserCode + 0x10, Rsp = World.UserStackBase + 0x3F00, Rflags = 0x202,
    };

    static MachineState User32 => User64 with
    {
        Cs = Selectors.User32Cs, Is64BitMode = false, Rip = World.ImageUserCode32 + 0x10, Rsp = World.CompatStackBase + 0x3F00,
        Memory = User64.Memory.Map(World.CompatStackBase, World.StackRegion, PageAccess.UserData),
    };

    static string Disassemble(byte[] code, bool b64)
    {
        var d = Iced.Intel.Decoder.Create(b64 ? 64 : 32, new ByteArrayCodeReader(code));
        d.Decode(out var i);
        var o = new StringOutput();
        new NasmFormatter().Format(i, o);
        return o.ToStringAndReset();
    }

    static Realized Realize(MachineState s, Step step)
    {
        var (r, why) = CaseRealizer.Realize(new DutCase(1, s, [step]));
        Assert.True(r is not null, why);
        return r!;
    }

    [Fact]
    [Trait("Rule", "FRED-IMG-02")]
    public void SS_is_a_load_through_the_non_canonical_RBP_the_harness_leaves_in_every_case()
    {
        foreach (var s in new[] { Kernel, User64 })
        {
            var r = Realize(s, new DeliverStep(Event.Exception(Vector.SS)));
            Assert.Equal("mov al,[rbp]", Disassemble(r.Plan.Code, b64: true));
            Assert.Equal(s.Rip, r.Plan.Entry);
        }
        Assert.False(Canonical.IsCanonical(Fred.Image.Record.StackFaultRbp));
        var (compat, why) = CaseRealizer.Realize(new DutCase(1, User32, [new DeliverStep(Event.Exception(Vector.SS))]));
        Assert.Null(compat);
        Assert.Contains("64-bit mode", why);
        Assert.Null(CaseRealizer.Realize(new DutCase(1, Kernel, [new DeliverStep(Event.Exception(Vector.SS, errorCode: 0x18))])).Case);
    }

    [Fact]
    [Trait("Rule", "FRED-IMG-02")]
    public void AC_is_a_misaligned_two_byte_load_from_ring_3_with_RFLAGS_AC_set()
    {
        foreach (var s in new[] { User64, User32 })
        {
            var ac = s with { Rflags = s.Rflags | MachineState.FlagAc };
            var r = Realize(ac, new DeliverStep(Event.Exception(Vector.AC)));
            ulong target = (s.Rip & ~0xFFFUL) + 1;
            Assert.Equal($"mov ax,[{target:X}h]", Disassemble(r.Plan.Code, s.Is64BitMode).Replace("qword ", "").Replace("dword ", ""));
            Assert.Equal(1UL, target & 1);
        }
        foreach (var (s, why) in new[] { (User64, "RFLAGS.AC"), (Kernel with { Rflags = Kernel.Rflags | MachineState.FlagAc }, "ring 3") })
        {
            var (r, reason) = CaseRealizer.Realize(new DutCase(1, s, [new DeliverStep(Event.Exception(Vector.AC))]));
            Assert.Null(r);
            Assert.Contains(why, reason);
        }
    }

    [Fact]
    [Trait("Rule", "FRED-IMG-02"), Trait("Rule", "FRED-DATA-03")]
    public void NM_is_an_x87_instruction_run_with_CR0_TS_set_for_that_case_only()
    {
        foreach (var s in new[] { Kernel, User64, User32 })
        {
            var r = Realize(s, new DeliverStep(Event.Exception(Vector.NM)));
            Assert.Equal("fnop", Disassemble(r.Plan.Code, s.Is64BitMode));
            Assert.Equal(Fred.Image.Record.ModeTs, BitConverter.ToUInt64(r.Record, 8 * Fred.Image.Record.Mode) & Fred.Image.Record.ModeTs);
        }
        var other = Realize(Kernel, new DeliverStep(Event.Exception(Vector.UD)));
        Assert.Equal(0UL, BitConverter.ToUInt64(other.Record, 8 * Fred.Image.Record.Mode) & Fred.Image.Record.ModeTs);
        var (xfd, why) = CaseRealizer.Realize(new DutCase(1, Kernel, [new DeliverStep(Event.Exception(Vector.NM, eventData: 0x4_0000))]));
        Assert.Null(xfd);
        Assert.Contains("IA32_XFD_ERR", why);
    }

    [Fact]
    [Trait("Rule", "FRED-IMG-02"), Trait("Rule", "FRED-DATA-02")]
    public void The_single_step_DB_follows_a_NOP_placed_before_RIP_where_the_harness_enters()
    {
        var trap = new DeliverStep(Event.Exception(Vector.DB, eventData: Event.DebugSingleStep));
        foreach (var s in new[] { Kernel, User64, User32 })
        {
            var stepping = s with { Rflags = s.Rflags | MachineState.FlagTf };
            var r = Realize(stepping, trap);
            Assert.Equal("nop", Disassemble(r.Plan.Code, s.Is64BitMode));
            Assert.Equal(s.Rip - 1, r.Plan.Entry);
            Assert.Equal(s.Rip - 1, BitConverter.ToUInt64(r.Record, 8 * Fred.Image.Record.Rip));
            Assert.Equal(0, r.Plan.Length);
        }
        foreach (var (s, step, why) in new (MachineState, Step, string)[]
        {
            (Kernel, trap, "TF set"),
            (Kernel with { Rflags = Kernel.Rflags | MachineState.FlagTf | MachineState.FlagRf }, trap, "RF clear"),
            (Kernel, new DeliverStep(Event.Exception(Vector.DB, eventData: 1UL << 15)), "BS alone as the single step"),
            (Kernel with { Rflags = Kernel.Rflags | MachineState.FlagTf }, new ExecuteStep([0xCC]), "TF"),
        })
        {
            var (r, reason) = CaseRealizer.Realize(new DutCase(1, s, [step]));
            Assert.Null(r);
            Assert.Contains(why, reason);
        }
    }

    /// <summary>
    /// Each exception raised for real, from ring 0 and ring 3 (64-bit), alone and with the ERET after it, in the Bochs that
    /// FRED_BOCHS names (with FRED_BOCHS_CPU); without one the test is skipped.
    /// </summary>
    [SkippableFact]
    [Trait("Rule", "FRED-IMG-05")]
    public void In_a_FRED_Bochs_every_exception_raised_for_real_agrees_with_the_model()
    {
        var (settings, profile) = FredBochs.Require();
        var cases = new List<DutCase>();
        foreach (var s in new[] { Kernel, User64 with { Rflags = User64.Rflags | MachineState.FlagAc } })
            foreach (var e in new[] { Event.Exception(Vector.SS), Event.Exception(Vector.NM), Event.Exception(Vector.AC), Event.Exception(Vector.DB, eventData: Event.DebugSingleStep) })
            {
                if (e.Vector == Vector.AC && s.Cpl == 0) continue;
                var start = e.Vector == Vector.DB ? s with { Rflags = s.Rflags | MachineState.FlagTf } : s;
                Step eret = s.Cpl == 3 ? new EretuStep() : new EretsStep();
                cases.Add(new DutCase(cases.Count + 1, start, [new DeliverStep(e)]));
                cases.Add(new DutCase(cases.Count + 1, start, [new DeliverStep(e), eret]));
            }
        var results = BatchRunner.Run(Fred.Bochs.BochsRunner.Emulator(settings), cases, TextWriter.Null).ToArray();
        Assert.Equal(cases.Count, results.Length);
        foreach (var (c, result) in results)
        {
            var observed = Assert.IsType<Answered>(result);
            Assert.Equal(OutcomeKind.Delivered, observed.Steps[0].Outcome.Kind);
            Assert.Equal(((DeliverStep)c.Steps[0]).Event.Vector, observed.Steps[0].Outcome.Event.Vector);
            var ms = Comparator.Judge(c, CaseRunner.Run(CaseRunner.Model, c), observed, profile);
            Assert.True(ms.Count == 0, $"case {c.Id} ({string.Join(", ", c.Steps)}): {string.Join("; ", ms)}");
        }
    }

    [Fact]
    [Trait("Rule", "FRED-IMG-02")]
    public void Every_exception_the_image_raises_is_generated_and_realized()
    {
        var shape = new Arbitraries.DutShape([Revision.Fred5], Cet: false, Compat: true, RealEvents: true);
        var vectors = Enumerable.Range(0, 1500).Select(i => Campaign.Generate(shape, 5, i))
            .Select(c => CaseRealizer.Realize(c).Case).OfType<Realized>()
            .Select(r => r.Case.Steps[0]).OfType<DeliverStep>().Where(d => d.Event.Type == EventType.HardwareException)
            .Select(d => d.Event.Vector).ToHashSet();
        foreach (var v in new[] { Vector.DE, Vector.DB, Vector.UD, Vector.NM, Vector.SS, Vector.GP, Vector.PF, Vector.AC })
            Assert.Contains(v, vectors);
    }

    [Fact]
    [Trait("Rule", "FRED-IMG-02")]
    public void The_image_coverage_counts_realised_cases_per_event_and_per_rule()
    {
        var shape = new Arbitraries.DutShape([Revision.Fred5], Cet: false, Compat: true, RealEvents: true);
        var realized = Enumerable.Range(0, 600).Select(i => CaseRealizer.Realize(Campaign.Generate(shape, 9, i)).Case).OfType<Realized>().ToArray();
        var events = ImageCoverage.Events(realized).ToDictionary(e => e.Event, e => e.Cases);
        Assert.Equal(realized.Length, events.Values.Sum());
        foreach (var name in new[] { "#SS", "#AC", "#NM", "#DB (single step)", "#PF", "external interrupt", "INT n (instruction)", "ERETS", "MOV CR4", "WRMSR IA32_FRED_CONFIG" })
            Assert.True(events.GetValueOrDefault(name) > 0, $"no realised case raises {name}");
        var rules = ImageCoverage.Rules(realized);
        Assert.Equal(SpecRules.All.Select(r => r.Id), rules.Select(r => r.Rule));
        var by = rules.ToDictionary(r => r.Rule, r => r.Cases);
        Assert.True(by["FRED-DATA-02"] > 0 && by["FRED-DATA-03"] > 0 && by["FRED-DELIV-05"] > 0);
        Assert.True(by["FRED-MSR-02"] > 0 && by["FRED-MSR-04"] > 0 && by["FRED-MSR-09"] > 0 && by["FRED-MSR-10"] > 0);
        Assert.Equal(0, by["FRED-IMG-01"]);       // no case exercises the image's own format
    }
}
