using Fred.Model;

namespace Fred.Dut;

/// <summary>A divergence from the model that a DUT profile may declare as allowed.</summary>
/// <param name="Name">The name used in profile files.</param>
/// <param name="Meaning">What the DUT does instead.</param>
/// <param name="Effect">How Fred honours it: in the generators, in the comparator, or both.</param>
public sealed record Divergence(string Name, string Meaning, string Effect);

/// <summary>
/// A DUT profile (spec/dut-protocol.md, "Profiles"): which revisions to test and which divergences from the model are
/// allowed. Generators and comparator both honour it, and every report prints it.
/// </summary>
public sealed record DutProfile(string Name, IReadOnlyList<Revision> Revisions, IReadOnlySet<string> Allowed, string Source)
{
    /// <summary>
    /// State fields the DUT cannot observe (a boot image cannot read NMI blocking, for example): the DUT reports them
    /// unchanged and the comparator does not compare them. Set with <c>unobserved = field, field</c>.
    /// </summary>
    public IReadOnlySet<string> Unobserved { get; init; } = new HashSet<string>();

    /// <summary>No CET: generated states never enable shadow stacks or IBT; the CET registers are not compared.</summary>
    public const string NoCet = "no-cet";
    /// <summary>No compatibility mode: generated contexts are all 64-bit.</summary>
    public const string NoCompat = "no-compat";
    /// <summary>The SS word's nested bit (58) is not reported.</summary>
    public const string NestedBitNotReported = "nested-bit-not-reported";
    /// <summary>NMI event data (the NMI-source bitmap) is always 0.</summary>
    public const string NmiEventDataAbsent = "nmi-event-data-absent";
    /// <summary>#DB event data keeps only B0-B3 and BS (mask 0x400F).</summary>
    public const string DebugEventDataPartial = "db-event-data-partial";
    /// <summary>#NM event data (IA32_XFD_ERR) is always 0.</summary>
    public const string NmEventDataAbsent = "nm-event-data-absent";
    /// <summary>RFLAGS.RF after a successful ERETU/ERETS is not compared (a boot image sees it only through a later event).</summary>
    public const string RfAfterReturnUnobserved = "rf-after-return-unobserved";
    /// <summary>CR2 is not compared.</summary>
    public const string Cr2NotWritten = "cr2-not-written";
    /// <summary>Reading: the STI bit is 0 for every event but SYSCALL/SYSENTER (Bochs; FRED-FRAME-10).</summary>
    public const string StiBitClearForInterruptPath = "sti-bit-clear-for-interrupt-path";
    /// <summary>Reading: SYSCALL raises #UD when IA32_EFER.SCE is 0 (Bochs; FRED-INSN-04).</summary>
    public const string SyscallRequiresSce = "syscall-requires-sce";
    /// <summary>Reading: SYSCALL in compatibility mode is delivered (AMD; FRED-INSN-04).</summary>
    public const string SyscallInCompatDelivered = "syscall-in-compat-delivered";
    /// <summary>Reading: ERETS compares only the CS selector with the shadow-stack record (Bochs; FRED-CET-05).</summary>
    public const string EretsCsSelectorCompare = "erets-cs-selector-compare";

    /// <summary>Every divergence a profile may allow.</summary>
    public static readonly Divergence[] Known =
    [
        new(NoCet, "no CET shadow stacks or indirect-branch tracking", "generators keep CR4.CET, IA32_S_CET and IA32_U_CET clear; the comparator skips ssp, pl0_ssp, fred_ssp1..3, pl3_ssp, s_cet, u_cet, ibt_waiting"),
        new(NoCompat, "no compatibility-mode (32-bit) code", "generators make every context 64-bit"),
        new(NestedBitNotReported, "the nested bit of the SS word (bit 58) is not set", "the comparator accepts a frame whose SS word differs only in bit 58"),
        new(NmiEventDataAbsent, "NMI event data is always 0 (no NMI-source reporting)", "the comparator accepts 0 as the event data of an NMI frame"),
        new(DebugEventDataPartial, "#DB event data holds only B0-B3 and BS", "the comparator accepts the expected event data masked with 0x400F for #DB"),
        new(NmEventDataAbsent, "#NM event data is always 0 (no XFD)", "the comparator accepts 0 as the event data of a #NM frame"),
        new(Cr2NotWritten, "CR2 is not written (or not observable)", "the comparator skips cr2"),
        new(RfAfterReturnUnobserved, "RFLAGS.RF after ERETU/ERETS, or after an instruction that completes without an event, cannot be observed", "the comparator accepts rflags after a returned or completed step that differs only in RF (bit 16)"),
        new(StiBitClearForInterruptPath, "reading of FRED-FRAME-10: events other than SYSCALL/SYSENTER record no STI blocking (as Bochs)", "a case is accepted when the DUT's answers equal the model's under this reading"),
        new(SyscallRequiresSce, "reading of FRED-INSN-04: SYSCALL raises #UD when IA32_EFER.SCE is 0 (as Bochs)", "a case is accepted when the DUT's answers equal the model's under this reading"),
        new(SyscallInCompatDelivered, "reading of FRED-INSN-04: SYSCALL in compatibility mode is delivered (as AMD)", "a case is accepted when the DUT's answers equal the model's under this reading"),
        new(EretsCsSelectorCompare, "reading of FRED-CET-05: ERETS compares only the CS selector with the shadow-stack record (as Bochs)", "a case is accepted when the DUT's answers equal the model's under this reading"),
    ];

    /// <summary>The strict profile: both revisions, no divergence.</summary>
    public static DutProfile Strict { get; } = new("strict", [Revision.Fred3, Revision.Fred5], new HashSet<string>(), "built in");

