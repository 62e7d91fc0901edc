using Fred.Dut;
using Fred.Generators;
using Fred.Image;
using Fred.Model;

namespace Fred.Conformance.Image;

/// <summary>What the tests of the emulator adapters share: running the shipped programs, fake emulators, and the cases they boot.</summary>
static class EmulatorRuns
{
    /// <summary>Runs a program shipped next to the tests (<c>fred-conform.dll</c>, an adapter) with no input; its status and output.</summary>
    public static (int Code, string Out, string Err) Run(string dll, params string[] args) => Support.ShippedPrograms.Run(dll, args);

    /// <summary>
    /// Where no emulator is installed (allowed outside CI only; .ci/run installs Debian's), the adapter at least names
    /// a missing binary: <c>ADAPTER --OPTION /nonexistent/NAME --probe</c> exits 2 and says it does not exist.
    /// </summary>
    public static void AssertAbsentOutsideCiAndNamed(string adapterDll, string option, string name, string package)
    {
        Assert.True(Environment.GetEnvironmentVariable("CI") is null, $"CI must have {name} (.ci/run installs Debian's {package})");
        var (code, _, err) = Run(adapterDll, option, $"/nonexistent/{name}", "--probe");
        Assert.Equal(2, code);
        Assert.Contains($"/nonexistent/{name} does not exist", err);
    }

    /// <summary>An executable shell script standing in for an emulator.</summary>
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public static string Fake(string name, string script)
    {
        string fake = Path.Combine(Directory.CreateTempSubdirectory($"fake-{name}-").FullName, name);
        File.WriteAllText(fake, "#!/bin/sh\n" + script + "\n");
        File.SetUnixFileMode(fake, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return fake;
    }

    /// <summary>Twenty generated real-event cases the image can raise (64-bit only, seed 11).</summary>
    public static Realized[] Twenty()
    {
        var shape = new Arbitraries.DutShape([Revision.Fred5], Cet: false, Compat: false, RealEvents: true);
        var realized = Enumerable.Range(0, 40).Select(i => CaseRealizer.Realize(Campaign.Generate(shape, 11, i)).Case).OfType<Realized>().Take(20).ToArray();
        Assert.Equal(20, realized.Length);
        return realized;
    }

    /// <summary>On a processor with FRED: the image ran every case to its end and printed an observation for each.</summary>
    public static void AssertRanEvery(BootRun run, IReadOnlyList<Realized> realized)
    {
        Assert.True(run.Output.Finished, $"the image did not finish: {run.Why()}");
        Assert.Equal(realized.Select(r => (ulong)r.Case.Id).ToHashSet(), run.Output.Ended.ToHashSet());
        Assert.All(realized, r => Assert.True(run.Output.Observations.ContainsKey((ulong)r.Case.Id)));
    }

    /// <summary>INT3 from ring 3; a #UD from ring 3 whose delivery finds RSP0 unmapped (a triple fault); INT 0x80 from ring 3.</summary>
    public static DutCase[] TripleFaultBatch()
    {
        var user = World.User() with { Rip = World.ImageUserCode + 0x10, Rsp = World.UserStackBase + 0x800, GsBase = 0, KernelGsBase = 0 };
        var doomed = user with { Fred = user.Fred with { Rsp0 = 0x0000_6000_0000_0000, StackLevels = new StackLevels(0) } };
        var batch = new[] { new DutCase(1, user, [new ExecuteStep([0xCC])]), new DutCase(2, doomed, [new ExecuteStep([0x0F, 0x0B])]),
            new DutCase(3, user, [new ExecuteStep([0xCD, 0x80])]) };
        Assert.Equal(OutcomeKind.Shutdown, CaseRunner.Run(CaseRunner.Model, batch[1]).Steps[^1].Outcome.Kind);
        return batch;
    }

    /// <summary>A triple fault in the middle of a batch: that case is a shutdown, and the cases after it still run.</summary>
    public static void AssertTripleFaultIsAShutdownAndTheRestRun(ImageEmulator emulator)
    {
        var results = BatchRunner.Run(emulator, TripleFaultBatch(), TextWriter.Null).Select(x => x.Item2).ToArray();
        Assert.Equal(OutcomeKind.Delivered, Assert.IsType<Answered>(results[0]).Steps[0].Outcome.Kind);
        Assert.Equal(OutcomeKind.Shutdown, Assert.IsType<Answered>(results[1]).Steps[0].Outcome.Kind);
        Assert.Equal(OutcomeKind.Delivered, Assert.IsType<Answered>(results[2]).Steps[0].Outcome.Kind);
    }
}
