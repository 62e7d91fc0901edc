using BenchmarkDotNet.Running;
using Fred.Bench;

// `-- throughput`: a quick sanity run of 1M generated-and-checked events outside BenchmarkDotNet, timed with the
// millisecond tick counter. `-- protocol [COUNT [BATCH]]`: a campaign's phases against the model DUT timed apart
// (default 20,000 cases of seed 3 in batches of 1,000). Anything else goes to BenchmarkDotNet's switcher (`-- --filter '*'`, `--job short`, ...).
if (args is ["throughput", ..])
{
    const int Events = 1_000_000;
    long start = Environment.TickCount64;
    var (failures, _) = Generated.Run(Xorshift.FromSeed(GeneratedAndChecked.Seed), Events);
    long ms = Math.Max(1, Environment.TickCount64 - start);
    Console.WriteLine($"{Events:N0} generated-and-checked events in {ms:N0} ms: {Events * 1000L / ms:N0} events/s, {failures} failed");
    return failures == 0 ? 0 : 1;
}
if (args is ["protocol", ..])
    return ProtocolProbe.Run(args.Length > 1 ? int.Parse(args[1]) : 20_000, args.Length > 2 ? int.Parse(args[2]) : 1000, ProtocolCorpus.Seed);
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;
