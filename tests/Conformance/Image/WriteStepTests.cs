using Fred.Dut;
using Fred.Generators;
using Fred.Image;
using Fred.Model;
using Iced.Intel;

namespace Fred.Conformance.Image;

/// <summary>WRMSR and MOV CR4 run for real by the image (spec/image-format.md, FRED-IMG-02 and FRED-IMG-04).</summary>
public class WriteStepTests
{
    static MachineState Kernel => World.Kernel() with { Rip = World.ImageKernelCode + 0x800, Rax = 0x1111_2222_3333_4444, Rcx = 0x5555_6666_7777_8888 };

    static MachineState User64 => World.Kernel() with
    {
        Cs = Selectors.UserCs, Ss = Selectors.UserDs, Rip = World.ImageUserCode + 0x800, Rsp = World.UserStackBase + 0x3F00, Rflags = 0x202,
    };

    static readonly Step Int3 = new ExecuteStep([0xCC]);

    static string[] Disassemble(byte[] code)
    {
        var d = Iced.Intel.Decoder.Create(64, new ByteArrayCodeReader(code));
        var f = new NasmFormatter();
        var o = new StringOutput();
        var lines = new List<string>();
        while (d.IP < (ulong)code.Length)
        {
            d.Decode(out var i);
            f.Format(i, o);
            lines.Add(o.ToStringAndReset());
        }
        return [.. lines];
    }

    static Realized Realize(MachineState s, params Step[] steps)
    {
        var (r, why) = CaseRealizer.Realize(new DutCase(1, s, steps));
        Assert.True(r is not null, why);
        return r!;
    }

    [Fact]
    [Trait("Rule", "FRED-IMG-02")]
    public void A_WRMSR_runs_with_its_operands_before_RIP_and_gives_RAX_and_RCX_back_before_the_event()
    {
        var r = Realize(Kernel, new WrmsrStep(Msr.FredRsp1, 0xFFFF_C900_0011_3F40), Int3);
        Assert.Equal(["mov ecx,1CDh", "mov eax,113F40h", "mov edx,0FFFFC900h", "wrmsr", "mov rax,1111222233334444h", "mov rcx,5555666677778888h", "int3"],
            Disassemble(r.Plan.Code));
        Assert.Equal(Kernel.Rip + 1, r.Plan.Entry + (ulong)r.Plan.Code.Length);          // the INT3 sits at RIP
        Assert.Equal(r.Plan.Entry + 15, r.Plan.WriteAt);
        Assert.Equal(r.Plan.Entry, BitConverter.ToUInt64(r.Record, 8 * Fred.Image.Record.Rip));
        Assert.Equal(FirstStep.Instruction, r.Plan.First);
        Assert.Equal(1, r.Plan.Length);

        var cr4 = Realize(Kernel, new MovCr4Step(Kernel.Cr4 | (1UL << 7)));
        Assert.Equal(["mov rax,1000000A0h", "mov cr4,rax", "mov rax,1111222233334444h", "mov rcx,5555666677778888h"], Disassemble(cr4.Plan.Code));
        Assert.Equal(FirstStep.Write, cr4.Plan.First);
        Assert.Equal(Kernel.Rip, cr4.Plan.Entry + (ulong)cr4.Plan.Code.Length);         // the INT3 filling the page follows at RIP
        Assert.Equal(cr4.Plan.Entry + 10, cr4.Plan.WriteAt);
    }

