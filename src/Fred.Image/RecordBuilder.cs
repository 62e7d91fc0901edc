using Fred.Model;

namespace Fred.Image;

/// <summary>
/// Builds one case record: the case's page tables in the arena, its pages in the pool, and the memory program that
/// writes both, followed by the state the harness loads (spec/image-format.md). Every record uses the same arena and
/// pool addresses; the harness rebuilds them for each case.
/// </summary>
sealed class RecordBuilder
{
    const ulong Present = 1, Writable = 2, User = 4, Large = 0x80, AccessedDirty = 0x60;

    readonly Dictionary<ulong, ulong[]> tables = [];
    readonly List<ulong> tableOrder = [];
    readonly Dictionary<ulong, ulong> physOf = [];     // linear page -> pool page
    readonly List<(ulong Phys, bool Code)> pool = [];
    readonly Dictionary<ulong, ulong> pokes = [];      // physical quadword -> value
    ulong nextArena = Layout.Arena;
    readonly ulong pml4;

    public RecordBuilder()
    {
        pml4 = NewTable();
        // The harness's identity map (first 64 MiB, 2 MiB pages) and the APIC, supervisor only.
        var pd = Table(pml4, 0);
        for (ulong i = 0; i < Layout.HarnessLimit >> 21; i++) tables[pd][i] = (i << 21) | Present | Writable | Large | AccessedDirty;
        var apicPd = Table(pml4, Layout.Apic);
        tables[apicPd][(Layout.Apic >> 21) & 511] = Layout.Apic | Present | Writable | Large | AccessedDirty | 0x18;
    }

    ulong NewTable()
    {
        if (nextArena >= Layout.Arena + Layout.ArenaSize) throw new InvalidOperationException("page-table arena exhausted");
        ulong t = nextArena;
        nextArena += Memory.PageSize;
        tables[t] = new ulong[512];
        tableOrder.Add(t);
        return t;
    }

    /// <summary>The table at depth 1 (PDPT), 2 (PD) or 3 (PT) on the way to a linear address; depth 0 stops at the PD.</summary>
    ulong Table(ulong root, ulong linear, int depth = 2)
    {
        ulong t = root;
        for (int level = 0; level < depth; level++)
        {
            int shift = 39 - 9 * level;
            ulong i = (linear >> shift) & 511;
            ulong e = tables[t][i];
            if (e == 0)
            {
                ulong n = NewTable();
                tables[t][i] = n | Present | Writable | User;
                t = n;
            }
            else
            {
                if ((e & Large) != 0) throw new ArgumentException($"0x{linear:X} lies under a large page of the harness");
                t = e & 0x000F_FFFF_FFFF_F000UL;
            }
        }
        return t;
    }

    ulong Pte(ulong linear, ulong value)
    {
        var pt = Table(pml4, linear, depth: 3);
        ulong i = (linear >> 12) & 511;
        if (tables[pt][i] != 0) throw new ArgumentException($"page 0x{linear:X} mapped twice");
        tables[pt][i] = value;
        return pt;
    }

    /// <summary>Maps a page of the case to a fresh pool page (code pages are filled with INT3).</summary>
    public void MapPage(ulong linear, PageAccess access, bool code)
    {
        ulong phys = Layout.Pool + (ulong)pool.Count * Memory.PageSize;
        if (phys >= Layout.Pool + Layout.PoolSize) throw new InvalidOperationException("page pool exhausted");
        pool.Add((phys, code));
        physOf[linear] = phys;
        Pte(linear, phys | Present | AccessedDirty | ((access & PageAccess.Writable) != 0 ? Writable : 0) | ((access & PageAccess.User) != 0 ? User : 0));
    }

    /// <summary>Maps a page of the case to a fixed physical page of the harness.</summary>
    public void MapPhysical(ulong linear, ulong phys, bool writable, bool user) =>
        Pte(linear & ~0xFFFUL, phys | Present | AccessedDirty | (writable ? Writable : 0) | (user ? User : 0));

    /// <summary>True when the image maps this linear page for the case.</summary>
    public bool IsMapped(ulong linear) => physOf.ContainsKey(linear & ~0xFFFUL);

