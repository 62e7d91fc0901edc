using System.Collections.Immutable;
using FsCheck;
using FsCheck.Fluent;
using Fred.Model;
using static Fred.Conformance.Support.Conformance;

namespace Fred.Conformance;

/// <summary>
/// The model's Memory against a byte-at-a-time oracle: after every operation of a random sequence, every observable
/// (pages, non-zero quadwords, Peek, Read and Write with their faults, batched accesses, equality, differences) agrees.
/// </summary>
public class MemoryTests
{
    /// <summary>The obvious memory: one dictionary entry per non-zero byte, permission checks byte by byte in access order.</summary>
    sealed record ByteMemory(ImmutableSortedDictionary<ulong, PageAccess> Pages, ImmutableSortedDictionary<ulong, byte> Bytes)
    {
        public static ByteMemory Empty { get; } = new(ImmutableSortedDictionary<ulong, PageAccess>.Empty, ImmutableSortedDictionary<ulong, byte>.Empty);

        public ByteMemory Map(ulong start, ulong length, PageAccess access)
        {
            var pages = Pages;
            ulong first = start & ~0xFFFUL, last = (start + Math.Max(length, 1) - 1) & ~0xFFFUL;
            for (ulong p = first; ; p += 0x1000)
            {
                pages = access == PageAccess.None ? pages.Remove(p) : pages.SetItem(p, access);
                if (p == last) break;
            }
            return this with { Pages = pages };
        }

        byte At(ulong a) => Bytes.TryGetValue(a, out var b) ? b : (byte)0;

        public ulong Peek(ulong address, int size)
        {
            ulong v = 0;
            for (int i = size - 1; i >= 0; i--) v = (v << 8) | At(address + (ulong)i);
            return v;
        }

        public ByteMemory Poke(ulong address, int size, ulong value)
        {
            var bytes = Bytes;
            for (int i = 0; i < size; i++)
            {
                byte b = (byte)(value >> (8 * i));
                bytes = b == 0 ? bytes.Remove(address + (ulong)i) : bytes.SetItem(address + (ulong)i, b);
            }
            return this with { Bytes = bytes };
        }

        public Event? Check(ulong address, int size, AccessKind kind)
        {
            bool write = kind is AccessKind.SupervisorWrite or AccessKind.ShadowStackWrite;
            bool shadow = kind is AccessKind.ShadowStackRead or AccessKind.ShadowStackWrite;
            for (int k = 0; k < size; k++)
            {
                ulong a = address + (ulong)k;   // FRED-DELIV-09: the first byte that faults, reads and writes alike
                if (!Canonical.IsCanonical(a)) return shadow ? Event.GeneralProtection() : Event.Exception(Vector.SS);
                var p = Pages.TryGetValue(a & ~0xFFFUL, out var x) ? x : PageAccess.None;
                if ((p & PageAccess.Present) == 0 || (write && (p & PageAccess.Writable) == 0))
                    return Event.PageFault(((p & PageAccess.Present) != 0 ? 1UL : 0) | (write ? 2UL : 0) | (shadow ? 0x40UL : 0), a);
            }
            return null;
        }

        public IEnumerable<KeyValuePair<ulong, ulong>> NonZeroQuadwords =>
            Bytes.Keys.Select(a => a & ~7UL).Distinct().Select(q => new KeyValuePair<ulong, ulong>(q, Peek(q, 8)));

        public bool SameAs(ByteMemory o) => Pages.SequenceEqual(o.Pages) && Bytes.SequenceEqual(o.Bytes);
    }

    public enum OpKind { Map, Poke, PokeSame, Write, Read, Peek, WriteAll, ReadAll, PokeAll, Build }

    public sealed record MemoryWrite(ulong Address, int Size, ulong Value);

    /// <summary>One operation; <c>Against</c> picks an earlier version to compare equality and differences with.</summary>
    public sealed record Op(OpKind Kind, ulong Address, int Size, ulong Value, ulong Length, PageAccess Access, AccessKind AccessKind, int Against, MemoryWrite[] Writes)
    {
        public override string ToString() => Kind switch
        {
            OpKind.Map => $"Map(0x{Address:X}, 0x{Length:X}, {Access})",
            OpKind.WriteAll => $"WriteAll({AccessKind}: {string.Join(", ", Writes.Select(w => $"[0x{w.Address:X}]{w.Size}=0x{w.Value:X}"))})",
            OpKind.PokeAll => $"PokeAll({string.Join(", ", Writes.Select(w => $"[0x{w.Address & ~7UL:X}]=0x{w.Value:X}"))})",
            OpKind.Build => $"Build(the same pages and contents, {(Against % 2 == 1 ? "descending, zeros first" : "ascending")})",
            OpKind.ReadAll => $"ReadAll(0x{Address:X} x{Size}, {AccessKind})",
            _ => $"{Kind}(0x{Address:X}, {Size}, 0x{Value:X}, {AccessKind})",
        };
    }