    [Fact]
    [Trait("Rule", "FRED-IMG-02")]
    public void A_write_that_moves_the_entry_point_finds_the_stubs_there_too()
    {
        ulong moved = World.DefaultEntry + 0x4000;
        var r = Realize(Kernel, new WrmsrStep(Msr.FredConfig, moved | 0x40), Int3);
        // Both entry pages map the harness's stub page: a PTE with the stub page's address appears twice in the program.
        var q = Enumerable.Range(0, r.Record.Length / 8).Select(i => BitConverter.ToUInt64(r.Record, 8 * i)).ToArray();
        Assert.Equal(2, q.Count(v => (v & 0x000F_FFFF_FFFF_F000UL) == Layout.EntryPage && (v & 1) == 1));
        var same = Realize(Kernel, new WrmsrStep(Msr.FredConfig, Kernel.Fred.Config.Value | 0x80), Int3);
        var q1 = Enumerable.Range(0, same.Record.Length / 8).Select(i => BitConverter.ToUInt64(same.Record, 8 * i)).ToArray();
        Assert.Equal(1, q1.Count(v => (v & 0x000F_FFFF_FFFF_F000UL) == Layout.EntryPage && (v & 1) == 1));
        // A new entry page on the case's own code page cannot hold the stubs.
        var (clash, why) = CaseRealizer.Realize(new DutCase(1, Kernel, [new WrmsrStep(Msr.FredConfig, Kernel.Rip & ~0xFFFUL), Int3]));
        Assert.Null(clash);
        Assert.Contains("new entry page collides", why);
    }

    public static TheoryData<string, MachineState, Step[], string> Declined => new()
    {
        { "STAR", Kernel, [new WrmsrStep(Msr.Star, 0)], "gives back only" },
        { "S_CET", Kernel, [new WrmsrStep(Msr.SCet, 1)], "gives back only" },
        { "RSP1 in the harness", Kernel, [new WrmsrStep(Msr.FredRsp1, 0x20_0000), Int3], "lie in the harness" },
        { "CR4.FRED cleared", Kernel, [new MovCr4Step(Kernel.Cr4 & ~MachineState.Cr4Fred), Int3], "CR4.FRED" },
        { "CR4.SMEP set", Kernel, [new MovCr4Step(Kernel.Cr4 | (1UL << 20))], "other than TSD" },
        { "CR4.LA57 set", Kernel, [new MovCr4Step(Kernel.Cr4 | (1UL << 12))], "other than TSD" },
        { "RF set", Kernel with { Rflags = Kernel.Rflags | MachineState.FlagRf }, [new WrmsrStep(Msr.FredStackLevels, 0)], "RF and TF clear" },
        { "compatibility mode", User64 with { Cs = Selectors.User32Cs, Is64BitMode = false, Rip = World.ImageUserCode32, Rsp = 0x7FF0_3F00 },
            [new WrmsrStep(Msr.FredStackLevels, 0)], "64-bit mode" },
        { "an interrupt after", Kernel, [new WrmsrStep(Msr.FredStackLevels, 0), new DeliverStep(Event.Interrupt(0x40))], "instruction at RIP" },
        { "an ERET after", Kernel, [new WrmsrStep(Msr.FredStackLevels, 0), new EretsStep()], "instruction at RIP" },
        { "two events after", Kernel, [new WrmsrStep(Msr.FredStackLevels, 0), Int3, new EretsStep()], "one event" },
    };

    [Theory]
    [MemberData(nameof(Declined))]
    [Trait("Rule", "FRED-IMG-02")]
    public void A_write_the_harness_cannot_survive_or_observe_is_declined_with_the_reason(string what, MachineState s, Step[] steps, string reason)
    {
        var (r, why) = CaseRealizer.Realize(new DutCase(1, s, steps));
        Assert.True(r is null, what);
        Assert.Contains(reason, why!);
    }

    [Fact]
    [Trait("Rule", "FRED-IMG-02")]
    public void Writes_of_reserved_CR4_bits_clearing_PAE_and_from_ring_3_are_realized_since_they_fault()
    {
        foreach (var (s, step) in new (MachineState, Step)[]
        {
            (Kernel, new MovCr4Step(Kernel.Cr4 | (1UL << 40))), (Kernel, new MovCr4Step(Kernel.Cr4 & ~MachineState.Cr4Pae)),
            (User64, new MovCr4Step(0)), (User64, new WrmsrStep(Msr.FredConfig, 0)), (Kernel, new WrmsrStep(Msr.FredConfig, 0x8000_0000_0000_0000)),
        })
        {
            Assert.Equal(OutcomeKind.Fault, step.Apply(s).Outcome.Kind);
            Assert.Equal(FirstStep.Write, Realize(s, step).Plan.First);
        }
    }