    ulong Phys(ulong linear) => physOf.TryGetValue(linear & ~0xFFFUL, out var p) ? p + (linear & 0xFFF)
        : throw new ArgumentException($"0x{linear:X} is not mapped");

    /// <summary>Sets the initial quadword at a linear address of the case.</summary>
    public void PokeQuad(ulong linear, ulong value) => pokes[Phys(linear)] = value;

    /// <summary>Sets one byte of a code page (the rest of the page is INT3).</summary>
    public void PokeByte(ulong linear, byte value)
    {
        ulong p = Phys(linear), q = p & ~7UL;
        int shift = (int)(p & 7) * 8;
        ulong old = pokes.TryGetValue(q, out var v) ? v : 0xCCCC_CCCC_CCCC_CCCCUL;
        pokes[q] = (old & ~(0xFFUL << shift)) | ((ulong)value << shift);
    }

    /// <summary>The record: header, registers, MSRs, then the memory program.</summary>
    public byte[] Finish(long index, ulong mode, MachineState s, ulong icr, ulong after, List<(uint Msr, ulong Value)> msrs, ulong[]? debugRegisters = null)
    {
        if (msrs.Count > Record.MaxMsrs) throw new ArgumentException("too many MSRs");
        var q = new List<ulong>(new ulong[Record.Program]);
        q[Record.Index] = (ulong)index;
        q[Record.Mode] = mode;
        q[Record.Pml4] = pml4;
        q[Record.Rip] = s.Rip; q[Record.Rsp] = s.Rsp; q[Record.Rflags] = s.Rflags; q[Record.Cs] = s.Cs; q[Record.Ss] = s.Ss;
        q[Record.Rax] = s.Rax; q[Record.Rcx] = s.Rcx; q[Record.R11] = s.R11; q[Record.Cr2] = s.Cr2; q[Record.Cr4] = s.Cr4;
        // LGDT's 10-byte operand: limit, then base.
        q[Record.Gdtr] = s.GdtLimit | (s.GdtBase << 16);
        q[Record.Gdtr + 1] = s.GdtBase >> 48;
        q[Record.Icr] = icr;
        q[Record.After] = after;
        q[Record.Delta] = 0;
        q[Record.MsrCount] = (ulong)msrs.Count;
        for (int i = 0; i < msrs.Count; i++) { q[Record.Msrs + 2 * i] = msrs[i].Msr; q[Record.Msrs + 2 * i + 1] = msrs[i].Value; }
        // DR0..DR3 and DR7 (CaseEvents.cs), loaded when the mode says Record.ModeDebug.
        for (int i = 0; i < 5 && debugRegisters is not null; i++) q[Record.Dr0 + i] = debugRegisters[i];

        void Op(ulong op, ulong a, ulong b, ulong c) { q.Add(op); q.Add(a); q.Add(b); q.Add(c); }
        foreach (var t in tableOrder)
        {
            Op(Record.OpZero, t, 512, 0);
            var e = tables[t];
            for (int i = 0; i < 512; i++)
            {
                if (e[i] == 0) continue;
                // Runs of entries 4 KiB apart become one fill.
                int j = i + 1;
                while (j < 512 && e[j] == e[j - 1] + 0x1000 && (e[i] & Large) == 0) j++;
                if (j - i > 1) { Op(Record.OpFillPte, t + 8UL * (ulong)i, (ulong)(j - i), e[i]); i = j - 1; }
                else Op(Record.OpPoke, t + 8UL * (ulong)i, e[i], 0);
            }
        }
        foreach (var (phys, code) in pool)
            if (code) Op(Record.OpFillByte, phys, Memory.PageSize, 0xCC);
            else Op(Record.OpZero, phys, Memory.PageSize / 8, 0);
        foreach (var (addr, value) in pokes.OrderBy(p => p.Key)) Op(Record.OpPoke, addr, value, 0);
        Op(Record.OpEnd, 0, 0, 0);
        q[Record.Length] = (ulong)q.Count * 8;
        var bytes = new byte[q.Count * 8];
        for (int i = 0; i < q.Count; i++) BitConverter.TryWriteBytes(bytes.AsSpan(8 * i), q[i]);
        return bytes;
    }
}
