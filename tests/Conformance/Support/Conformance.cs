using System.Text.RegularExpressions;
using FsCheck;
using FsCheck.Fluent;

namespace Fred.Conformance.Support;

/// <summary>A property violation: the message is the readable account of the failing case.</summary>
public sealed class ConformanceViolation(string message) : Exception(message);

/// <summary>
/// Runs FsCheck properties with the suite's settings: FRED_MAX_TEST scales every property's case count,
/// FRED_REPLAY="seed,gamma" replays a reported failure. A failure is shrunk by FsCheck and rethrown with a replay line.
/// </summary>
public static partial class Conformance
{
    /// <summary>Cases per property when FRED_MAX_TEST is not set.</summary>
    public const int DefaultCases = 500;

    /// <summary>The case count for a property with the given default.</summary>
    public static int Cases(int defaultCases = DefaultCases) =>
        int.TryParse(Environment.GetEnvironmentVariable("FRED_MAX_TEST"), out var n) && n > 0
            ? Math.Max(1, (int)((long)n * defaultCases / DefaultCases)) : defaultCases;

    /// <summary>Checks <paramref name="property"/> over <paramref name="arb"/>; the property signals failure with <see cref="Fail"/>.</summary>
    public static void Check<T>(Arbitrary<T> arb, Action<T> property, int cases = DefaultCases)
    {
        var config = Config.QuickThrowOnFailure.WithMaxTest(Cases(cases)).WithMaxRejected(Cases(cases) * 10);
        var replay = Environment.GetEnvironmentVariable("FRED_REPLAY");
        if (!string.IsNullOrWhiteSpace(replay))
        {
            var parts = replay.Split(',', StringSplitOptions.TrimEntries);
            if (parts.Length != 2 || !ulong.TryParse(parts[0], out var seed) || !ulong.TryParse(parts[1], out var gamma))
                throw new ArgumentException($"FRED_REPLAY must be \"seed,gamma\" (two unsigned integers, as printed by a failure); got \"{replay}\".");
            config = config.WithReplay(new Replay(new Rnd(seed, gamma), null));
        }
        try
        {
            global::FsCheck.Check.One(config, Prop.ForAll(arb, (T x) => { property(x); return true; }));
        }
        catch (Exception e) when (e is not ConformanceViolation)
        {
            var m = SeedPattern().Match(e.Message);
            string header = m.Success
                ? $"FRED conformance failure. Replay: FRED_REPLAY=\"{m.Groups[1].Value},{m.Groups[2].Value}\" dotnet test --filter <this test>"
                : "FRED conformance failure.";
            throw new ConformanceViolation(header + Environment.NewLine + e.Message);
        }
    }

    /// <summary>Fails the current case with a readable explanation when <paramref name="ok"/> is false.</summary>
    public static void Expect(bool ok, Func<string> explain)
    {
        if (!ok) throw new ConformanceViolation(explain());
    }

    /// <summary>Fails the current case when two values differ, naming the quantity.</summary>
    public static void ExpectEqual<TV>(TV expected, TV actual, string what, Func<string> context)
    {
        if (!EqualityComparer<TV>.Default.Equals(expected, actual))
            throw new ConformanceViolation($"{what}: expected {Show(expected)}, observed {Show(actual)}{Environment.NewLine}{context()}");
    }

    static string Show<TV>(TV v) => v switch
    {
        ulong u => $"0x{u:X}",
        uint u => $"0x{u:X}",
        ushort u => $"0x{u:X}",
        null => "null",
        _ => v.ToString() ?? "",
    };

    [GeneratedRegex(@"\((\d+),(\d+)\)")]
    private static partial Regex SeedPattern();
}