    static Observation Seen(long index, MachineState h) => new('D', (ulong)index,
    [
        h.Rip == h.Fred.Config.EntryPoint + 256 ? 1UL : 0UL, h.Rsp, h.Rflags, h.Cs, h.Ss, h.Rax, h.Rcx, h.R11, h.GsBase, h.KernelGsBase, h.Cr2,
        h.Fred.Config.Value, .. Enumerable.Range(0, 8).Select(i => h.Memory.Peek(h.Rsp + 8UL * (ulong)i, 8)),
    ]);

    [Fact]
    [Trait("Rule", "FRED-IMG-04")]
    public void The_write_s_GP_at_the_WRMSR_is_its_fault_and_an_INT3_at_RIP_shows_the_CONFIG_it_left()
    {
        var h = Harness.Build();
        // Refused: the #GP's frame names the WRMSR's address, before RIP.
        var bad = Realize(Kernel, new WrmsrStep(Msr.FredConfig, Kernel.Fred.Config.Value | 4));
        var gp = Delivery.Deliver(Kernel with { Rip = bad.Plan.WriteAt!.Value }, Event.GeneralProtection()).State;
        var refused = Assert.IsType<Answered>(Interpreter.Answer(bad, [Seen(1, gp)], h, false, false));
        Assert.Equal(Outcome.Faulted(Event.GeneralProtection()), Assert.Single(refused.Steps).Outcome);
        // The same #GP anywhere else (at RIP, say) is no answer to the write.
        var elsewhere = Delivery.Deliver(Kernel, Event.GeneralProtection()).State;
        Assert.IsType<DutBroke>(Interpreter.Answer(bad, [Seen(1, elsewhere)], h, false, false));

        // Accepted: a new red zone and stack level, read from the INT3's entry (CONFIG) and frame (the stack level).
        ulong config = (Kernel.Fred.Config.Value & ~0x1C3UL) | 0x80 | 2;
        var good = Realize(Kernel, new WrmsrStep(Msr.FredConfig, config));
        var probe = Int3.Apply(Kernel with { Fred = Kernel.Fred with { Config = new FredConfig(config) } }).State;
        var accepted = Assert.IsType<Answered>(Interpreter.Answer(good, [Seen(1, probe)], h, false, false));
        var step = Assert.Single(accepted.Steps);
        Assert.Equal(OutcomeKind.Completed, step.Outcome.Kind);
        Assert.Equal(config, step.State.Fred.Config.Value);
        Assert.Equal(Kernel.Rip, step.State.Rip);
        // A shutdown with nothing recorded: no #GP reached the harness, so the lone write is answered completed.
        var down = Assert.IsType<Answered>(Interpreter.Answer(bad, [], h, stoppedHere: true, shutdown: true));
        Assert.Equal(OutcomeKind.Completed, Assert.Single(down.Steps).Outcome.Kind);
        Assert.Equal(Kernel.Fred.Config, down.Steps[0].State.Fred.Config);
    }

