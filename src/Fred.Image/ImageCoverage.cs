using Fred.Dut;
using Fred.Model;

namespace Fred.Image;

/// <summary>
/// What a set of realized cases reaches: how many cases raise each event, and how many exercise each spec rule
/// (<see cref="Campaign.Exercised"/> over the model's answers), so a user sees which rules a boot image can check.
/// </summary>
public static class ImageCoverage
{
    /// <summary>Realized cases per spec rule, for every rule of the spec (0 for a rule no case reaches), in spec order.</summary>
    public static IReadOnlyList<(string Rule, int Cases)> Rules(IEnumerable<Realized> realized)
    {
        var counts = new Dictionary<string, int>();
        foreach (var r in realized)
            foreach (var rule in Campaign.Exercised(r.Case, CaseRunner.Run(CaseRunner.Model, r.Case)))
                counts[rule] = counts.GetValueOrDefault(rule) + 1;
        return [.. SpecRules.All.Select(s => (s.Id, counts.GetValueOrDefault(s.Id)))];
    }

    /// <summary>
    /// The rules a boot image cannot observe, each with its reason: the rows of the table after the heading
    /// "Rules a boot image cannot observe" in spec/image-format.md (FRED-IMG-04), whose first cell names one or more
    /// rule ids and whose second cell gives the reason.
    /// </summary>
    public static IReadOnlyDictionary<string, string> Unobservable()
    {
        var result = new Dictionary<string, string>();
        string text = SpecRules.Text("image-format.md") ?? throw new InvalidOperationException("spec/image-format.md is not built in");
        int at = text.IndexOf("#### Rules a boot image cannot observe", StringComparison.Ordinal);
        if (at < 0) throw new InvalidOperationException("spec/image-format.md has no table \"Rules a boot image cannot observe\"");
        foreach (var line in text[at..].Split('\n').Skip(1).SkipWhile(l => !l.StartsWith('|')).TakeWhile(l => l.StartsWith('|')))
        {
            var cells = line.Split('|');
            if (cells.Length < 4) continue;
            // "FRED-KRN-01 ... FRED-KRN-16" names the range; other ids stand for themselves.
            foreach (System.Text.RegularExpressions.Match m in System.Text.RegularExpressions.Regex.Matches(cells[1], @"(FRED-[A-Z]+-)(\d\d)(?: \.\.\. \1(\d\d))?"))
            {
                int from = int.Parse(m.Groups[2].Value), to = m.Groups[3].Success ? int.Parse(m.Groups[3].Value) : from;
                for (int n = from; n <= to; n++) result[$"{m.Groups[1].Value}{n:D2}"] = cells[2].Trim();
            }
        }
        return result;
    }

    /// <summary>Realized cases per first event, by name ("#PF", "external interrupt", "INT n", "ERETS"), most frequent first.</summary>
    public static IReadOnlyList<(string Event, int Cases)> Events(IEnumerable<Realized> realized) =>
        [.. realized.GroupBy(r => EventName(r.Case.Initial, r.Case.Steps[0])).Select(g => (g.Key, g.Count()))
            .OrderByDescending(e => e.Item2).ThenBy(e => e.Key, StringComparer.Ordinal)];

    /// <summary>The name of the event a first step raises.</summary>
    public static string EventName(MachineState s, Step step) => step switch
    {
        DeliverStep { Event: var e } => Name(e),
        ExecuteStep { Bytes: var b } => EventInstructions.Execute(s, b).Outcome is { Kind: OutcomeKind.Delivered } o
            ? Name(o.Event) + " (instruction)" : "INTO (raises nothing)",
        EretuStep => "ERETU",
        EretsStep => "ERETS",
        WrmsrStep { Msr: var m } => $"WRMSR {Msr.Name(m)}",
        MovCr4Step => "MOV CR4",
        _ => step.GetType().Name,
    };

    static string Name(Event e) => e.Type switch
    {
        EventType.HardwareException when e.Vector == Vector.DB => (e.EventData & Event.DebugEventDataMask) switch
        {
            Event.DebugSingleStep => "#DB (single step)",
            CaseEvents.Bd => "#DB (general detect)",
            var d when (d & 3) != 0 => "#DB (instruction breakpoint)",
            var d when (d & Event.DebugSingleStep) != 0 => "#DB (data breakpoint and single step)",
            _ => "#DB (data breakpoint)",
        },
        EventType.HardwareException => Vector.Name(e.Vector),
        EventType.ExternalInterrupt => "external interrupt",
        EventType.Nmi => "NMI",
        EventType.SoftwareInterrupt => "INT n",
        EventType.PrivilegedSoftwareException => "INT1",
        EventType.SoftwareException => e.Vector == Vector.OF ? "INTO" : "INT3",
        EventType.Other => e.Vector == Vector.Syscall ? "SYSCALL" : "SYSENTER",
        _ => $"type {(int)e.Type} vector {e.Vector}",
    };
}
