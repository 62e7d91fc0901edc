using System.Globalization;

namespace Fred.Image;

/// <summary>What the harness saw at one event: the stub that ran and the machine state in the handler.</summary>
/// <param name="Letter">D: the case's first event; R: the event after the harness's ERET; X: an event while loading the case.</param>
/// <param name="Index">The case's index in the image.</param>
/// <param name="Fields">The <see cref="Harness.ObsFields"/> quadwords in the order of <see cref="ObsField"/>.</param>
public sealed record Observation(char Letter, ulong Index, ulong[] Fields)
{
    public ulong this[ObsField f] => Fields[(int)f];
    /// <summary>A frame slot, 0..7 (error code, RIP, CS word, RFLAGS, RSP, SS word, event data, reserved).</summary>
    public ulong Frame(int slot) => Fields[(int)ObsField.Frame0 + slot];
}

/// <summary>The fields of an observation line, in order.</summary>
public enum ObsField
{
    /// <summary>0: the ring-3 entry stub ran (CONFIG base); 1: the ring-0 stub (+256).</summary>
    EntryKind, Rsp, Rflags, Cs, Ss, Rax, Rcx, R11, GsBase, KernelGsBase, Cr2, FredConfig, Frame0,
}

/// <summary>Everything an image printed, parsed.</summary>
/// <param name="Started">The harness printed its banner.</param>
/// <param name="NoFred">The processor reports no FRED (CPUID.(7,1):EAX[17] = 0).</param>
/// <param name="Finished">The harness printed END: every case ran.</param>
/// <param name="Begun">Case indices whose B line appeared, in order.</param>
/// <param name="Ended">Case indices whose E line appeared.</param>
/// <param name="Observations">Observation lines by case index.</param>
/// <param name="Problems">Lines that looked like the harness's but did not parse or failed their checksum, with line numbers.</param>
/// <param name="BootError">The BIOS could not load the image.</param>
/// <param name="Reset">The processor was reset (a triple fault) and the image started again.</param>
public sealed record ImageOutput(bool Started, bool NoFred, bool Finished, IReadOnlyList<ulong> Begun, IReadOnlySet<ulong> Ended,
    IReadOnlyDictionary<ulong, IReadOnlyList<Observation>> Observations, IReadOnlyList<string> Problems, string? BootError, bool Reset = false)
{
    /// <summary>Parses the emulator's console output; lines that are not the harness's are ignored.</summary>
    public static ImageOutput Parse(string text)
    {
        bool started = false, noFred = false, finished = false, reset = false;
        string? bootError = null;
        var begun = new List<ulong>();
        var ended = new HashSet<ulong>();
        var obs = new Dictionary<ulong, List<Observation>>();
        var problems = new List<string>();
        int lineNo = 0;
        foreach (var raw in text.Split('\n'))
        {
            lineNo++;
            string line = raw.TrimEnd('\r');
            // The harness's lines may follow other console output on the same line; take the harness's part.
            int at = line.IndexOf("FRED-IMAGE ", StringComparison.Ordinal);
            if (at >= 0) { started = true; continue; }
            if (line.EndsWith("NOFRED", StringComparison.Ordinal)) { noFred = true; continue; }
            if (line.EndsWith("BOOT-ERROR", StringComparison.Ordinal) || line.EndsWith("LOAD-ERROR", StringComparison.Ordinal)) { bootError = line.Trim(); continue; }
            if (line == "END") { finished = true; continue; }
            if (line.EndsWith("RESET", StringComparison.Ordinal)) { reset = true; continue; }
            if (line.Length < 2 || line[1] != ' ' || "BEDRX".IndexOf(line[0]) < 0) continue;
            var parts = line[2..].Split(' ');
            if (!parts.All(IsHex16)) { problems.Add($"output line {lineNo}: not hex fields: {Clip(line)}"); continue; }
            var values = parts.Select(p => ulong.Parse(p, NumberStyles.HexNumber, CultureInfo.InvariantCulture)).ToArray();
            switch (line[0])
            {
                case 'B' or 'E' when values.Length == 1:
                    (line[0] == 'B' ? (Action<ulong>)begun.Add : i => ended.Add(i))(values[0]);
                    break;
                case 'D' or 'R' or 'X' when values.Length == Harness.ObsFields + 2:
                    ulong sum = 0;
                    for (int i = 0; i < values.Length - 1; i++) sum += values[i];
                    if (sum != values[^1]) { problems.Add($"output line {lineNo}: checksum 0x{values[^1]:x16} does not match the fields (0x{sum:x16}): {Clip(line)}"); break; }
                    if (!obs.TryGetValue(values[0], out var list)) obs[values[0]] = list = [];
                    list.Add(new Observation(line[0], values[0], values[1..^1]));
                    break;
                default:
                    problems.Add($"output line {lineNo}: wrong number of fields for '{line[0]}': {Clip(line)}");
                    break;
            }
        }
        return new ImageOutput(started, noFred, finished, begun, ended,
            obs.ToDictionary(k => k.Key, v => (IReadOnlyList<Observation>)v.Value), problems, bootError, reset);
    }

    /// <summary>A line after which the harness prints nothing more (END, NOFRED, RESET, or a boot error): it then
    /// writes to the shutdown port and halts, so an emulator that ignores that port can be stopped here.</summary>
    public static bool IsLast(string line)
    {
        line = line.TrimEnd('\r');
        return line == "END" || line.EndsWith("NOFRED", StringComparison.Ordinal) || line.EndsWith("RESET", StringComparison.Ordinal)
            || line.EndsWith("BOOT-ERROR", StringComparison.Ordinal) || line.EndsWith("LOAD-ERROR", StringComparison.Ordinal);
    }

    static bool IsHex16(string s) => s.Length == 16 && s.All(Uri.IsHexDigit);
    static string Clip(string s) => s.Length <= 120 ? s : s[..117] + "...";
}