    // Pages next to the interesting edges: address 0, the canonical boundary on both sides, the top of the address space.
    static readonly ulong[] PageBases = [0, 0x1000, 0x2000, 0x7FFF_FFFF_F000, 0xFFFF_8000_0000_0000, 0xFFFF_FFFF_FFFF_F000];

    static readonly Gen<ulong> Address =
        from page in Gen.Elements(PageBases)
        from offset in Gen.Frequency((4, Gen.Choose(0, 0x1FF).Select(i => (ulong)i * 8)), (2, Gen.Choose(0xFF0, 0xFFF).Select(i => (ulong)i)),
            (1, Gen.Choose(0, 0xFFF).Select(i => (ulong)i)), (1, Gen.Choose(0, 0x1F).Select(i => (ulong)i)))
        select page + offset;

    static readonly Gen<int> Size = Gen.Frequency((6, Gen.Constant(8)), (3, Gen.Choose(1, 7)), (1, Gen.Elements(-1, 0, 9, 12, 16)));

    static readonly Gen<ulong> Value = Gen.Frequency((4, Gen.Zip(Gen.Choose(int.MinValue, int.MaxValue), Gen.Choose(int.MinValue, int.MaxValue))
            .Select(t => ((ulong)(uint)t.Item1 << 32) | (uint)t.Item2)),
        (2, Gen.Constant(0UL)), (1, Gen.Choose(1, 255).Select(b => (ulong)b)));

    static readonly Gen<AccessKind> Kind = Gen.Elements(AccessKind.SupervisorRead, AccessKind.SupervisorWrite, AccessKind.ShadowStackRead, AccessKind.ShadowStackWrite);

    static readonly Gen<Op> AnyOp =
        from kind in Gen.Frequency((2, Gen.Constant(OpKind.Map)), (6, Gen.Constant(OpKind.Poke)), (1, Gen.Constant(OpKind.PokeSame)),
            (4, Gen.Constant(OpKind.Write)), (2, Gen.Constant(OpKind.Read)), (2, Gen.Constant(OpKind.Peek)),
            (3, Gen.Constant(OpKind.WriteAll)), (2, Gen.Constant(OpKind.ReadAll)), (2, Gen.Constant(OpKind.PokeAll)), (1, Gen.Constant(OpKind.Build)))
        from address in Address
        from size in Size
        from value in Value
        from length in Gen.Elements(0UL, 1UL, 0xFFFUL, 0x1000UL, 0x1001UL, 0x3000UL)
        from access in Gen.Elements(PageAccess.None, PageAccess.Present, PageAccess.SupervisorData, PageAccess.UserData)
        from accessKind in Kind
        from against in Gen.Choose(0, 1000)
        from n in Gen.Choose(0, 12)
        from writes in Gen.ArrayOf(Gen.Zip(Gen.Zip(Address, Size), Value).Select(t => new MemoryWrite(t.Item1.Item1, t.Item1.Item2, t.Item2)), n)
        select new Op(kind, address, size, value, length, access, accessKind, against, writes);

    static readonly Gen<Op[]> Ops = Gen.Choose(1, 60).SelectMany(n => Gen.ArrayOf(AnyOp, n));

