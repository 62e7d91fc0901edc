namespace Fred.Model;

/// <summary>IA32_FRED_CONFIG as named fields (FRED-MSR-03).</summary>
public readonly record struct FredConfig(ulong Value)
{
    /// <summary>Bits that must be zero: 2, 4, 5 and 11.</summary>
    public const ulong ReservedMask = 0x834;

    /// <summary>Current stack level, bits 1:0.</summary>
    public int CurrentStackLevel => (int)(Value & 3);

    /// <summary>Bit 3: same-level delivery with supervisor shadow stacks lowers SSP by 8 first.</summary>
    public bool ShadowStackSpace => (Value & 8) != 0;

    /// <summary>Red zone in bytes: bits 8:6 in 64-byte units.</summary>
    public ulong RedZoneBytes => Value & 0x1C0;

    /// <summary>Stack level for external interrupts, bits 10:9.</summary>
    public int InterruptStackLevel => (int)((Value >> 9) & 3);

    /// <summary>Ring-3 entry point, bits 63:12.</summary>
    public ulong EntryPoint => Value & ~0xFFFUL;

    /// <summary>True when a reserved bit is set.</summary>
    public bool HasReservedBits => (Value & ReservedMask) != 0;

    /// <summary>The same configuration with another current stack level.</summary>
    public FredConfig WithCurrentStackLevel(int level) => new((Value & ~3UL) | (uint)(level & 3));

    /// <summary>Builds a configuration value from its fields.</summary>
    public static FredConfig Create(ulong entryPoint, int redZoneUnits = 0, int interruptStackLevel = 0, bool shadowStackSpace = false, int currentStackLevel = 0) =>
        new((entryPoint & ~0xFFFUL) | ((ulong)(redZoneUnits & 7) << 6) | ((ulong)(interruptStackLevel & 3) << 9)
            | (shadowStackSpace ? 8UL : 0) | (uint)(currentStackLevel & 3));
}

/// <summary>IA32_FRED_STKLVLS: two bits of stack level per exception vector 0..31 (FRED-MSR-06).</summary>
public readonly record struct StackLevels(ulong Value)
{
    /// <summary>The stack level configured for an exception vector (0 for vectors of 32 and above).</summary>
    public int For(byte vector) => vector < 32 ? (int)((Value >> (2 * vector)) & 3) : 0;

    /// <summary>The same value with one vector's level replaced.</summary>
    public StackLevels With(byte vector, int level) =>
        vector < 32 ? new((Value & ~(3UL << (2 * vector))) | ((ulong)(level & 3) << (2 * vector))) : this;
}
