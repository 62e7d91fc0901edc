using System.Text;
using System.Text.RegularExpressions;

namespace Fred.Reference;

/// <summary>One row of a dispatch table: a ring, an event type, a run of vectors (and the 64-bit bit where it matters) with one trace.</summary>
public readonly record struct DispatchRow(bool FromUser, int Type, int FirstVector, int LastVector, bool? L, string Trace, Fate Fate)
{
    /// <summary>The vectors as text: "0x10" or "0x16-0x1f".</summary>
    public string Vectors => FirstVector == LastVector ? $"0x{FirstVector:x2}" : $"0x{FirstVector:x2}-0x{LastVector:x2}";

    /// <inheritdoc/>
    public override string ToString() =>
        $"{(FromUser ? "user" : "kernel")} type {Type} vector {Vectors}{(L is { } l ? (l ? " 64-bit" : " compat") : "")}: {Fate}: {Trace}";
}

/// <summary>
/// The full dispatch table of a profile (type x vector x ring, for one configuration), with runs of vectors that
/// dispatch alike folded into one row. Vector-dependent arguments are written as "v" so runs fold.
/// </summary>
public static partial class DispatchTable
{
    /// <summary>Every row for a profile and configuration, at stack level 0 with error code 0.</summary>
    public static IReadOnlyList<DispatchRow> Build(Profile profile, KernelConfig config)
    {
        var rows = new List<DispatchRow>();
        foreach (bool user in new[] { true, false })
            for (int type = 0; type < 16; type++)
            {
                // The 64-bit bit only changes SYSCALL/SYSENTER dispatch; split type 7 by it, fold it elsewhere.
                foreach (bool? l in type == 7 && user ? new bool?[] { true, false } : new bool?[] { null })
                {
                    DispatchRow? open = null;
                    for (int v = 0; v < 256; v++)
                    {
                        var r = Dispatcher.Dispatch(profile, Regs(type, v, user, l ?? true), user, config);
                        string trace = Symbolic(r.TraceText, v, config);
                        if (open is { } o && o.Trace == trace && o.Fate == r.Fate) { open = o with { LastVector = v }; continue; }
                        if (open is { } done) rows.Add(done);
                        open = new DispatchRow(user, type, v, v, l, trace, r.Fate);
                    }
                    rows.Add(open!.Value);
                }
            }
        return rows;
    }

    /// <summary>pt_regs for a table cell: CS/SS of the ring, error code 0, stack level 0, instruction length 2, ax 0.</summary>
    public static PtRegs Regs(int type, int vector, bool user, bool l)
    {
        ulong cs = user ? 0x33UL : 0x10UL;
        ulong ss = (user ? 0x2BUL : 0x18UL) | ((ulong)vector << 32) | ((ulong)type << 48) | (l ? 1UL << 57 : 0) | (2UL << 60);
        return new PtRegs(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x1000, cs, 0x202, 0x7FFF_0000, ss, 0);
    }

    /// <summary>Replaces the vector's own value in arguments with "v" (and v - FIRST_SYSTEM_VECTOR with "v-FIRST").</summary>
    static string Symbolic(string trace, int vector, KernelConfig config)
    {
        // Only the vector-indexed tables: the RFC's 32-entry exception table and mainline's sysvec_table.
        trace = trace.Replace($"array_index_nospec({vector}, 32)", "array_index_nospec(v, 32)");
        if (vector >= config.FirstSystemVector)
            trace = trace.Replace($"array_index_nospec({vector - config.FirstSystemVector}, {config.SystemVectorCount})",
                $"array_index_nospec(v-FIRST, {config.SystemVectorCount})");
        trace = trace.Replace($"(regs, 0x{vector:x})", "(regs, v)");
        return VectorInMessage().Replace(trace, $"vector v ");
    }

    [GeneratedRegex(@"vector \d+ ")]
    private static partial Regex VectorInMessage();