    [Fact]
    [Trait("Rule", "FRED-DELIV-09")]
    public void Memory_agrees_with_a_byte_at_a_time_oracle() => Check(Arb.From(Ops), ops =>
    {
        var versions = new List<(Memory Model, ByteMemory Oracle)> { (Memory.Empty, ByteMemory.Empty) };
        string Trace(int upTo) => string.Join(Environment.NewLine, ops.Take(upTo + 1).Select((o, i) => $"  {i + 1}: {o}"));
        for (int i = 0; i < ops.Length; i++)
        {
            var op = ops[i];
            var (m, o) = versions[^1];
            string Where() => Trace(i);
            switch (op.Kind)
            {
                case OpKind.Map:
                    (m, o) = (m.Map(op.Address, op.Length, op.Access), o.Map(op.Address, op.Length, op.Access));
                    break;
                case OpKind.Poke:
                    (m, o) = (m.Poke(op.Address, op.Size, op.Value), o.Poke(op.Address, op.Size, op.Value));
                    break;
                case OpKind.PokeSame:
                    (m, o) = (m.Poke(op.Address, op.Size, m.Peek(op.Address, op.Size)), o.Poke(op.Address, op.Size, o.Peek(op.Address, op.Size)));
                    break;
                case OpKind.Write:
                {
                    var (mm, mf) = m.Write(op.Address, op.Size, op.Value, op.AccessKind);
                    var of = o.Check(op.Address, op.Size, op.AccessKind);
                    ExpectEqual(of, mf, "Write fault", Where);
                    if (of is null) (m, o) = (mm, o.Poke(op.Address, op.Size, op.Value));
                    else Expect(ReferenceEquals(mm, m), () => "a faulting Write returned another memory\n" + Where());
                    break;
                }
                case OpKind.Read:
                {
                    var r = m.Read(op.Address, op.Size, op.AccessKind);
                    var of = o.Check(op.Address, op.Size, op.AccessKind);
                    ExpectEqual(new Access(of is null ? o.Peek(op.Address, op.Size) : 0, of), r, "Read", Where);
                    break;
                }
                case OpKind.Peek:
                    ExpectEqual(o.Peek(op.Address, op.Size), m.Peek(op.Address, op.Size), "Peek", Where);
                    break;
                case OpKind.WriteAll:
                {
                    var mf = m.WriteAll(op.Writes.Select(w => new PendingWrite(w.Address, w.Size, w.Value)).ToArray(), op.AccessKind, out var mm);
                    Event? of = null;
                    var next = o;
                    foreach (var w in op.Writes)
                    {
                        if ((of = o.Check(w.Address, w.Size, op.AccessKind)) is not null) break;
                        next = next.Poke(w.Address, w.Size, w.Value);
                    }
                    ExpectEqual(of, mf, "WriteAll fault", Where);
                    if (of is null) (m, o) = (mm, next);
                    else Expect(ReferenceEquals(mm, m), () => "a faulting WriteAll returned another memory\n" + Where());
                    break;
                }
                case OpKind.PokeAll:
                {
                    var quadwords = op.Writes.Select(w => KeyValuePair.Create(w.Address & ~7UL, w.Value)).ToArray();
                    m = m.PokeAll(quadwords);
                    foreach (var q in quadwords) o = o.Poke(q.Key, 8, q.Value);
                    break;
                }
                case OpKind.Build:
                {
                    // The same pages and contents built at once: runs of one page and the quadwords in ascending order,
                    // or (odd Against) in descending order with an earlier zero for every quadword, which a later pair overrides.
                    var runs = o.Pages.Select(kv => (kv.Key, 1, kv.Value)).ToList();
                    var quadwords = o.NonZeroQuadwords.Where(kv => kv.Value != 0).ToList();
                    if (op.Against % 2 == 1)
                    {
                        runs.Reverse();
                        quadwords.Reverse();
                        quadwords.InsertRange(0, quadwords.Select(kv => KeyValuePair.Create(kv.Key, 0UL)).ToList());
                    }
                    m = Memory.Build(runs.ToArray(), quadwords.ToArray());
                    break;
                }
                case OpKind.ReadAll:
                {
                    int count = Math.Clamp(op.Size, 0, 8);
                    var got = new ulong[count];
                    var mf = m.ReadAll(op.Address, got, op.AccessKind);
                    Event? of = null;
                    var expected = new ulong[count];
                    for (int k = 0; k < count && of is null; k++)
                    {
                        ulong a = op.Address + (ulong)(8 * k);
                        if ((of = o.Check(a, 8, op.AccessKind)) is null) expected[k] = o.Peek(a, 8);
                    }
                    ExpectEqual(of, mf, "ReadAll fault", Where);
                    if (of is null) Expect(got.SequenceEqual(expected), () => "ReadAll values\n" + Where());
                    break;
                }
            }
            versions.Add((m, o));

            Expect(m.Pages.SequenceEqual(o.Pages), () => "pages differ\n" + Where());
            var nonZero = o.NonZeroQuadwords.Where(kv => kv.Value != 0).ToList();
            Expect(m.NonZeroQuadwords.SequenceEqual(nonZero), () => $"non-zero quadwords differ: {string.Join(",", m.NonZeroQuadwords.Select(kv => $"{kv.Key:X}={kv.Value:X}"))}\n" + Where());
            ExpectEqual($"{o.Pages.Count} pages, {nonZero.Count} non-zero quadwords", m.ToString(), "ToString", Where);

            var (pm, po) = versions[op.Against % versions.Count];
            bool same = po.SameAs(o);
            ExpectEqual(same, m.Equals(pm), $"equality with version {op.Against % versions.Count}", Where);
            ExpectEqual(same, pm.Equals(m), $"equality of version {op.Against % versions.Count} with this one", Where);
            if (same) ExpectEqual(pm.GetHashCode(), m.GetHashCode(), "hash codes of equal memories", Where);
            var differing = o.NonZeroQuadwords.Concat(po.NonZeroQuadwords).Select(kv => kv.Key).Distinct()
                .Where(q => o.Peek(q, 8) != po.Peek(q, 8)).OrderBy(q => q);
            Expect(m.DifferingQuadwords(pm).SequenceEqual(differing), () => "DifferingQuadwords\n" + Where());
        }
    }, cases: 300);
}
