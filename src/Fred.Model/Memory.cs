using System.Runtime.CompilerServices;

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

/// <summary>One write of 1..8 bytes that a step makes, for <see cref="Memory.WriteAll"/>.</summary>
internal readonly record struct PendingWrite(ulong Address, int Size, ulong Value);

/// <summary>
/// Sparse immutable memory: page permissions plus quadword contents; unwritten bytes of mapped pages read as 0.
/// </summary>
/// <remarks>
/// Contents are a sorted table of non-zero quadwords shared between versions, under a short chain of small overlays:
/// each new version adds one overlay of at most <see cref="OverlaySlots"/> quadwords held inline (a zero value in an
/// overlay hides the quadword below it), so a step that writes a frame allocates one object. When the chain grows past
/// <see cref="MaxChain"/> overlays, the next version folds them into a new table. Page permissions are a sorted table
/// replaced on every Map; it holds runs of pages (first page, last page, permissions), never one entry per page, so
/// mapping 2^20 pages costs one run. Every observable (Peek, Read, Pages, NonZeroQuadwords, equality) sees only the flattened
/// contents, never the layering.
/// </remarks>
public sealed class Memory : IEquatable<Memory>
{
    /// <summary>Page size in bytes.</summary>
    public const ulong PageSize = 4096;

    /// <summary>Quadwords one overlay holds.</summary>
    const int OverlaySlots = 8;

    /// <summary>Overlays a chain may hold before the next version folds them into the table.</summary>
    const int MaxChain = 16;

    [InlineArray(OverlaySlots)]
    struct Slots
    {
        ulong element;
    }

    /// <summary>The page table and the shared quadword table, in one object so a new version stores one reference.</summary>
    sealed class Tables(PageRun[] runs, ulong[] keys, ulong[] values)
    {
        // Page table: ascending, disjoint runs of pages with (never None) permissions; neighbouring runs with the same
        // permissions are merged, so equal page maps have equal tables.
        public readonly PageRun[] Runs = runs;

        // The shared table: ascending 8-aligned addresses and their non-zero values.
        public readonly ulong[] Keys = keys;
        public readonly ulong[] Values = values;
    }

    readonly Tables tables;
    PageRun[] runs => tables.Runs;
    ulong[] tableKeys => tables.Keys;
    ulong[] tableValues => tables.Values;

    // This version's overlay (distinct keys; a value may be 0) and the older overlays below it, down to the table.
    readonly Memory? below;
    readonly int chain;
    readonly int used;
    readonly Slots keys;
    readonly Slots values;

    Memory(Tables tables, Memory? below, int chain, int used, in Slots keys, in Slots values)
    {
        this.tables = tables;
        this.below = below;
        this.chain = chain;
        this.used = used;
        this.keys = keys;
        this.values = values;
    }

    /// <summary>Memory with no page mapped.</summary>
    public static Memory Empty { get; } = new(new([], [], []), null, 0, 0, default, default);

    /// <summary>
    /// Memory built in one go: the same as mapping every run of <paramref name="pages"/> in order on <see cref="Empty"/>
    /// (<see cref="Map"/>, a later run winning where runs overlap) and then poking every quadword of
    /// <paramref name="quadwords"/> in order (8-aligned addresses; a later pair winning), without the intermediate versions.
    /// </summary>
    /// <param name="pages">Runs of pages: 4 KiB aligned base, page count, permissions.</param>
    /// <param name="quadwords">8-aligned addresses and their values (zeros allowed).</param>
    public static Memory Build(ReadOnlySpan<(ulong Base, int Count, PageAccess Access)> pages, ReadOnlySpan<KeyValuePair<ulong, ulong>> quadwords)
    {
        var runs = new List<PageRun>(pages.Length);
        foreach (var (b, n, a) in pages)
        {
            // In ascending order without overlap (how the protocol lists them), a run is appended; otherwise mapped as Map would.
            ulong last = b + (ulong)n * PageSize - 1;
            bool simple = (b & (PageSize - 1)) == 0 && n >= 1 && a != PageAccess.None && last > b
                && (runs.Count == 0 || runs[^1].Last < b);
            if (simple) runs.Add(new(b, last & ~(PageSize - 1), a));
            else runs = Carve(runs, b, (ulong)Math.Max(n, 0) * PageSize, a);
        }
        var pageRuns = Merge(runs);
        bool sorted = true;
        for (int i = 0; i < quadwords.Length; i++)
            if ((quadwords[i].Key & 7) != 0 || quadwords[i].Value == 0 || (i > 0 && quadwords[i].Key <= quadwords[i - 1].Key)) sorted = false;
        ulong[] keys, values;
        if (sorted)
        {
            keys = new ulong[quadwords.Length];
            values = new ulong[quadwords.Length];
            for (int i = 0; i < quadwords.Length; i++) (keys[i], values[i]) = (quadwords[i].Key, quadwords[i].Value);
        }
        else
        {
            var last = new Dictionary<ulong, ulong>(quadwords.Length);
            foreach (var q in quadwords)
            {
                if ((q.Key & 7) != 0) throw new ArgumentException($"quadword address 0x{q.Key:x} is not 8-byte aligned", nameof(quadwords));
                last[q.Key] = q.Value;
            }
            var all = last.Where(kv => kv.Value != 0).OrderBy(kv => kv.Key).ToArray();
            keys = [.. all.Select(kv => kv.Key)];
            values = [.. all.Select(kv => kv.Value)];
        }
        return new(new(pageRuns, keys, values), null, 0, 0, default, default);
    }

