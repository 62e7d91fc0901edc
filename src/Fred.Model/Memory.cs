using System.Collections.Immutable;

namespace Fred.Model;

/// <summary>Permissions of one 4 KiB page.</summary>
[Flags]
public enum PageAccess : byte
{
    /// <summary>Not present.</summary>
    None = 0,
    /// <summary>Present and readable.</summary>
    Present = 1,
    /// <summary>Writable (with Present).</summary>
    Writable = 2,
    /// <summary>User-accessible (with Present).</summary>
    User = 4,
    /// <summary>Present, writable, supervisor-only.</summary>
    SupervisorData = Present | Writable,
    /// <summary>Present, writable, user-accessible.</summary>
    UserData = Present | Writable | User,
}

/// <summary>The kind of memory access, which decides the #PF error code.</summary>
public enum AccessKind
{
    /// <summary>Implicit supervisor read (ERET popping a frame).</summary>
    SupervisorRead,
    /// <summary>Implicit supervisor write (delivery pushing a frame).</summary>
    SupervisorWrite,
    /// <summary>Shadow-stack read.</summary>
    ShadowStackRead,
    /// <summary>Shadow-stack write.</summary>
    ShadowStackWrite,
}

/// <summary>The result of a memory access: a value, or the fault it raises.</summary>
public readonly record struct Access(ulong Value, Event? Fault);

/// <summary>Sparse immutable memory: page permissions plus quadword contents; unwritten bytes of mapped pages read as 0.</summary>
public sealed class Memory : IEquatable<Memory>
{
    /// <summary>Page size in bytes.</summary>
    public const ulong PageSize = 4096;

    readonly ImmutableSortedDictionary<ulong, PageAccess> pages;
    readonly ImmutableSortedDictionary<ulong, ulong> quadwords;

    Memory(ImmutableSortedDictionary<ulong, PageAccess> pages, ImmutableSortedDictionary<ulong, ulong> quadwords)
    {
        this.pages = pages;
        this.quadwords = quadwords;
    }

    /// <summary>Memory with no page mapped.</summary>
    public static Memory Empty { get; } = new(ImmutableSortedDictionary<ulong, PageAccess>.Empty, ImmutableSortedDictionary<ulong, ulong>.Empty);

    /// <summary>The mapped pages (page base address and permissions).</summary>
    public IEnumerable<KeyValuePair<ulong, PageAccess>> Pages => pages;

    /// <summary>Every non-zero quadword (8-aligned address and value).</summary>
    public IEnumerable<KeyValuePair<ulong, ulong>> NonZeroQuadwords => quadwords;

    /// <summary>Permissions of the page holding an address.</summary>
    public PageAccess AccessOf(ulong address) => pages.TryGetValue(address & ~(PageSize - 1), out var a) ? a : PageAccess.None;

    /// <summary>Maps (or remaps) the pages covering [start, start+length) with the given permissions.</summary>
    public Memory Map(ulong start, ulong length, PageAccess access)
    {
        var b = pages.ToBuilder();
        ulong first = start & ~(PageSize - 1), last = (start + Math.Max(length, 1) - 1) & ~(PageSize - 1);
        for (ulong p = first; ; p += PageSize)
        {
            if (access == PageAccess.None) b.Remove(p); else b[p] = access;
            if (p == last) break;
        }
        return new(b.ToImmutable(), quadwords);
    }

    /// <summary>Reads 1..8 bytes (little-endian) with permission checks.</summary>
    public Access Read(ulong address, int size, AccessKind kind)
    {
        if (Check(address, size, kind) is { } fault) return new(0, fault);
        return new(Peek(address, size), null);
    }

    /// <summary>Writes 1..8 bytes with permission checks; returns the new memory or the fault.</summary>
    public (Memory Memory, Event? Fault) Write(ulong address, int size, ulong value, AccessKind kind)
    {
        if (Check(address, size, kind) is { } fault) return (this, fault);
        return (Poke(address, size, value), null);
    }

    /// <summary>Reads bytes without any check (unmapped bytes read as 0).</summary>
    public ulong Peek(ulong address, int size)
    {
        ulong v = 0;
        for (int i = size - 1; i >= 0; i--)
            v = (v << 8) | PeekByte(address + (ulong)i);
        return v;
    }

    /// <summary>Writes bytes without any check.</summary>
    public Memory Poke(ulong address, int size, ulong value)
    {
        var b = quadwords.ToBuilder();
        for (int i = 0; i < size; i++)
        {
            ulong a = address + (ulong)i, q = a & ~7UL;
            int shift = (int)(a & 7) * 8;
            ulong old = b.TryGetValue(q, out var o) ? o : 0;
            ulong nw = (old & ~(0xFFUL << shift)) | (((value >> (8 * i)) & 0xFF) << shift);
            if (nw == 0) b.Remove(q); else b[q] = nw;
        }
        return new(pages, b.ToImmutable());
    }

    byte PeekByte(ulong a) => quadwords.TryGetValue(a & ~7UL, out var q) ? (byte)(q >> ((int)(a & 7) * 8)) : (byte)0;

    /// <summary>The fault an access raises, if any (FRED-DELIV-09): #SS(0)/#GP(0) for non-canonical, #PF otherwise.</summary>
    Event? Check(ulong address, int size, AccessKind kind)
    {
        bool write = kind is AccessKind.SupervisorWrite or AccessKind.ShadowStackWrite;
        bool shadow = kind is AccessKind.ShadowStackRead or AccessKind.ShadowStackWrite;
        // A write that faults reports its highest byte (pushes run downward); a read reports its first faulting byte.
        for (int k = 0; k < size; k++)
        {
            int i = write ? size - 1 - k : k;
            ulong a = address + (ulong)i;
            if (!Canonical.IsCanonical(a))
                return shadow ? Event.GeneralProtection(0) : Event.Exception(Vector.SS, 0);
            var p = AccessOf(a);
            bool ok = (p & PageAccess.Present) != 0 && (!write || (p & PageAccess.Writable) != 0);
            if (!ok)
            {
                ulong err = ((p & PageAccess.Present) != 0 ? 1UL : 0) | (write ? 2UL : 0) | (shadow ? 1UL << 6 : 0);
                return Event.PageFault(err, a);
            }
        }
        return null;
    }

    /// <summary>Value equality: same mapped pages, same contents.</summary>
    public bool Equals(Memory? other) =>
        other is not null && (ReferenceEquals(this, other) ||
            (pages.Count == other.pages.Count && quadwords.Count == other.quadwords.Count
             && pages.All(kv => other.pages.TryGetValue(kv.Key, out var v) && v == kv.Value)
             && quadwords.All(kv => other.quadwords.TryGetValue(kv.Key, out var v) && v == kv.Value)));

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as Memory);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(pages.Count, quadwords.Count);

    /// <summary>Quadword addresses whose contents differ between two memories.</summary>
    public IEnumerable<ulong> DifferingQuadwords(Memory other) =>
        quadwords.Keys.Concat(other.quadwords.Keys).Distinct().Where(q => Peek(q, 8) != other.Peek(q, 8)).OrderBy(q => q);

    /// <inheritdoc/>
    public override string ToString() => $"{pages.Count} pages, {quadwords.Count} non-zero quadwords";
}
