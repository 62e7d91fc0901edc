using System.Diagnostics;
using System.Globalization;
using Fred.Dut;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Fred.Cli;

/// <summary>
/// How a campaign shows its progress: on a terminal (standard output not redirected, no <c>--quiet</c>) a live
/// Spectre.Console bar with cases done, agreed/failed/broken/declined, rate and time left, and the per-rule table drawn
/// as a table at the end; otherwise plain progress lines on standard error every two seconds (none with <c>--quiet</c>)
/// and the plain report, as scripts, tests and CI read it.
/// </summary>
public static class LiveProgress
{
    /// <summary>True when the live display is drawn: standard output is a terminal that Spectre.Console can drive.</summary>
    public static bool OnTerminal => !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;

    /// <summary>Runs <paramref name="campaign"/>, which reports its progress to the callback it is given, under the right display.</summary>
    public static T Show<T>(bool quiet, int total, Func<Action<CampaignProgress>, T> campaign)
    {
        if (quiet) return campaign(_ => { });
        if (!OnTerminal)
        {
            var lastPrint = Stopwatch.StartNew();
            return campaign(p => PlainLine(lastPrint, p));
        }
        return AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new CountColumn(), new PercentageColumn(), new RateColumn(),
                new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask(Describe(new CampaignProgress(0, total, 0, 0, TimeSpan.Zero)), maxValue: total);
                var result = campaign(p =>
                {
                    task.Description = Describe(p);
                    task.Value = p.Done;
                });
                task.Value = task.MaxValue;
                task.StopTask();
                return result;
            });
    }

    static string Describe(CampaignProgress p) =>
        $"[green]{p.Agreed} agreed[/]  [{(p.Failed > 0 ? "red" : "grey")}]{p.Failed} failed[/]  [{(p.Broken > 0 ? "yellow" : "grey")}]{p.Broken} broken[/]" +
        (p.Declined > 0 ? $"  [grey]{p.Declined} declined[/]" : "");

    static void PlainLine(Stopwatch lastPrint, CampaignProgress p)
    {
        if (lastPrint.Elapsed.TotalSeconds < 2 && p.Done < p.Total) return;
        lastPrint.Restart();
        Console.Error.WriteLine($"  [{p.Done}/{p.Total}] {100.0 * p.Done / p.Total:0.0}%  {p.Failed} disagreed, {p.Broken} broke, {p.Done / Math.Max(p.Elapsed.TotalSeconds, 1e-3):N0} cases/s");
    }

    /// <summary>
    /// The per-rule table of the text report: on a terminal a Spectre.Console table (failing rules in red), rendered
    /// to text with the terminal's colours and width; otherwise the plain table of <see cref="Reports.RuleTable"/>.
    /// </summary>
    public static string RuleTable(IReadOnlyList<RuleTally> byRule)
    {
        if (!OnTerminal) return Reports.RuleTable(byRule);
        var table = new Table().Border(TableBorder.Rounded)
            .AddColumn("rule").AddColumn(new TableColumn("cases").RightAligned()).AddColumn(new TableColumn("passed").RightAligned())
            .AddColumn(new TableColumn("failed").RightAligned()).AddColumn("title");
        foreach (var t in byRule)
        {
            string style = t.Failures > 0 ? "red" : "default";
            table.AddRow($"[{style}]{Markup.Escape(t.Rule)}[/]", N(t.Cases), N(t.Cases - t.Failures), $"[{style}]{N(t.Failures)}[/]",
                Markup.Escape(SpecRules.Title(t.Rule)));
        }
        var text = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(text),
            Ansi = AnsiSupport.Yes,
            ColorSystem = (ColorSystemSupport)AnsiConsole.Profile.Capabilities.ColorSystem,
        });
        console.Profile.Width = AnsiConsole.Profile.Width;
        console.Write(table);
        return text.ToString();
    }

    static string N(int n) => n.ToString(CultureInfo.InvariantCulture);

    /// <summary>Cases done of the total.</summary>
    sealed class CountColumn : ProgressColumn
    {
        public override IRenderable Render(RenderOptions options, ProgressTask task, TimeSpan deltaTime) =>
            new Text($"{task.Value:0}/{task.MaxValue:0}");
    }

    /// <summary>Cases per second.</summary>
    sealed class RateColumn : ProgressColumn
    {
        public override IRenderable Render(RenderOptions options, ProgressTask task, TimeSpan deltaTime) =>
            new Text(task.Speed is { } s ? $"{s:N0} cases/s" : "", new Style(Color.Grey));
    }
}
