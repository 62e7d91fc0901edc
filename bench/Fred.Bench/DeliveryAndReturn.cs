using BenchmarkDotNet.Attributes;
using Fred.Model;

namespace Fred.Bench;

/// <summary>
/// One event through the model: Delivery.Deliver and the ERET back, per event. Target (issue): at most 50 ns and
/// no allocation per event.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(EventsPerSecondConfig))]
public class DeliveryAndReturn
{
    MachineState user, kernel;
    readonly Event syscall = new(EventType.Other, Vector.Syscall, InstructionLength: 2);
    readonly Event timer = Event.Interrupt(0xEC);
    readonly Event pageFault = Event.PageFault(0x6, 0x0000_7FFF_DEAD_BEEF);

    /// <summary>The contexts; every round trip is checked once here so a broken model cannot be timed.</summary>
    [GlobalSetup]
    public void Setup()
    {
        user = BenchWorld.User(Revision.Fred5);
        kernel = BenchWorld.Kernel(Revision.Fred5);
        foreach (var (s, e) in new[] { (user, syscall), (kernel, timer), (user, pageFault) })
            if (Generated.Check(s, e) != Verdict.Ok)
                throw new InvalidOperationException($"round trip of {e} failed: {Generated.Check(s, e)}");
    }

    /// <summary>SYSCALL from ring 3 (stack switch to RSP0), ERETU back.</summary>
    [Benchmark]
    public MachineState SyscallFromRing3Eretu() => RoundTrip.Run(user, syscall).Returned.State;

    /// <summary>External interrupt in ring 0 (same stack, below the red zone), ERETS back.</summary>
    [Benchmark]
    public MachineState InterruptInRing0Erets() => RoundTrip.Run(kernel, timer).Returned.State;

    /// <summary>#PF from ring 3 with its error code and the faulting address as event data (CR2 written), ERETU back.</summary>
    [Benchmark]
    public MachineState PageFaultFromRing3Eretu() => RoundTrip.Run(user, pageFault).Returned.State;
}