    /// <summary>True when the profile allows a divergence.</summary>
    public bool Allows(string divergence) => Allowed.Contains(divergence);

    /// <summary>The profile as the reports print it.</summary>
    public override string ToString() =>
        $"{Name} (revisions {string.Join(", ", Revisions.Select(Wire.RevisionName))}; allowed: {(Allowed.Count == 0 ? "nothing" : string.Join(", ", Allowed.Order()))}" +
        (Unobserved.Count == 0 ? ")" : $"; unobserved: {string.Join(", ", Unobserved.Order())})");

    /// <summary>Reads a profile file. A malformed file gets an error naming the file, the line and the problem.</summary>
    /// <summary>
    /// The profile a counterexample file describes (the form <see cref="ToString"/> writes), or null when the text is
    /// not in that form. Files keep the description, so a replay or a regression test judges as the run did.
    /// </summary>
    public static DutProfile? FromDescription(string text)
    {
        var m = System.Text.RegularExpressions.Regex.Match(text, @"^(?<name>[^()]+) \(revisions (?<rev>[^;)]*); allowed: (?<allowed>[^;)]*)(; unobserved: (?<unobserved>[^)]*))?\)$");
        if (!m.Success) return null;
        static string[] List(string s) => s.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var lines = new List<string> { $"name = {m.Groups["name"].Value}", $"revisions = {m.Groups["rev"].Value}" };
        if (m.Groups["allowed"].Value != "nothing") lines.AddRange(List(m.Groups["allowed"].Value).Select(a => $"allow {a}"));
        if (m.Groups["unobserved"].Success) lines.Add($"unobserved = {m.Groups["unobserved"].Value}");
        try { return Parse(lines, "counterexample profile"); }
        catch (ProfileException) { return null; }
    }

    public static DutProfile Load(string path)
    {
        if (!File.Exists(path)) throw new ProfileException($"{path}: no such profile file");
        return Parse(File.ReadAllLines(path), path);
    }

    /// <summary>
    /// Parses profile text. Each line is blank, a # comment, <c>name = text</c>, <c>revisions = fred3, fred5</c>
    /// or <c>allow divergence</c> (one of <see cref="Known"/>).
    /// </summary>
    public static DutProfile Parse(IReadOnlyList<string> lines, string source)
    {
        string? name = null;
        Revision[]? revisions = null;
        var allowed = new HashSet<string>();
        HashSet<string>? unobserved = null;
        for (int i = 0; i < lines.Count; i++)
        {
            string where = $"{source}:{i + 1}";
            string line = lines[i];
            int hash = line.IndexOf('#');
            if (hash >= 0) line = line[..hash];
            line = line.Trim();
            if (line.Length == 0) continue;
            if (line.StartsWith("allow ", StringComparison.Ordinal) || line == "allow")
            {
                string d = line[5..].Trim();
                if (d.Length == 0) throw new ProfileException($"{where}: \"allow\" needs a divergence ({string.Join(", ", Known.Select(k => k.Name))})");
                if (!Known.Any(k => k.Name == d))
                    throw new ProfileException($"{where}: unknown divergence \"{d}\" (known: {string.Join(", ", Known.Select(k => k.Name))})");
                if (!allowed.Add(d)) throw new ProfileException($"{where}: \"{d}\" is allowed twice");
                continue;
            }
            int eq = line.IndexOf('=');
            if (eq < 0) throw new ProfileException($"{where}: expected \"name = ...\", \"revisions = ...\", \"unobserved = ...\" or \"allow <divergence>\", found \"{line}\"");
            string key = line[..eq].Trim(), value = line[(eq + 1)..].Trim();
            switch (key)
            {
                case "name":
                    if (name is not null) throw new ProfileException($"{where}: name is set twice");
                    if (value.Length == 0) throw new ProfileException($"{where}: name is empty");
                    name = value;
                    break;
                case "revisions":
                    if (revisions is not null) throw new ProfileException($"{where}: revisions is set twice");
                    var parts = value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
                    if (parts.Length == 0) throw new ProfileException($"{where}: revisions is empty (expected fred3, fred5 or both)");
                    revisions = parts.Select(p => p switch
                    {
                        "fred3" => Revision.Fred3,
                        "fred5" => Revision.Fred5,
                        _ => throw new ProfileException($"{where}: unknown revision \"{p}\" (expected fred3 or fred5)"),
                    }).Distinct().ToArray();
                    break;
                case "unobserved":
                    if (unobserved is not null) throw new ProfileException($"{where}: unobserved is set twice");
                    unobserved = [];
                    foreach (var f in value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
                    {
                        if (!StateFields.Names.Contains(f))
                            throw new ProfileException($"{where}: unknown state field \"{f}\" (known: {string.Join(", ", StateFields.Names)})");
                        if (!unobserved.Add(f)) throw new ProfileException($"{where}: \"{f}\" is listed twice");
                    }
                    if (unobserved.Count == 0) throw new ProfileException($"{where}: unobserved is empty (expected state field names)");
                    break;
                default:
                    throw new ProfileException($"{where}: unknown setting \"{key}\" (expected name, revisions or unobserved)");
            }
        }
        return new DutProfile(name ?? Path.GetFileNameWithoutExtension(source), revisions ?? [Revision.Fred3, Revision.Fred5], allowed, source)
        {
            Unobserved = unobserved ?? [],
        };
    }
}

/// <summary>A malformed profile: the message names the file, the line and the problem.</summary>
public sealed class ProfileException(string message) : Exception(message);
