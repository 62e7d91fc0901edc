using Fred.Generators;
using Fred.Model;

namespace Fred.Bench;

/// <summary>
/// The benchmarks' fixed contexts, over the suite's one memory map (<see cref="World"/>): Linux's selectors, stacks,
/// shadow stacks and FRED MSRs.
/// </summary>
public static class BenchWorld
{
    /// <summary>Ring 0, stack level 0, interrupts enabled.</summary>
    public static MachineState Kernel(Revision r) => World.Kernel(r) with { Rflags = 0x246 };

    /// <summary>Ring 3, 64-bit mode.</summary>
    public static MachineState User(Revision r) => World.User(r);

    /// <summary>Ring 3, compatibility mode (STAR's 32-bit fast path on return); delivery never touches its stack.</summary>
    public static MachineState UserCompat(Revision r) => User(r) with
    {
        Cs = Selectors.User32Cs, Is64BitMode = false, Rip = 0x0804_9000, Rsp = 0x0080_3F00,
    };

    /// <summary>Ring 0 already at stack level 1 (inside a #DB handler, say).</summary>
    public static MachineState KernelAtLevel1(Revision r) => (Kernel(r) with { Rsp = World.LevelStackTop(1) - 0x1000 }).WithStackLevel(1);

    /// <summary>Ring 0 with supervisor shadow stacks on: delivery pushes the shadow-stack record, ERETS checks and pops it.</summary>
    public static MachineState KernelWithShadowStack(Revision r) => Kernel(r) with
    {
        Cr4 = MachineState.Cr4Pae | MachineState.Cr4Fred | MachineState.Cr4Cet,
        Cet = new CetState(CetState.ShadowStackEnable, 0, World.ShadowStackTop(4) - 0x100, 0, false),
    };
}
