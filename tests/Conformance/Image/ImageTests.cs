using Fred.Dut;
using Fred.Generators;
using Fred.Image;
using Fred.Model;
using FsCheck;
using FsCheck.Fluent;
using Iced.Intel;

namespace Fred.Conformance.Image;

/// <summary>The boot image: its code, its case records, its output format and how the output is read back.</summary>
public class ImageTests
{
    static readonly Arbitraries.DutShape Shape = new([Revision.Fred5], Cet: false, Compat: true, RealEvents: true);
    static readonly DutProfile ImageProfile = DutProfile.Load(Path.Combine(SpecCoverageTests.RepositoryRoot(), "profiles", "bochs-image.profile"));

    static IEnumerable<DutCase> Generated(ulong seed, int n) => Enumerable.Range(0, n).Select(i => Campaign.Generate(Shape, seed, i));

    [Fact]
    [Trait("Rule", "FRED-IMG-01")]
    public void The_boot_sector_is_a_BIOS_boot_sector_that_loads_the_whole_stage()
    {
        var b = BootCode.BootSector();
        Assert.Equal(512, b.Length);
        Assert.Equal(0x55, b[510]);
        Assert.Equal(0xAA, b[511]);
        // Two extended reads: 64 sectors from LBA 1 to 0x8000, the rest of the stage from LBA 65 to 0x10000.
        Assert.Equal(64, BitConverter.ToUInt16(b, 0x1C2));
        Assert.Equal((ulong)1, BitConverter.ToUInt64(b, 0x1C8));
        Assert.Equal(Layout.StageSectors - 64, BitConverter.ToUInt16(b, 0x1D2));
        Assert.Equal((ushort)0x1000, BitConverter.ToUInt16(b, 0x1D6));
        Assert.Equal((ulong)65, BitConverter.ToUInt64(b, 0x1D8));
    }

    [Fact]
    [Trait("Rule", "FRED-IMG-01")]
    public void The_harness_and_the_entry_stubs_decode_as_the_instructions_they_are_meant_to_be()
    {
        var h = Harness.Build();
        var d = Iced.Intel.Decoder.Create(64, new ByteArrayCodeReader(h.Code));
        d.IP = Layout.Harness64;
        var mnemonics = new List<Mnemonic>();
        while (d.IP < Layout.Harness64 + (ulong)h.Code.Length)
        {
            d.Decode(out var i);
            Assert.False(i.IsInvalid, $"invalid instruction at 0x{i.IP:X}");
            mnemonics.Add(i.Mnemonic);
        }
        Assert.Contains(Mnemonic.Eretu, mnemonics);
        Assert.Contains(Mnemonic.Erets, mnemonics);
        Assert.Contains(Mnemonic.Int1, mnemonics);
        var page = Harness.EntryStubs();
        foreach (int at in new[] { 0, 256 })
        {
            var sd = Iced.Intel.Decoder.Create(64, new ByteArrayCodeReader(page[at..]));
            sd.Decode(out var save);
            sd.Decode(out var kind);
            sd.Decode(out var jump);
            Assert.Equal("mov [qword 11008h],rax", Format(save));
            Assert.Equal($"mov eax,{(at == 0 ? "0" : "1")}", Format(kind));
            Assert.Contains("11000h]", Format(jump)); Assert.Equal(Mnemonic.Jmp, jump.Mnemonic);
        }
        Assert.Equal(0xCC, page[128]);
    }

    static string Format(Instruction i)
    {
        var f = new NasmFormatter();
        var o = new StringOutput();
        f.Format(i, o);
        return o.ToStringAndReset();
    }

    [Fact]
    [Trait("Rule", "FRED-IMG-02")]
    public void Most_real_event_cases_can_be_realized_and_every_event_type_is_raised()
    {
        var cases = Generated(7, 600).ToArray();
        var realized = cases.Select(c => CaseRealizer.Realize(c).Case).Where(r => r is not null).Select(r => r!).ToArray();
        Assert.True(realized.Length >= cases.Length * 8 / 10, $"only {realized.Length} of {cases.Length} generated cases could be realized");
        // Every event type the image raises for real appears: interrupts, exceptions, INT n, INT1, INT3/INTO, SYSCALL/SYSENTER.
        var types = realized.Select(r => r.Case.Steps[0] switch
        {
            DeliverStep d => d.Event.Type,
            ExecuteStep x => EventInstructions.Execute(r.Case.Initial, x.Bytes).Outcome.Event.Type,
            _ => (EventType)99,
        }).ToHashSet();
        foreach (var t in new[] { EventType.ExternalInterrupt, EventType.Nmi, EventType.HardwareException, EventType.SoftwareInterrupt,
                     EventType.PrivilegedSoftwareException, EventType.SoftwareException, EventType.Other })
            Assert.Contains(t, types);
        var image = ImageBuilder.Build(realized);
        Assert.Equal(0, image.Bytes.Length % (512 * Layout.Heads * Layout.SectorsPerTrack));
        Assert.Equal((ulong)realized.Length, BitConverter.ToUInt64(image.Bytes, 512 * (1 + Layout.StageSectors)));
    }