    [Fact]
    [Trait("Rule", "FRED-IMG-02")]
    public void Generated_writes_cover_every_register_fault_and_completion_and_are_realized()
    {
        var shape = new Arbitraries.DutShape([Revision.Fred5], Cet: false, Compat: true, RealEvents: true);
        var writes = Enumerable.Range(0, 1500).Select(i => Campaign.Generate(shape, 11, i)).Where(c => WriteSteps.IsWrite(c.Steps[0])).ToArray();
        var realized = writes.Select(c => CaseRealizer.Realize(c).Case).OfType<Realized>().ToArray();
        Assert.True(writes.Length >= 150, $"only {writes.Length} write cases in 1500");
        Assert.True(realized.Length >= writes.Length * 97 / 100, $"only {realized.Length} of {writes.Length} write cases realized");
        var seen = realized.Select(r => (r.Case.Steps[0] switch { WrmsrStep w => Msr.Name(w.Msr), _ => "CR4" }, r.Case.Steps[0].Apply(r.Case.Initial).Outcome.Kind)).ToHashSet();
        foreach (var name in new[] { "IA32_FRED_CONFIG", "IA32_FRED_RSP0", "IA32_FRED_RSP3", "IA32_GS_BASE", "IA32_KERNEL_GS_BASE", "CR4" })
            foreach (var kind in new[] { OutcomeKind.Completed, OutcomeKind.Fault })
                Assert.Contains((name, kind), seen);
        Assert.Contains(("IA32_FRED_STKLVLS", OutcomeKind.Completed), seen);
        // A completed write is followed by its event; a refused one stands alone.
        Assert.All(realized, r => Assert.Equal(r.Case.Steps[0].Apply(r.Case.Initial).Outcome.Kind == OutcomeKind.Completed ? 2 : 1, r.Case.Steps.Count));
    }

    /// <summary>
    /// Writes run for real in the Bochs that FRED_BOCHS names (with FRED_BOCHS_CPU): every register the image writes, accepted
    /// and refused, alone and before an event; without one the test is skipped.
    /// </summary>
    [SkippableFact]
    [Trait("Rule", "FRED-IMG-05")]
    public void In_a_FRED_Bochs_every_write_the_image_runs_agrees_with_the_model()
    {
        var (settings, profile) = FredBochs.Require();
        ulong cfg = Kernel.Fred.Config.Value;
        var writes = new Step[]
        {
            new WrmsrStep(Msr.FredConfig, (World.DefaultEntry + 0x4000) | 0x1C1), new WrmsrStep(Msr.FredConfig, cfg | 4),
            new WrmsrStep(Msr.FredRsp0, World.LevelStackTop(2)), new WrmsrStep(Msr.FredRsp2, World.LevelStackTop(2) + 8),
            new WrmsrStep(Msr.FredStackLevels, 0xFFFF_FFFF_FFFF_FFFF), new WrmsrStep(Msr.GsBase, 0x1234_5000), new WrmsrStep(Msr.KernelGsBase, 0x8000_0000_0000_0000),
            new MovCr4Step(Kernel.Cr4 | (1UL << 7) | (1UL << 16)), new MovCr4Step(Kernel.Cr4 | (1UL << 15)), new MovCr4Step(Kernel.Cr4 & ~MachineState.Cr4Pae),
        };
        var cases = new List<DutCase>();
        foreach (var w in writes)
            foreach (var s in new[] { Kernel, User64 })
            {
                cases.Add(new DutCase(cases.Count + 1, s, [w]));
                if (w.Apply(s).Outcome.Kind == OutcomeKind.Completed)
                    foreach (var e in new Step[] { Int3, new ExecuteStep([0xCD, 0x80]), new DeliverStep(Event.Exception(Vector.DE)) })
                        cases.Add(new DutCase(cases.Count + 1, s, [w, e]));
            }
        var results = BatchRunner.Run(Fred.Bochs.BochsRunner.Emulator(settings), cases, TextWriter.Null).ToArray();
        Assert.Equal(cases.Count, results.Length);
        foreach (var (c, result) in results)
        {
            var observed = Assert.IsType<Answered>(result);
            var ms = Comparator.Judge(c, CaseRunner.Run(CaseRunner.Model, c), observed, profile);
            Assert.True(ms.Count == 0, $"case {c.Id} ({string.Join(", ", c.Steps)}): {string.Join("; ", ms)}");
        }
    }
}