    /// <summary>The mapped pages (page base address and permissions), in ascending address order, one by one.</summary>
    public IEnumerable<KeyValuePair<ulong, PageAccess>> Pages
    {
        get
        {
            foreach (var r in runs)
                for (ulong p = r.First; ; p += PageSize)
                {
                    yield return new(p, r.Access);
                    if (p == r.Last) break;
                }
        }
    }

    /// <summary>The mapped pages as maximal runs of neighbouring pages with the same permissions, in ascending address order.</summary>
    public IReadOnlyList<PageRun> PageRuns => runs;

    /// <summary>How many pages are mapped.</summary>
    public ulong PageCount
    {
        get
        {
            ulong n = 0;
            foreach (var r in runs) n += r.Count;
            return n;
        }
    }

    /// <summary>Every non-zero quadword (8-aligned address and value), in ascending address order.</summary>
    public IEnumerable<KeyValuePair<ulong, ulong>> NonZeroQuadwords
    {
        get
        {
            var (k, v) = Flatten();
            for (int i = 0; i < k.Length; i++)
                yield return new(k[i], v[i]);
        }
    }

    /// <summary>Permissions of the page holding an address.</summary>
    public PageAccess AccessOf(ulong address)
    {
        ulong p = address & ~(PageSize - 1);
        var r = runs;
        int lo = 0, hi = r.Length - 1;
        while (lo <= hi)
        {
            int mid = (int)((uint)(lo + hi) >> 1);
            if (r[mid].Last < p) lo = mid + 1;
            else if (r[mid].First > p) hi = mid - 1;
            else return r[mid].Access;
        }
        return PageAccess.None;
    }

    /// <summary>
    /// Maps (or remaps) the pages covering [start, start+length) with the given permissions (at least one page; a range
    /// that runs past the top of the address space wraps to page 0).
    /// </summary>
    public Memory Map(ulong start, ulong length, PageAccess access) =>
        new(new(Merge(Carve([.. runs], start, length, access)), tableKeys, tableValues), below, chain, used, keys, values);

    /// <summary>Ascending disjoint runs with the pages covering [start, start+length) given <paramref name="access"/> (None: unmapped).</summary>
    static List<PageRun> Carve(List<PageRun> runs, ulong start, ulong length, PageAccess access)
    {
        ulong first = start & ~(PageSize - 1), last = (start + Math.Max(length, 1) - 1) & ~(PageSize - 1);
        if (last < first)
        {
            runs = Carve(runs, first, 0 - first, access);
            return Carve(runs, 0, last + PageSize, access);
        }
        var result = new List<PageRun>(runs.Count + 2);
        bool placed = false;
        foreach (var r in runs)
        {
            if (r.Last < first) { result.Add(r); continue; }
            if (!placed)
            {
                if (r.First < first) result.Add(r with { Last = first - PageSize });
                if (access != PageAccess.None) result.Add(new(first, last, access));
                placed = true;
            }
            if (r.First > last) { result.Add(r); continue; }
            if (r.Last > last) result.Add(r with { First = last + PageSize });
        }
        if (!placed && access != PageAccess.None) result.Add(new(first, last, access));
        return result;
    }

