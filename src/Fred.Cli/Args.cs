using System.Globalization;

namespace Fred.Cli;

/// <summary>A command-line mistake: the message says which option and what was wrong.</summary>
public sealed class UsageException(string message) : Exception(message);

/// <summary>The options of one command, parsed strictly: every option must be known, every value well formed.</summary>
public sealed class Args
{
    readonly Dictionary<string, string?> values = new();
    readonly Dictionary<string, List<string>> repeated = new();

    /// <summary>Positional arguments.</summary>
    public List<string> Positional { get; } = [];

    /// <summary>Parses args for a command that accepts the given value options and flags; those in <paramref name="repeatable"/> may be given more than once.</summary>
    public static Args Parse(string command, IReadOnlyList<string> args, string[] valued, string[] flags, string[]? repeatable = null)
    {
        var a = new Args();
        for (int i = 0; i < args.Count; i++)
        {
            string x = args[i];
            if (!x.StartsWith("--", StringComparison.Ordinal)) { a.Positional.Add(x); continue; }
            string name = x;
            string? inline = null;
            int eq = x.IndexOf('=');
            if (eq > 0) (name, inline) = (x[..eq], x[(eq + 1)..]);
            if (valued.Contains(name))
            {
                string v = inline ?? (i + 1 < args.Count ? args[++i] : throw new UsageException($"{command}: {name} needs a value"));
                if (!a.values.TryAdd(name, v) && repeatable?.Contains(name) != true) throw new UsageException($"{command}: {name} is given twice");
                if (!a.repeated.TryGetValue(name, out var all)) a.repeated[name] = all = [];
                all.Add(v);
            }
            else if (flags.Contains(name))
            {
                if (inline is not null) throw new UsageException($"{command}: {name} takes no value");
                a.values[name] = null;
            }
            else
                throw new UsageException($"{command}: unknown option {name} (options: {string.Join(", ", valued.Concat(flags).Order())})");
        }
        return a;
    }

    /// <summary>True when a flag or option was given.</summary>
    public bool Has(string name) => values.ContainsKey(name);

    /// <summary>Every value of an option, in the order given.</summary>
    public IReadOnlyList<string> All(string name) => repeated.TryGetValue(name, out var all) ? all : [];

    /// <summary>A string option (the first, when it may be repeated).</summary>
    public string? Get(string name) => values.GetValueOrDefault(name);

    /// <summary>An integer option within bounds.</summary>
    public int Int(string name, int fallback, int min, int max)
    {
        if (Get(name) is not { } v) return fallback;
        return int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out int r) && r >= min && r <= max
            ? r : throw new UsageException($"{name}: expected a whole number from {min} to {max}, found \"{v}\"");
    }

    /// <summary>A 64-bit option, decimal or 0x hex.</summary>
    public ulong? U64(string name)
    {
        if (Get(name) is not { } v) return null;
        bool hex = v.StartsWith("0x", StringComparison.OrdinalIgnoreCase);
        return ulong.TryParse(hex ? v[2..] : v, hex ? NumberStyles.AllowHexSpecifier : NumberStyles.None, CultureInfo.InvariantCulture, out var r)
            ? r : throw new UsageException($"{name}: expected a decimal or 0x-hex 64-bit number, found \"{v}\"");
    }
}
