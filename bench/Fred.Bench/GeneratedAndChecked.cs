using BenchmarkDotNet.Attributes;

namespace Fred.Bench;

/// <summary>
/// Generated-and-checked events per second, in process: generate a (state, event) case, deliver it with the model,
/// check the frame's invariants, ERET back and check the context. Target (issue): 1M events in under 30 s.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(EventsPerSecondConfig))]
public class GeneratedAndChecked
{
    /// <summary>Events per benchmark invocation; the reported mean is per event.</summary>
    public const int EventsPerInvoke = 1000;

    /// <summary>The seed every run starts from.</summary>
    public const ulong Seed = 0x0F12_ED00_2024_0005;

    Xorshift generator;

    /// <summary>Starts from the fixed seed.</summary>
    [GlobalSetup]
    public void Setup() => generator = Xorshift.FromSeed(Seed);

    /// <summary>EventsPerInvoke generated and checked events; a failing check makes the run throw.</summary>
    [Benchmark(OperationsPerInvoke = EventsPerInvoke)]
    public long Events()
    {
        var (failures, next) = Generated.Run(generator, EventsPerInvoke);
        generator = next;
        return failures == 0 ? failures : throw new InvalidOperationException($"{failures} generated events failed their checks");
    }
}