    /// <summary>Ascending disjoint runs with neighbours of the same permissions joined.</summary>
    static PageRun[] Merge(List<PageRun> runs)
    {
        var merged = new List<PageRun>(runs.Count);
        foreach (var r in runs)
        {
            if (merged.Count > 0 && merged[^1].Access == r.Access && merged[^1].Last + PageSize == r.First)
                merged[^1] = merged[^1] with { Last = r.Last };
            else merged.Add(r);
        }
        return [.. merged];
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

    /// <summary>
    /// Reads consecutive quadwords from <paramref name="address"/> upward into <paramref name="into"/>, as that many
    /// 8-byte <see cref="Read"/>s in ascending order would: the first fault stops it and is returned.
    /// </summary>
    internal Event? ReadAll(ulong address, Span<ulong> into, AccessKind kind)
    {
        // Within one page every access has the first one's outcome, so only the first needs checking.
        bool onePage = (address & (PageSize - 1)) + 8 * (ulong)into.Length <= PageSize;
        var pages = new PageCursor(this);
        for (int i = 0; i < into.Length; i++)
        {
            ulong a = address + (ulong)(8 * i);
            if ((i == 0 || !onePage) && Check(a, 8, kind, ref pages) is { } fault) return fault;
            into[i] = Peek(a, 8);
        }
        return null;
    }

    /// <summary>
    /// The writes in order, as that many <see cref="Write"/>s would make them: the first write that faults stops it
    /// and its fault is returned, with this memory as <paramref name="written"/> (permissions never depend on
    /// contents, so checking every write before making any is the same). A successful batch yields one new version.
    /// </summary>
    internal Event? WriteAll(ReadOnlySpan<PendingWrite> writes, AccessKind kind, out Memory written)
    {
        written = this;
        var pages = new PageCursor(this);
        bool alignedQuadwords = writes.Length <= OverlaySlots;
        foreach (var w in writes)
        {
            if (Check(w.Address, w.Size, kind, ref pages) is { } fault) return fault;
            alignedQuadwords &= w.Size == 8 && (w.Address & 7) == 0;
        }
        if (alignedQuadwords)
        {
            written = WithQuadwords(writes);
            return null;
        }
        var overlay = new OverlayBuilder(this);
        foreach (var w in writes) overlay.Poke(w.Address, w.Size, w.Value);
        written = overlay.Finish();
        return null;
    }

    /// <summary>One new version holding whole aligned quadwords (at most one overlay's worth; a later write to an address wins).</summary>
    Memory WithQuadwords(ReadOnlySpan<PendingWrite> writes)
    {
        Slots k = default, v = default;
        int n = 0;
        foreach (var w in writes)
        {
            int i = 0;
            while (i < n && k[i] != w.Address) i++;
            k[i] = w.Address;
            v[i] = w.Value;
            if (i == n) n++;
        }
        return WithOverlay(this, n, k, v);
    }

    /// <summary>Reads bytes without any check (unmapped bytes read as 0).</summary>
    public ulong Peek(ulong address, int size)
    {
        int offset = (int)(address & 7);
        if (size == 8 && offset == 0) return Quadword(address);
        if (size > 0 && offset + size <= 8)
            return (Quadword(address & ~7UL) >> (8 * offset)) & (ulong.MaxValue >> (64 - 8 * size));
        ulong v = 0;
        for (int i = size - 1; i >= 0; i--)
            v = (v << 8) | PeekByte(address + (ulong)i);
        return v;
    }

    /// <summary>Writes bytes without any check.</summary>
    public Memory Poke(ulong address, int size, ulong value)
    {
        var overlay = new OverlayBuilder(this);
        overlay.Poke(address, size, value);
        return overlay.Finish();
    }

    /// <summary>Writes whole quadwords without any check, as that many 8-byte <see cref="Poke"/>s in order would (a later pair wins).</summary>
    public Memory PokeAll(ReadOnlySpan<KeyValuePair<ulong, ulong>> quadwords)
    {
        var overlay = new OverlayBuilder(this);
        foreach (var q in quadwords) overlay.Poke(q.Key, 8, q.Value);
        return overlay.Finish();
    }

    byte PeekByte(ulong a) => (byte)(Quadword(a & ~7UL) >> ((int)(a & 7) * 8));

    /// <summary>The quadword at an 8-aligned address: the newest overlay that holds it, else the table, else 0.</summary>
    ulong Quadword(ulong q)
    {
        for (var m = this; m is not null; m = m.below)
            for (int i = 0; i < m.used; i++)
                if (m.keys[i] == q) return m.values[i];
        int t = IndexOf(tableKeys, q);
        return t >= 0 ? tableValues[t] : 0;
    }

    /// <summary>Index of a key in an ascending array, or -1.</summary>
    static int IndexOf(ulong[] sorted, ulong key)
    {
        int lo = 0, hi = sorted.Length - 1;
        while (lo <= hi)
        {
            int mid = (int)((uint)(lo + hi) >> 1);
            ulong k = sorted[mid];
            if (k == key) return mid;
            if (k < key) lo = mid + 1; else hi = mid - 1;
        }
        return -1;
    }

    /// <summary>The contents as ascending addresses and their non-zero values.</summary>
    (ulong[] Keys, ulong[] Values) Flatten()
    {
        if (chain == 0) return (tableKeys, tableValues);
        var newest = new Dictionary<ulong, ulong>();
        for (var m = this; m is not null; m = m.below)
            for (int i = 0; i < m.used; i++)
                newest.TryAdd(m.keys[i], m.values[i]);
        var all = new List<KeyValuePair<ulong, ulong>>(tableKeys.Length + newest.Count);
        for (int i = 0; i < tableKeys.Length; i++)
            if (!newest.ContainsKey(tableKeys[i])) all.Add(new(tableKeys[i], tableValues[i]));
        foreach (var kv in newest)
            if (kv.Value != 0) all.Add(kv);
        all.Sort((a, b) => a.Key.CompareTo(b.Key));
        return ([.. all.Select(kv => kv.Key)], [.. all.Select(kv => kv.Value)]);
    }

    /// <summary>A new version over <paramref name="under"/> (same pages) with an overlay, folded into a table when the chain is long.</summary>
    static Memory WithOverlay(Memory under, int count, in Slots newKeys, in Slots newValues)
    {
        var top = new Memory(under.tables, under, under.chain + 1, count, newKeys, newValues);
        if (top.chain <= MaxChain) return top;
        var (k, v) = top.Flatten();
        return new(new(under.runs, k, v), null, 0, 0, default, default);
    }

    /// <summary>Collects the quadwords a batch of pokes changes into overlays over a starting version.</summary>
    struct OverlayBuilder(Memory start)
    {
        readonly Memory origin = start;
        Memory current = start;
        Slots pendingKeys;
        Slots pendingValues;
        int pending;

        public void Poke(ulong address, int size, ulong value)
        {
            if (size == 8 && (address & 7) == 0)
            {
                Set(address, value);
                return;
            }
            for (int i = 0; i < size; i++)
            {
                ulong a = address + (ulong)i, q = a & ~7UL;
                int shift = (int)(a & 7) * 8;
                ulong nw = (Get(q) & ~(0xFFUL << shift)) | (((value >> (8 * i)) & 0xFF) << shift);
                Set(q, nw);
            }
        }

        readonly ulong Get(ulong q)
        {
            for (int i = 0; i < pending; i++)
                if (pendingKeys[i] == q) return pendingValues[i];
            return current.Quadword(q);
        }

        void Set(ulong q, ulong value)
        {
            for (int i = 0; i < pending; i++)
                if (pendingKeys[i] == q)
                {
                    pendingValues[i] = value;
                    return;
                }
            if (pending == OverlaySlots) Flush();
            pendingKeys[pending] = q;
            pendingValues[pending] = value;
            pending++;
        }

        void Flush()
        {
            current = WithOverlay(current, pending, pendingKeys, pendingValues);
            pending = 0;
        }

        /// <summary>The version with every poke made (a fresh version even when nothing was poked).</summary>
        public Memory Finish()
        {
            if (pending > 0) Flush();
            var m = current;
            return ReferenceEquals(m, origin)
                ? new(m.tables, m.below, m.chain, m.used, m.keys, m.values)
                : m;
        }
    }

    /// <summary>Remembers the last page looked up, so a batch of accesses to one page searches the page table once.</summary>
    struct PageCursor(Memory memory)
    {
        bool known;
        ulong page;
        PageAccess access;

        public PageAccess AccessOf(ulong address)
        {
            ulong p = address & ~(PageSize - 1);
            if (!known || p != page)
            {
                (known, page, access) = (true, p, memory.AccessOf(p));
            }
            return access;
        }
    }

    /// <summary>The fault an access raises, if any (FRED-DELIV-09): #SS(0)/#GP(0) for non-canonical, #PF otherwise.</summary>
    Event? Check(ulong address, int size, AccessKind kind)
    {
        var pages = new PageCursor(this);
        return Check(address, size, kind, ref pages);
    }

    Event? Check(ulong address, int size, AccessKind kind, ref PageCursor pages)
    {
        bool write = kind is AccessKind.SupervisorWrite or AccessKind.ShadowStackWrite;
        bool shadow = kind is AccessKind.ShadowStackRead or AccessKind.ShadowStackWrite;
        // An access that faults reports the linear address it was made at; an access that crosses into a page that
        // faults reports the first byte of that page (FRED-DELIV-09). Every byte of one page shares its
        // canonicality and permissions, so an access within one page is decided by its first byte; the byte loop
        // below is the general case.
        if (size > 0 && (address & (PageSize - 1)) + (ulong)size <= PageSize)
            return CheckByte(address, write, shadow, ref pages);
        for (int i = 0; i < size; i++)
            if (CheckByte(address + (ulong)i, write, shadow, ref pages) is { } fault) return fault;
        return null;
    }

    static Event? CheckByte(ulong a, bool write, bool shadow, ref PageCursor pages)
    {
        if (!Canonical.IsCanonical(a))
            return shadow ? Event.GeneralProtection(0) : Event.Exception(Vector.SS, 0);
        var p = pages.AccessOf(a);
        bool ok = (p & PageAccess.Present) != 0 && (!write || (p & PageAccess.Writable) != 0);
        if (ok) return null;
        ulong err = ((p & PageAccess.Present) != 0 ? 1UL : 0) | (write ? 2UL : 0) | (shadow ? 1UL << 6 : 0);
        return Event.PageFault(err, a);
    }

    /// <summary>Value equality: same mapped pages, same contents.</summary>
    public bool Equals(Memory? other)
    {
        if (other is null) return false;
        if (ReferenceEquals(this, other)) return true;
        if (!runs.AsSpan().SequenceEqual(other.runs)) return false;
        var (k, v) = Flatten();
        var (ok, ov) = other.Flatten();
        return k.AsSpan().SequenceEqual(ok) && v.AsSpan().SequenceEqual(ov);
    }

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as Memory);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(runs.Length, Flatten().Keys.Length);

