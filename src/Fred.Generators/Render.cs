using System.Text;
using Fred.Model;
using Iced.Intel;

namespace Fred.Generators;

/// <summary>Readable renderings of failing cases: states, frames by field name, instructions disassembled with Iced.</summary>
public static class Render
{
    /// <summary>Disassembles one instruction (Intel syntax) for the given mode.</summary>
    public static string Disassemble(ReadOnlySpan<byte> bytes, bool is64BitMode, ulong rip = 0)
    {
        var decoder = Iced.Intel.Decoder.Create(is64BitMode ? 64 : 32, new ByteArrayCodeReader(bytes.ToArray()));
        decoder.IP = rip;
        var insn = decoder.Decode();
        if (insn.IsInvalid) return $"(undecodable: {Convert.ToHexString(bytes)})";
        var output = new StringOutput();
        new IntelFormatter().Format(insn, output);
        return $"{output.ToStringAndReset()}    ; {Convert.ToHexString(bytes[..Math.Min(insn.Length, bytes.Length)])}";
    }

    /// <summary>A delivery case: the context, the event, and what the model did with it.</summary>
    public static string Case(DeliveryCase c)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"{c.State.Revision}, ring {c.State.Cpl} context:");
        sb.AppendLine(c.State.Describe());
        AppendDirt(sb, c.State);
        sb.AppendLine($"event: {c.Event}  [type {(int)c.Event.Type}, vector 0x{c.Event.Vector:X2}]");
        var r = Delivery.Deliver(c.State, c.Event);
        sb.AppendLine($"model: {r.Outcome}");
        if (r.Outcome.Kind == OutcomeKind.Delivered) AppendFrame(sb, r.State);
        return sb.ToString();
    }

    /// <summary>Says so when the memory under a state's stack pointers is dirty (World.Dirty).</summary>
    static void AppendDirt(StringBuilder sb, MachineState s)
    {
        if (World.DirtKey(s) is { } key) sb.AppendLine($"  dirty stacks: quadwords under the stack pointers hold key 0x{key:X16} mixed with their address");
    }

    /// <summary>Appends the frame at RSP of a handler state, every field by name.</summary>
    public static void AppendFrame(StringBuilder sb, MachineState handler)
    {
        sb.AppendLine($"frame at 0x{handler.Rsp:X16} (entry RIP 0x{handler.Rip:X16}, stack level {handler.StackLevel}):");
        if (Frame.Read(handler.Memory, handler.Rsp) is { } f) sb.AppendLine(f.Describe(handler.Revision));
        else sb.AppendLine("  (frame not readable)");
    }

    /// <summary>A scenario replayed step by step: each step, its instruction disassembled, its outcome and frame.</summary>
    public static string Scenario(Scenario sc)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"{sc.Initial.Revision} scenario of {sc.Steps.Length} steps from ring {sc.Initial.Cpl}:");
        sb.AppendLine(sc.Initial.Describe());
        AppendDirt(sb, sc.Initial);
        var s = sc.Initial;
        for (int i = 0; i < sc.Steps.Length; i++)
        {
            var step = sc.Steps[i];
            string what = step switch
            {
                ExecuteStep x => Disassemble(x.Bytes, s.Is64BitMode, s.Rip),
                EretuStep => Disassemble(Eretu.Encoding, true),
                EretsStep => Disassemble(Erets.Encoding, true),
                _ => step.ToString(),
            };
            var r = step.Apply(s);
            sb.AppendLine($"{i + 1,3}. [ring {s.Cpl}, level {s.StackLevel}] {what}  => {r.Outcome}");
            if (r.Outcome.Kind == OutcomeKind.Delivered) AppendFrame(sb, r.State);
            s = r.State;
        }
        return sb.ToString();
    }
}