    /// <summary>What a dispatch amounts to, for comparing profiles: the handlers reached, the fate, and the pt_regs changes.</summary>
    public static string Summary(DispatchResult r, PtRegs before)
    {
        var handlers = r.Trace.Select(c => c.Function)
            .Where(f => f.StartsWith("exc_") || f.StartsWith("do_") || f.StartsWith("fred_exc_") || f.StartsWith("fred_sysvec_")
                        || f is "spurious_interrupt" or "common_interrupt" or "external_interrupt" or "fred_int80_emulation" or "WARN_ON_ONCE")
            .Select(f => f.StartsWith("fred_exc_") && r.Trace.Any(c => c.Function == f[5..]) ? null : f)
            .Where(f => f is not null).ToList();
        var changes = new List<string>();
        if (r.Regs.Ip != before.Ip) changes.Add($"ip-={before.Ip - r.Regs.Ip}");
        if (r.Regs.Type != before.Type) changes.Add($"type:={r.Regs.Type}");
        if (r.Regs.Vector != before.Vector) changes.Add($"vector:={r.Regs.Vector}");
        if (r.Regs.Ax != before.Ax) changes.Add("ax:=-ENOSYS");
        string handler = handlers.Count == 0 ? "-" : string.Join(", ", handlers);
        return r.Fate is Fate.Handled ? $"{handler}{(changes.Count > 0 ? $" [{string.Join(" ", changes)}]" : "")}" : $"{r.Fate} via {(r.Trace.Any(c => c.Function == "fred_bad_type") ? "fred_bad_type" : r.Trace.Any(c => c.Function == "fred_bad_event") ? "fred_bad_event" : handler)}";
    }

    /// <summary>The Markdown table of every (ring, type, vector run) where the RFC and mainline profiles differ in effect.</summary>
    public static string DifferencesMarkdown(KernelConfig config)
    {
        var sb = new StringBuilder();
        sb.AppendLine("<!-- Generated by Fred.Reference.DispatchTable.DifferencesMarkdown; do not edit by hand.");
        sb.AppendLine("     Regenerate: FRED_UPDATE_SPEC=1 dotnet test --filter Rule=FRED-KRN-15 -->");
        sb.AppendLine("# Dispatch differences: Rfc2022 against Mainline");
        sb.AppendLine();
        sb.AppendLine($"Configuration: `{config}`. Stack level 0, error code 0, instruction length 2, 64-bit unless stated.");
        sb.AppendLine("Each row is a run of vectors where both profiles behave the same within the run but differently from each other:");
        sb.AppendLine("the handlers reached (IDT handlers by their kernel names), changes dispatch makes to pt_regs, or a fatal fate.");
        sb.AppendLine("Rule FRED-KRN-15 (spec/12-kernel-dispatch.md) keeps this file equal to what the reference computes.");
        sb.AppendLine();
        sb.AppendLine("| ring | type | vectors | mode | Rfc2022 | Mainline |");
        sb.AppendLine("|---|---|---|---|---|---|");
        int rows = 0;
        foreach (bool user in new[] { true, false })
            for (int type = 0; type < 16; type++)
                foreach (bool? l in type == 7 && user ? new bool?[] { true, false } : new bool?[] { null })
                {
                    (int First, int Last, string Rfc, string Main)? open = null;
                    void Flush()
                    {
                        if (open is not { } o || o.Rfc == o.Main) return;
                        string vs = o.First == o.Last ? $"0x{o.First:x2}" : $"0x{o.First:x2}-0x{o.Last:x2}";
                        sb.AppendLine($"| {(user ? "user" : "kernel")} | {type} | {vs} | {(l is { } b ? (b ? "64-bit" : "compat") : "")} | {o.Rfc} | {o.Main} |");
                        rows++;
                    }
                    for (int v = 0; v < 256; v++)
                    {
                        var regs = Regs(type, v, user, l ?? true);
                        string rfc = Summary(Rfc2022Dispatch.Dispatch(regs, user, config), regs);
                        string main = Summary(MainlineDispatch.Dispatch(regs, user, config), regs);
                        if (open is { } o && o.Rfc == rfc && o.Main == main) { open = o with { Last = v }; continue; }
                        Flush();
                        open = (v, v, rfc, main);
                    }
                    Flush();
                }
        sb.AppendLine();
        sb.AppendLine($"{rows} rows.");
        return sb.ToString();
    }
}
