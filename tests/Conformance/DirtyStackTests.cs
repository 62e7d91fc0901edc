using FsCheck;
using FsCheck.Fluent;
using Fred.Dut;
using Fred.Generators;
using Fred.Model;
using static Fred.Conformance.Support.Conformance;

namespace Fred.Conformance;

/// <summary>
/// Generated contexts make every write observable: about half of them start with random non-zero quadwords under
/// every stack pointer, so a delivery that skips a frame slot whose new value is 0 leaves dirt behind; the dirt
/// shrinks away as one step.
/// </summary>
public class DirtyStackTests
{
    static MachineState[] Sample(Gen<MachineState> g, ulong seed) => Gen.Sample(Gen.ArrayOf(g, 400), 1, Campaign.RndOf(seed, 0), 1)[0];

    public static TheoryData<string> Generators => new(["kernel", "user", "real"]);

    static Gen<MachineState> ByName(string name) => name switch
    {
        "kernel" => Arbitraries.KernelContext,
        "user" => Arbitraries.UserContext,
        _ => Arbitraries.RealContext,
    };

    [Theory]
    [MemberData(nameof(Generators))]
    [Trait("Rule", "FRED-FRAME-01")]
    [Trait("Rule", "FRED-DELIV-08")]
    public void About_half_of_the_generated_contexts_have_dirty_stacks(string generator)
    {
        var states = Sample(ByName(generator), 7);
        int dirty = states.Count(s => World.DirtKey(s) is not null);
        Assert.InRange(dirty, 140, 260);
    }

    /// <summary>Contexts from the generators with their own dirt removed, and a key for new dirt.</summary>
    static Arbitrary<(MachineState Clean, ulong Key)> CleanContexts => Arb.From(
        from s in Gen.OneOf(Arbitraries.Context, Arbitraries.RealContext)
        from key in Arbitraries.UInt64
        select (World.Clean(s), key));

    [Fact]
    [Trait("Rule", "FRED-FRAME-01")]
    public void Dirt_covers_every_mapped_quadword_under_each_stack_pointer_and_nothing_else()
    {
        Check(CleanContexts, t =>
        {
            var (s, key) = t;
            var d = World.Dirty(s, key);
            Expect(d.Memory.Pages.SequenceEqual(s.Memory.Pages), () => "dirt changed the page map");
            var regions = new (string Name, ulong Top, ulong Span)[]
            {
                ("RSP", s.Rsp, World.RspDirtSpan),
                ("RSP0", s.Fred.Rsp0, World.LevelDirtSpan), ("RSP1", s.Fred.Rsp1, World.LevelDirtSpan),
                ("RSP2", s.Fred.Rsp2, World.LevelDirtSpan), ("RSP3", s.Fred.Rsp3, World.LevelDirtSpan),
                ("SSP", s.Cet.Ssp, World.ShadowDirtSpan), ("PL0_SSP", s.Fred.Ssp0, World.ShadowDirtSpan),
                ("SSP1", s.Fred.Ssp1, World.ShadowDirtSpan), ("SSP2", s.Fred.Ssp2, World.ShadowDirtSpan), ("SSP3", s.Fred.Ssp3, World.ShadowDirtSpan),
            };
            var covered = new HashSet<ulong>();
            foreach (var (name, top, span) in regions)
                for (ulong off = 8; off <= span; off += 8)
                {
                    ulong a = unchecked((top & ~7UL) - off);
                    if (d.Memory.AccessOf(a) == PageAccess.None) continue;
                    covered.Add(a);
                    Expect(d.Memory.Peek(a, 8) != 0, () => $"{name} - 0x{off:X}: 0x{a:X} is mapped but holds 0 after Dirty");
                }
            foreach (var q in d.Memory.NonZeroQuadwords.Where(q => q.Value != s.Memory.Peek(q.Key, 8)))
                Expect(covered.Contains(q.Key), () => $"dirt at 0x{q.Key:X}, under no stack pointer");
            Expect(d.Memory.NonZeroQuadwords.Where(q => covered.Contains(q.Key)).Select(q => q.Value).Distinct().Count() > covered.Count / 2,
                () => "dirt values repeat");
        }, cases: 200);
    }

    [Fact]
    [Trait("Rule", "FRED-FRAME-01")]
    public void Cleaning_dirt_gives_back_the_clean_memory()
    {
        Check(CleanContexts, t =>
        {
            var (s, key) = t;
            Expect(World.DirtKey(s) is null, () => "a cleaned state still has dirt");
            var d = World.Dirty(s, key);
            Expect(d.Memory.Equals(s.Memory) || World.DirtKey(d) == key, () => "DirtKey does not find the key of the dirt");
            Expect(World.Clean(d).Memory.Equals(s.Memory), () => "Clean(Dirty(s)) is not s");
        }, cases: 200);
    }

    [Fact]
    [Trait("Rule", "FRED-FRAME-01")]
    public void Shrinking_a_dirty_case_first_offers_it_with_clean_stacks()
    {
        var clean = World.Kernel() with { Rsp = World.KernelStackBase + 0x2F00 };
        var dirty = World.Dirty(clean, 0x1234_5678_9ABC_DEF0);
        var c = new DeliveryCase(dirty, Event.Exception(Vector.GP, 0x18));
        var first = Arbitraries.ShrinkDelivery(c).First();
        Assert.True(first.State.Memory.Equals(clean.Memory), "the first shrink is not the case over clean stacks");
        Assert.Equal(c.Event, first.Event);
        var sc = new Scenario(dirty, [new DeliverStep(c.Event)]);
        Assert.Contains(Arbitraries.ShrinkDutScenario(sc), x => x.Initial.Memory.Equals(clean.Memory) && x.Steps.Length == 1);
        Assert.DoesNotContain(Arbitraries.ShrinkDelivery(c with { State = clean }), x => x.Event == c.Event && x.State == clean);
    }

    /// <summary>Delivery cases over dirty stacks.</summary>
    static Arbitrary<DeliveryCase> DirtyDeliveries => Arb.From(
        from c in Arbitraries.UnmaskedDelivery
        from key in Arbitraries.UInt64
        select c with { State = World.Dirty(World.Clean(c.State), key) }, Arbitraries.ShrinkDelivery);

    [Fact]
    [Trait("Rule", "FRED-FRAME-01")]
    [Trait("Rule", "FRED-DELIV-08")]
    public void Over_dirty_stacks_every_frame_slot_a_delivery_writes_held_a_non_zero_quadword_before()
    {
        Check(DirtyDeliveries, c =>
        {
            var r = Delivery.Deliver(c.State, c.Event);
            if (r.Outcome.Kind != OutcomeKind.Delivered) return;
            for (int slot = 0; slot < 8; slot++)
            {
                ulong a = r.State.Rsp + 8UL * (ulong)slot;
                Expect(c.State.Memory.Peek(a, 8) != 0, () => $"frame slot {slot} at 0x{a:X} held 0 before the delivery: a skipped write of 0 there is not seen{Environment.NewLine}{c}");
            }
        });
    }
}
