using Fred.Model;

namespace Fred.Bench;

/// <summary>A 64-bit xorshift generator (shifts 13, 7, 17) as an immutable value: Value, and Next for the step after.</summary>
public readonly record struct Xorshift(ulong Value)
{
    /// <summary>A generator from a seed (a zero seed, which xorshift cannot leave, is replaced).</summary>
    public static Xorshift FromSeed(ulong seed) => new(seed == 0 ? 0x9E37_79B9_7F4A_7C15UL : seed);

    /// <summary>The generator one step on.</summary>
    public Xorshift Next
    {
        get
        {
            ulong x = Value;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            return new(x);
        }
    }
}

/// <summary>Why a generated case failed its checks (Ok when it passed).</summary>
public enum Verdict
{
    /// <summary>Every check held.</summary>
    Ok,
    /// <summary>Delivery did not deliver the event itself.</summary>
    NotDelivered,
    /// <summary>The handler does not start at CONFIG's entry point (+256 from ring 0).</summary>
    EntryRip,
    /// <summary>The handler's RSP (the frame base) is not 64-byte aligned.</summary>
    FrameAlignment,
    /// <summary>The handler runs at another stack level than the event's rules give.</summary>
    StackLevel,
    /// <summary>The frame's saved RIP is not the interrupted RIP.</summary>
    SavedRip,
    /// <summary>The ERET did not return.</summary>
    NotReturned,
    /// <summary>The ERET returned to another RIP, RSP, CS, SS or stack level than the interrupted one.</summary>
    NotRestored,
}

/// <summary>
/// Deterministic (state, event) cases over a few fixed contexts, and cheap checks of each delivery and its return.
/// The expected entry RIP and stack level are derived here from the MSR values, not through the model's helpers.
/// </summary>
public static class Generated
{
    /// <summary>The fixed contexts cases start from: both revisions, both rings, compatibility mode, level 1, shadow stacks.</summary>
    public static readonly MachineState[] Contexts =
    [
        BenchWorld.User(Revision.Fred5),
        BenchWorld.User(Revision.Fred3),
        BenchWorld.UserCompat(Revision.Fred5),
        BenchWorld.Kernel(Revision.Fred5),
        BenchWorld.Kernel(Revision.Fred3),
        BenchWorld.KernelAtLevel1(Revision.Fred5),
        BenchWorld.KernelWithShadowStack(Revision.Fred5),
    ];

    /// <summary>The case a generator value stands for: a context with a varied (possibly misaligned) RSP, and an event.</summary>
    public static (MachineState State, Event Event) Case(ulong x)
    {
        var context = Contexts[(int)((x >> 40) % (ulong)Contexts.Length)];
        ulong rsp = context.Rsp - ((x >> 24) & 0x1FF) * 8 - ((x >> 33) & 7);
        return (context with { Rsp = rsp }, EventFor(x));
    }

    /// <summary>An architectural event of any type; #DF is left out (ERETU cannot return from its raised level).</summary>
    public static Event EventFor(ulong x)
    {
        byte low = (byte)(x >> 8);
        return (x & 7) switch
        {
            0 => Event.Interrupt((byte)(32 + low % 224)),
            1 => Event.NonMaskable((ushort)(x >> 16)),
            2 or 3 => HardwareException((byte)(low % 32), x),
            4 => new(EventType.SoftwareInterrupt, low, InstructionLength: 2),
            5 => new(EventType.PrivilegedSoftwareException, Vector.DB, InstructionLength: 1),
            6 => new(EventType.SoftwareException, (low & 1) == 0 ? Vector.BP : Vector.OF, InstructionLength: 1),
            _ => new(EventType.Other, (low & 1) == 0 ? Vector.Syscall : Vector.Sysenter, InstructionLength: 2),
        };
    }

    static Event HardwareException(byte vector, ulong x) => vector is Vector.NMI or Vector.DF
        ? Event.PageFault((x >> 16) & 0x1F, (x >> 12) & 0x7FFF_FFFF_F000)
        : Event.Exception(vector, (x >> 16) & 0xFFFF, (x >> 20) & 0x7FFF_FFFF_FFFF);

    /// <summary>The stack level the handler must run at, from CONFIG and STKLVLS (no nested events are generated).</summary>
    public static int ExpectedStackLevel(MachineState s, Event e)
    {
        int old = s.Cpl == 0 ? (int)(s.Fred.Config.Value & 3) : 0;
        if (s.Cpl != 0) return 0;
        int wanted = e.Type switch
        {
            EventType.ExternalInterrupt => (int)((s.Fred.Config.Value >> 9) & 3),
            EventType.SoftwareInterrupt or EventType.Other => 0,
            _ => (int)((s.Fred.StackLevels.Value >> (2 * e.Vector)) & 3),
        };
        return Math.Max(old, wanted);
    }

    /// <summary>Delivers, checks the handler's entry, frame and stack level, returns, and checks the context came back.</summary>
    public static Verdict Check(MachineState s, Event e)
    {
        var (d, r) = RoundTrip.Run(s, e);
        var h = d.State;
        if (d.Outcome.Kind != OutcomeKind.Delivered || d.Outcome.Event.Type != e.Type || d.Outcome.Event.Vector != e.Vector)
            return Verdict.NotDelivered;
        if (h.Rip != (s.Fred.Config.Value & ~0xFFFUL) + (s.Cpl == 0 ? 256UL : 0)) return Verdict.EntryRip;
        if ((h.Rsp & 63) != 0) return Verdict.FrameAlignment;
        if ((int)(h.Fred.Config.Value & 3) != ExpectedStackLevel(s, e)) return Verdict.StackLevel;
        if (h.Memory.Peek(h.Rsp + 8, 8) != s.Rip) return Verdict.SavedRip;
        if (r.Outcome.Kind != OutcomeKind.Returned) return Verdict.NotReturned;
        var b = r.State;
        bool restored = b.Rip == s.Rip && b.Rsp == s.Rsp && b.Cs == s.Cs && b.Ss == s.Ss && b.StackLevel == s.StackLevel;
        return restored ? Verdict.Ok : Verdict.NotRestored;
    }

    /// <summary>Generates and checks <paramref name="count"/> cases from a generator; the failures and the generator after them.</summary>
    public static (long Failures, Xorshift Next) Run(Xorshift g, int count)
    {
        long failures = 0;
        for (int i = 0; i < count; i++)
        {
            g = g.Next;
            var (s, e) = Case(g.Value);
            if (Check(s, e) != Verdict.Ok) failures++;
        }
        return (failures, g);
    }
}