    [Fact]
    [Trait("Rule", "FRED-IMG-02")]
    public void Real_event_cases_stay_real_event_cases_after_the_same_shape_without_them()
    {
        // The generator cache once ignored RealEvents: whichever shape came first in a process served both.
        var plain = new Arbitraries.DutShape([Revision.Fred5], Cet: false, Compat: false, RealEvents: false);
        var real = plain with { RealEvents = true };
        _ = Campaign.Generate(plain, 5, 0);
        int realizable = Enumerable.Range(0, 40).Count(i => CaseRealizer.Realize(Campaign.Generate(real, 5, i)).Case is not null);
        Assert.True(realizable >= 30, $"only {realizable} of 40 real-event cases could be realized");
    }

    public static TheoryData<string, Func<DutCase, DutCase>, string> Unrealizable => new()
    {
        { "fred3", c => c with { Initial = c.Initial with { Revision = Revision.Fred3 } }, "fred5 only" },
        { "cet", c => c with { Initial = c.Initial with { Cr4 = c.Initial.Cr4 | MachineState.Cr4Cet } }, "CET" },
        { "pending single step", c => c with { Initial = c.Initial with { PendingSingleStep = true } }, "pending single step" },
        { "nmi blocked and an nmi", c => c with { Initial = c.Initial with { NmiBlocked = true }, Steps = [new DeliverStep(Event.NonMaskable())] }, "NMIs are blocked" },
        { "tf", c => c with { Initial = c.Initial with { Rflags = c.Initial.Rflags | MachineState.FlagTf } }, "TF" },
        { "code in the harness", c => c with { Initial = c.Initial with { Rip = 0x40_1000 } }, "outside the harness" },
        { "nested", c => c with { Steps = [new DeliverStep(Event.PageFault(0, 0x1000_0000) with { Nested = true })] }, "nested" },
        { "nmi source", c => c with { Steps = [new DeliverStep(Event.NonMaskable(1))] }, "NMI-source" },
        { "wrmsr of STAR", c => c with { Steps = [new WrmsrStep(Msr.Star, 0)] }, "gives back only" },
        { "wrmsr moving the entry point into the harness", c => c with { Steps = [new WrmsrStep(Msr.FredConfig, 0)] }, "new entry point" },
        { "int3 then wrmsr", c => c with { Steps = [new ExecuteStep([0xCC]), new WrmsrStep(Msr.FredConfig, 0)] }, "second step" },
        { "bad #PF code", c => c with { Steps = [new DeliverStep(Event.PageFault(0x10, 0x1000_0000))] }, "P, W and U" },
        { "not an event instruction", c => c with { Steps = [new ExecuteStep([0x90])] }, "not an instruction" },
    };

    [Theory]
    [MemberData(nameof(Unrealizable))]
    [Trait("Rule", "FRED-IMG-02")]
    public void A_case_the_image_cannot_raise_for_real_is_declined_with_the_reason(string what, Func<DutCase, DutCase> change, string reason)
    {
        var start = new DutCase(1, World.Kernel() with { Rip = World.ImageKernelCode }, [new ExecuteStep([0xCC])]);
        Assert.NotNull(CaseRealizer.Realize(start).Case);
        var (r, why) = CaseRealizer.Realize(change(start));
        Assert.Null(r);
        Assert.Contains(reason, why!);
        Assert.NotEmpty(what);
    }

