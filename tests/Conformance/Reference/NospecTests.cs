using FsCheck.Fluent;
using Fred.Generators;
using Fred.Reference;
using static Fred.Conformance.Support.Conformance;

namespace Fred.Conformance.Reference;

/// <summary>Speculation-safe table indexing: array_index_nospec as the kernel computes it, and its use by every table.</summary>
public class NospecTests
{
    [Theory]
    [Trait("Rule", "FRED-KRN-16")]
    [InlineData(8)]      // RFC: the event-type tables
    [InlineData(32)]     // RFC: fred_exception's table
    [InlineData(21)]     // mainline: NR_SYSTEM_VECTORS with FIRST_SYSTEM_VECTOR 0xEB
    [InlineData(20)]     // ... with 0xEC
    public void Bounded_index_is_the_input_when_in_range_and_zero_otherwise(int size)
    {
        for (ulong index = 0; index < 256; index++)
        {
            ulong got = Nospec.ArrayIndex(index, (ulong)size);
            Assert.Equal(index < (ulong)size ? index : 0, got);
            Assert.Equal(index < (ulong)size ? ulong.MaxValue : 0, Nospec.Mask(index, (ulong)size));
        }
        for (ulong type = 0; type < 16; type++) Assert.Equal(type < 8 ? type : 0, Nospec.ArrayIndex(type, 8));
    }

    [Fact]
    [Trait("Rule", "FRED-KRN-16")]
    public void The_mask_is_right_for_any_64_bit_pair() => Check(Arb.From(Gen.Zip(Arbitraries.UInt64, Arbitraries.UInt64)), t =>
    {
        var (index, size) = t;
        if (size > long.MaxValue || index > long.MaxValue) return;                   // the kernel's precondition
        ExpectEqual(index < size ? index : 0UL, Nospec.ArrayIndex(index, size), $"array_index_nospec({index}, {size})", () => "");
    }, cases: 2000);

    [Fact]
    [Trait("Rule", "FRED-KRN-16")]
    public void Every_table_lookup_in_both_profiles_is_preceded_by_array_index_nospec()
    {
        foreach (var profile in Enum.GetValues<Profile>())
            foreach (var config in KernelConfig.All())
                for (int type = 0; type < 16; type++)
                    for (int vector = 0; vector < 256; vector++)
                        foreach (bool user in new[] { true, false })
                        {
                            var regs = Frames.Regs(type, vector, user);
                            var trace = Dispatcher.Dispatch(profile, regs, user, config).Trace.Select(c => c.Function).ToList();
                            // Table-driven steps: the RFC's type and exception tables, mainline's sysvec_table.
                            int tables = trace.Count(f => f is "fred_exception" || (profile == Profile.Rfc2022 && f is "fred_entry_from_user" or "fred_entry_from_kernel" && !(user && type == 7 && vector == 1)))
                                         + trace.Count(f => f.StartsWith("fred_sysvec_") || f == "fred_handle_spurious_interrupt");
                            Assert.True(trace.Count(f => f == "array_index_nospec") == tables,
                                $"{profile} type {type} vector {vector} {(user ? "user" : "kernel")}: {string.Join(" -> ", trace)}");
                        }
    }
}

/// <summary>pt_regs builders for hand-written dispatch cases.</summary>
public static class Frames
{
    /// <summary>pt_regs for a type/vector from user (CS 0x33) or kernel (CS 0x10 at a stack level).</summary>
    public static PtRegs Regs(int type, int vector, bool user, int level = 0, bool l = true, int ilen = 2, ulong err = 0, ulong ax = 0x27, ulong ip = 0x40_1002)
    {
        ulong cs = user ? 0x33UL : 0x10UL | ((ulong)level << 16);
        ulong ss = (user ? 0x2BUL : 0x18UL) | ((ulong)vector << 32) | ((ulong)type << 48) | (l ? 1UL << 57 : 0) | ((ulong)ilen << 60);
        return new PtRegs(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, ax, 0, 0, 0, 0, err, ip, cs, 0x202, 0x7FFF_0000, ss, 0);
    }
}
