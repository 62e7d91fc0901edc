namespace Fred.Reference;

/// <summary>
/// array_index_nospec() as the kernel computes it on x86-64: array_index_mask_nospec() is CMP + SBB, a mask of
/// all ones when index &lt; size and zero otherwise, ANDed with the index, so an out-of-range index becomes 0
/// even under speculation.
/// </summary>
public static class Nospec
{
    /// <summary>The mask: ~0 when index &lt; size, else 0 (computed without a branch, as SBB does).</summary>
    public static ulong Mask(ulong index, ulong size) => BorrowMask(index, size);

    /// <summary>The bounded index: the index when in range, 0 otherwise.</summary>
    public static ulong ArrayIndex(ulong index, ulong size) => index & BorrowMask(index, size);

    // CMP index, size sets CF when index < size (unsigned); SBB reg, reg yields -CF.
    static ulong BorrowMask(ulong index, ulong size)
    {
        ulong difference = index - size;
        ulong borrow = ((~index & size) | (~(index ^ size) & difference)) >> 63;   // the carry out of index - size
        return 0UL - borrow;
    }
}