    [Fact]
    [Trait("Rule", "FRED-IMG-03")]
    public void Output_lines_are_checked_field_by_field_and_by_checksum()
    {
        var fields = Enumerable.Range(1, Harness.ObsFields).Select(i => (ulong)i * 0x1111).ToArray();
        ulong index = 7, sum = index + fields.Aggregate(0UL, (a, b) => a + b);
        string Line(char letter, ulong s) => $"{letter} {index:x16} {string.Join(' ', fields.Select(f => f.ToString("x16")))} {s:x16}";
        var good = ImageOutput.Parse($"junk before\nFRED-IMAGE 1\nB {index:x16}\n{Line('D', sum)}\nE {index:x16}\nEND\n");
        Assert.True(good.Started && good.Finished && !good.NoFred);
        Assert.Equal([index], good.Begun);
        Assert.Equal(fields, good.Observations[index][0].Fields);
        Assert.Empty(good.Problems);
        var bad = ImageOutput.Parse($"{Line('D', sum + 1)}\nD 12 34\nR {index:x16} zz\n");
        Assert.Empty(bad.Observations);
        Assert.Equal(3, bad.Problems.Count);
        Assert.Contains("checksum", bad.Problems[0]);
        Assert.Contains("output line 1", bad.Problems[0]);
        Assert.True(ImageOutput.Parse("FRED-IMAGE 1\nNOFRED\n").NoFred);
    }

    /// <summary>
    /// What a correct harness would print for a case, worked out with the model: the handler's registers and frame at
    /// each event, and the INT3 probe (or the ERET's #GP) after a harness ERET.
    /// </summary>
    static List<Observation> PerfectOutput(Realized r, HarnessCode h)
    {
        var obs = new List<Observation>();
        var s = r.Case.Initial;
        Observation Seen(char letter, MachineState handler) => new(letter, (ulong)r.Case.Id,
        [
            handler.Rip == handler.Fred.Config.EntryPoint + 256 ? 1UL : 0UL, handler.Rsp, handler.Rflags, handler.Cs, handler.Ss,
            handler.Rax, handler.Rcx, handler.R11, handler.GsBase, handler.KernelGsBase, handler.Cr2, handler.Fred.Config.Value,
            .. Enumerable.Range(0, 8).Select(i => handler.Memory.Peek(handler.Rsp + 8UL * (ulong)i, 8)),
        ]);
        var first = r.Case.Steps[0].Apply(s);
        if (r.Plan.WriteAt is { } writeAt)
        {
            // The write's #GP at the WRMSR or MOV before RIP; else the INT3 at RIP, or the case's event after the write.
            if (first.Outcome.Kind == OutcomeKind.Fault) obs.Add(Seen('D', Delivery.Deliver(s with { Rip = writeAt }, first.Outcome.Event).State));
            else if (r.Case.Steps.Count == 1) obs.Add(Seen('D', new ExecuteStep([0xCC]).Apply(first.State).State));
            else
            {
                var ev = r.Case.Steps[1].Apply(first.State);
                obs.Add(Seen('D', ev.Outcome.Kind == OutcomeKind.Completed ? new ExecuteStep([0xCC]).Apply(ev.State).State : ev.State));
            }
            return obs;
        }
        if (r.Plan.First == FirstStep.Eret)
        {
            var probe = first.Outcome.Kind == OutcomeKind.Returned ? new ExecuteStep([0xCC]).Apply(first.State).State
                : Delivery.Deliver(s, first.Outcome.Event).State;
            obs.Add(Seen('D', probe));
            return obs;
        }
        if (first.Outcome.Kind is OutcomeKind.Masked or OutcomeKind.Completed) { obs.Add(Seen('D', new ExecuteStep([0xCC]).Apply(first.State).State)); return obs; }
        obs.Add(Seen('D', first.State));
        if (!r.Plan.ThenEret) return obs;
        var eret = r.Case.Steps[1].Apply(first.State);
        var after = eret.Outcome.Kind == OutcomeKind.Returned
            ? (eret.State.Rip == r.Case.Initial.Rip && first.Outcome.Event.IsFault ? first.Outcome.Event : default(Event?)) is { } fault
                ? Delivery.Deliver(eret.State, fault).State
                : new ExecuteStep([0xCC]).Apply(eret.State).State
            : Delivery.Deliver(first.State with { Rip = r.Case.Steps[1] is EretuStep ? h.EretuAt : h.EretsAt }, eret.Outcome.Event).State;
        obs.Add(Seen('R', after));
        return obs;
    }