    /// <summary>Quadword addresses whose contents differ between two memories, in ascending order.</summary>
    public IEnumerable<ulong> DifferingQuadwords(Memory other)
    {
        if (ReferenceEquals(tables, other.tables))
        {
            // Same table underneath (one version made from the other by Poke or Write, as a step does): only a quadword
            // held in an overlay of either chain can differ, since everything else reads from the shared table.
            var candidates = new List<ulong>(8);
            for (var m = this; m is not null; m = m.below)
                for (int i = 0; i < m.used; i++) candidates.Add(m.keys[i]);
            for (var m = other; m is not null; m = m.below)
                for (int i = 0; i < m.used; i++) candidates.Add(m.keys[i]);
            candidates.Sort();
            var differing = new List<ulong>(candidates.Count);
            for (int i = 0; i < candidates.Count; i++)
            {
                ulong q = candidates[i];
                if ((i == 0 || candidates[i - 1] != q) && Quadword(q) != other.Quadword(q)) differing.Add(q);
            }
            return differing;
        }
        var (k, _) = Flatten();
        var (ok, _) = other.Flatten();
        return k.Concat(ok).Distinct().Where(q => Peek(q, 8) != other.Peek(q, 8)).OrderBy(q => q);
    }

    /// <inheritdoc/>
    public override string ToString() => $"{PageCount} pages, {Flatten().Keys.Length} non-zero quadwords";
}

/// <summary>Neighbouring pages with the same permissions: the first and last page's base address (inclusive).</summary>
public readonly record struct PageRun(ulong First, ulong Last, PageAccess Access)
{
    /// <summary>How many pages the run holds.</summary>
    public ulong Count => (Last - First) / Memory.PageSize + 1;
}
