using Fred.Reference;

namespace Fred.Kernel;

/// <summary>One input of the dispatch function: what the entry stub hands it, and the run-time configuration.</summary>
public readonly record struct DispatchInput(
    bool User, int Type, int Vector, int StackLevel, bool L, int InstructionLength, ulong ErrorCode, ulong Ip, ulong Ax,
    ulong EventData, KernelConfig Config)
{
    /// <summary>pt_regs as the entry stub builds them (the layout of Fred.Reference.PtRegs).</summary>
    public PtRegs Regs
    {
        get
        {
            ulong cs = (User ? 0x33UL : 0x10UL) | ((ulong)StackLevel << 16);
            ulong ss = (User ? 0x2BUL : 0x18UL) | ((ulong)Vector << 32) | ((ulong)Type << 48) | (L ? 1UL << 57 : 0) | ((ulong)InstructionLength << 60);
            return new PtRegs(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, Ax, 0, 0, 0, 0, ErrorCode, Ip, cs, 0x202, 0x7FFF_0000, ss, EventData);
        }
    }

    /// <summary>The line the compiled driver reads.</summary>
    public string ToDriverLine() =>
        $"{(User ? 1 : 0):x} {Type:x} {Vector:x} {StackLevel:x} {(L ? 1 : 0):x} {InstructionLength:x} {ErrorCode:x} {Ip:x} {Ax:x} {EventData:x} {(Config.Ia32Active ? 1 : 0):x} {(Config.DieNotifierStops ? 1 : 0):x}";

    /// <inheritdoc/>
    public override string ToString() =>
        $"{(User ? "user" : "kernel")} type {Type} vector 0x{Vector:x2} stack level {StackLevel} l={(L ? 1 : 0)} insnlen {InstructionLength} " +
        $"error 0x{ErrorCode:x} ip 0x{Ip:x} ax 0x{Ax:x} event data 0x{EventData:x} [{Config}]";
}

/// <summary>
/// The grid both sides run (FRED-KDIFF-03): every ring, event type (all 16 encodings), vector, stack level (0 from user,
/// 0-3 from the kernel) and 64-bit bit, each with one of a few operand sets (error code, ip, ax, instruction length,
/// event data) chosen by position, for each configuration.
/// </summary>
public static class KernelGrid
{
    /// <summary>The operand sets: zeros; a non-zero error code and an ax with high bits; a syscall number out of range and ip near 0.</summary>
    public static readonly IReadOnlyList<(ulong Error, ulong Ip, ulong Ax, int InsnLen, ulong EventData)> Operands =
    [
        (0, 0x40_1002, 0x27, 2, 0),
        (0x1234, 0x7FFF_FFFF_F000, 0x1_0000_0001, 3, 0xABC),
        (0xFFFC, 0x1, 0xFFFF_FFFF, 15, 0xFFFF_FFFF_FFFF_FFFF),
    ];

    /// <summary>The inputs for one configuration, in a fixed order.</summary>
    public static IEnumerable<DispatchInput> For(KernelConfig config)
    {
        int n = 0;
        foreach (bool user in new[] { true, false })
            for (int type = 0; type < 16; type++)
                for (int vector = 0; vector < 256; vector++)
                    for (int sl = 0; sl < (user ? 1 : 4); sl++)
                        foreach (bool l in new[] { true, false })
                        {
                            var o = Operands[n++ % Operands.Count];
                            yield return new(user, type, vector, sl, l, o.InsnLen, o.Error, o.Ip, o.Ax, o.EventData, config);
                        }
    }
}