    [Fact]
    [Trait("Rule", "FRED-IMG-04")]
    public void What_a_correct_processor_would_print_is_read_back_as_the_models_own_answer()
    {
        var h = Harness.Build();
        var prop = Prop.ForAll(Arb.From(Arbitraries.DutScenario(Shape), Arbitraries.ShrinkDutScenario), sc =>
        {
            var (r, _) = CaseRealizer.Realize(new DutCase(3, sc.Initial, sc.Steps));
            if (r is null) return true;
            var expected = CaseRunner.Run(CaseRunner.Model, r.Case);
            if (expected.Steps.Any(s => s.Outcome.Kind is OutcomeKind.Shutdown)) return true;
            var answer = Interpreter.Answer(r, PerfectOutput(r, h), h, stoppedHere: false, shutdown: false);
            var answered = Assert.IsType<Answered>(answer);
            var ms = Comparator.Compare(r.Case, expected, answered, ImageProfile);
            return ms.Count == 0 ? true : throw new Xunit.Sdk.XunitException(string.Join("\n", ms) + "\n" + sc);
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(Scale(300)), prop);
    }

    static int Scale(int n) => int.TryParse(Environment.GetEnvironmentVariable("FRED_MAX_TEST"), out var m) && m > 0 ? m : n;
}

/// <summary>A generated image in a real Bochs: Debian's (no FRED) in CI, or the one FRED_BOCHS names.</summary>
public class BochsTests
{
    static string? FindBochs() =>
        Environment.GetEnvironmentVariable("FRED_BOCHS") is { Length: > 0 } b ? b : ImageDut.FindOnPath("bochs");

    [Fact]
    [Trait("Rule", "FRED-IMG-05")]
    public void A_generated_image_boots_in_Bochs_and_the_adapter_gives_its_verdict()
    {
        string? bochs = FindBochs();
        if (bochs is null)
        {
            EmulatorRuns.AssertAbsentOutsideCiAndNamed("fred-bochs-dut.dll", "--bochs", "bochs", "bochs");
            return;
        }
        string? cpu = Environment.GetEnvironmentVariable("FRED_BOCHS_CPU") is { Length: > 0 } c ? c : null;
        var settings = Fred.Bochs.BochsSetup.Resolve(bochs, null, null, cpu, null, false, 120_000, null, (m, _) => throw new Xunit.Sdk.XunitException(m));
        var realized = EmulatorRuns.Twenty();
        var run = Fred.Bochs.BochsRunner.Boot(settings, ImageBuilder.Build(realized));
        Assert.True(run.Output.Started, $"the image did not start: {run.Why()}");
        Assert.Empty(run.Output.Problems);
        if (run.Output.NoFred)
        {
            // The whole path to the verdict: the adapter refuses to start, and fred-conform says why.
            var (probe, pout, _) = EmulatorRuns.Run("fred-bochs-dut.dll", "--bochs", bochs, "--probe");
            Assert.Equal(3, probe);
            Assert.Contains("no FRED", pout);
            var (code, _, err) = EmulatorRuns.Run("fred-conform.dll", "run", "--dut", $"bochs:--bochs {bochs}", "--count", "5", "--quiet");
            Assert.Equal(2, code);
            Assert.Contains("has no FRED", err);
        }
        else
        {
            EmulatorRuns.AssertRanEvery(run, realized);
            EmulatorRuns.AssertTripleFaultIsAShutdownAndTheRestRun(Fred.Bochs.BochsRunner.Emulator(settings));
        }
    }

    [Theory]
    [InlineData("echo 'some banner'; echo 'D 12 zz'; exit 1", "did not run the image (exit 1)")]
    [InlineData("echo FRED-IMAGE 1; sleep 30", "timed out")]
    [InlineData("echo FRED-IMAGE 1; echo NOFRED; exit 1", "has no FRED")]
    [Trait("Rule", "FRED-IMG-05")]
    public void A_Bochs_that_prints_garbage_hangs_or_lacks_FRED_gets_a_clear_verdict(string script, string verdict)
    {
        if (OperatingSystem.IsWindows()) return;   // the fake Bochs is a shell script
        string fake = EmulatorRuns.Fake("bochs", script);
        var (code, _, err) = EmulatorRuns.Run("fred-bochs-dut.dll", "--bochs", fake, "--bios", fake, "--vgabios", fake, "--boot-timeout-ms", "1500");
        Assert.NotEqual(0, code);
        Assert.Contains(verdict, err);
    }
}

