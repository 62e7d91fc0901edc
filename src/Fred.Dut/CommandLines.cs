using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;
using System.Globalization;

namespace Fred.Dut;

/// <summary>
/// What the command lines of Fred's programs (fred-conform, fred-model-dut, fred-bochs-dut, fred-qemu-dut) share, on
/// System.CommandLine: <c>-h/--help</c> on every command with the exit statuses at its end, <c>--version</c>, response
/// files (<c>@FILE</c>), <c>--</c> to end options, the <c>[suggest]</c> directive for dotnet-suggest, and a bad command
/// line answered on standard error with the problem and the usage, exit status 2.
/// </summary>
public static class CommandLines
{
    /// <summary>The exit status of a command line that cannot be used.</summary>
    public const int UsageStatus = 2;

    /// <summary>
    /// A root command whose help (on it and on every subcommand) ends with the exit statuses: those given for a command
    /// in <paramref name="exitStatus"/>, else the root's.
    /// </summary>
    public static RootCommand Root(string description, Func<Command, string> exitStatus)
    {
        // One paragraph: the help wraps it to the reader's width.
        var root = new RootCommand(description.ReplaceLineEndings(" "));
        var help = root.Options.OfType<HelpOption>().Single();
        help.Action = new HelpWithExitStatus((HelpAction)help.Action!, exitStatus);
        return root;
    }

    /// <summary>
    /// Parses and runs a command line. A command line that cannot be used (an unknown option or command, a bad value, a
    /// missing argument, an option-like word among the files before <c>--</c>) gets the problem and the usage on standard
    /// error and exit status 2; everything else is the chosen command's own exit status.
    /// </summary>
    public static int Invoke(RootCommand root, IReadOnlyList<string> args)
    {
        var parse = root.Parse(args);
        var toStderr = new InvocationConfiguration { Output = Console.Error, Error = Console.Error, EnableDefaultExceptionHandler = false };
        if (parse.Action is ParseErrorAction)
        {
            parse.Invoke(toStderr);
            return UsageStatus;
        }
        if (StrayOption(parse) is { } stray)
        {
            Console.Error.WriteLine($"Unrecognized option '{stray}' (put -- before a file whose name starts with -).");
            Console.Error.WriteLine();
            root.Parse([.. CommandPath(parse.CommandResult), "--help"]).Invoke(toStderr);
            return UsageStatus;
        }
        return parse.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
    }

    /// <summary>
    /// A word that looks like an option but was taken as a positional argument (System.CommandLine takes an unknown
    /// option as an argument of a command with a variable number of arguments), unless it came after <c>--</c>.
    /// </summary>
    static string? StrayOption(ParseResult parse)
    {
        var tokens = parse.Tokens.ToList();
        int end = tokens.FindIndex(t => t.Type == TokenType.DoubleDash);
        foreach (var argument in parse.CommandResult.Command.Arguments)
        {
            if (parse.GetResult(argument) is not { } result) continue;
            foreach (var token in result.Tokens)
            {
                int at = tokens.IndexOf(token);
                if (token.Value.Length > 1 && token.Value[0] == '-' && (end < 0 || at < end)) return token.Value;
            }
        }
        return null;
    }

    static IEnumerable<string> CommandPath(CommandResult? c)
    {
        var names = new Stack<string>();
        for (; c?.Parent is CommandResult parent; c = parent) names.Push(c.Command.Name);
        return names;
    }

    /// <summary>An integer option from <paramref name="min"/> to <paramref name="max"/>, with a default.</summary>
    public static Option<int> Int(string name, string description, int fallback, int min, int max = int.MaxValue) => new(name)
    {
        Description = description,
        HelpName = "N",
        DefaultValueFactory = _ => fallback,
        CustomParser = r =>
        {
            string v = r.Tokens.Single().Value;
            if (int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n >= min && n <= max) return n;
            r.AddError($"{name}: expected a whole number from {min} to {max}, found \"{v}\"");
            return fallback;
        },
    };

    /// <summary>A 64-bit option, decimal or 0x hex; null when not given.</summary>
    public static Option<ulong?> U64(string name, string description) => new(name)
    {
        Description = description,
        HelpName = "N",
        CustomParser = r =>
        {
            string v = r.Tokens.Single().Value;
            bool hex = v.StartsWith("0x", StringComparison.OrdinalIgnoreCase);
            if (ulong.TryParse(hex ? v[2..] : v, hex ? NumberStyles.AllowHexSpecifier : NumberStyles.None, CultureInfo.InvariantCulture, out var n)) return n;
            r.AddError($"{name}: expected a decimal or 0x-hex 64-bit number, found \"{v}\"");
            return null;
        },
    };

    /// <summary>A string option; null when not given.</summary>
    public static Option<string?> Text(string name, string helpName, string description) => new(name) { Description = description, HelpName = helpName };

    /// <summary>A flag.</summary>
    public static Option<bool> Flag(string name, string description) => new(name) { Description = description, Arity = ArgumentArity.Zero };

    /// <summary>The default help, then the exit statuses of the command it was asked for.</summary>
    sealed class HelpWithExitStatus(HelpAction inner, Func<Command, string> exitStatus) : SynchronousCommandLineAction
    {
        public override bool ClearsParseErrors => true;

        public override int Invoke(ParseResult parseResult)
        {
            // Help read by a program or a pager (output redirected) wraps at a readable width, not at none.
            if (Console.IsOutputRedirected || parseResult.InvocationConfiguration.Output != Console.Out) inner.MaxWidth = 110;
            int status = inner.Invoke(parseResult);
            var output = parseResult.InvocationConfiguration.Output;
            output.WriteLine("Exit status:");
            foreach (var line in exitStatus(parseResult.CommandResult.Command).Split('\n')) output.WriteLine($"  {line.TrimEnd()}");
            output.WriteLine();
            return status;
        }
    }
}
