namespace Fred.Model;

/// <summary>Linear-address helpers for 48-bit linear addresses (FRED-REV-04).</summary>
public static class Canonical
{
    /// <summary>Number of implemented linear-address bits.</summary>
    public const int LinearAddressBits = 48;

    /// <summary>True when bits 63:47 of the address are all equal.</summary>
    public static bool IsCanonical(ulong address)
    {
        long signed = (long)address;
        return (signed << (64 - LinearAddressBits)) >> (64 - LinearAddressBits) == signed;
    }

    /// <summary>The address with bit 47 copied into bits 63:48 (the SDM's LA_adjust for this address width).</summary>
    public static ulong SignExtend(ulong address) => (ulong)(((long)address << (64 - LinearAddressBits)) >> (64 - LinearAddressBits));
}
