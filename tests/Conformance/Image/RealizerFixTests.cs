using Fred.Bochs;
using Fred.Dut;
using Fred.Generators;
using Fred.Image;
using Fred.Model;

namespace Fred.Conformance.Image;

/// <summary>Cases the image used to decline or mislabel, and the ROMs of a Bochs outside /usr.</summary>
public class RealizerFixTests
{
    static MachineState User64 => World.Kernel() with
    {
        Cs = Selectors.UserCs, Ss = Selectors.UserDs, Rip = World.ImageUserCode + 0x10, Rsp = World.UserStackBase + 0x3F00, Rflags = 0x202,
    };

    [Fact]
    [Trait("Rule", "FRED-IMG-02")]
    public void INTO_in_64_bit_mode_is_realized_as_the_UD_it_raises()
    {
        var (r, why) = CaseRealizer.Realize(new DutCase(1, User64, [new ExecuteStep([0xCE])]));
        Assert.True(r is not null, why);
        Assert.Equal(FirstStep.Instruction, r!.Plan.First);
        Assert.Equal(new Outcome(OutcomeKind.Delivered, Event.InvalidOpcode), EventInstructions.Execute(User64, [0xCE]).Outcome);
    }

    [Fact]
    [Trait("Rule", "FRED-IMG-02"), Trait("Rule", "FRED-TYPE-04")]
    public void An_NMI_with_IF_clear_and_the_ERET_after_it_is_realized()
    {
        var k = World.Kernel() with { Rip = World.ImageKernelCode, Rflags = 0x2 };
        var (r, why) = CaseRealizer.Realize(new DutCase(1, k, [new DeliverStep(Event.NonMaskable()), new EretsStep()]));
        Assert.True(r is not null, why);
        // An external interrupt with IF clear is masked: an ERET after it still has nothing to return from.
        var (masked, reason) = CaseRealizer.Realize(new DutCase(1, k, [new DeliverStep(Event.Interrupt(0x40)), new EretsStep()]));
        Assert.Null(masked);
        Assert.Contains("masked interrupt", reason);
    }

    [Fact]
    [Trait("Rule", "FRED-IMG-04")]
    public void A_failed_entry_is_named_even_when_an_NMI_reached_the_harness_first()
    {
        var h = Harness.Build();
        var (r, why) = CaseRealizer.Realize(new DutCase(5, User64 with { Cs = Selectors.User32Cs, Is64BitMode = false, Rip = World.ImageUserCode32, Rsp = World.CompatStackBase + 0x3F00,
            Memory = User64.Memory.Map(World.CompatStackBase, World.StackRegion, PageAccess.UserData) },
            [new DeliverStep(Event.NonMaskable())]));
        Assert.True(r is not null, why);
        ulong[] Fields(ulong rip, ulong cs, ulong ss) => [1, 0xFFFF_C900_0010_3FC0, 2, 0x10, 0x18, 0, 0, 0, 0, 0, 0, World.DefaultEntry, 0, rip, cs, 2, 0, ss, 0, 0];
        var nmiInHarness = new Observation('X', 5, Fields(0x8929, 0x10, 0x0002_0002_0000_0018));
        var entryFault = new Observation('D', 5, Fields(h.EnterAt[1], 0x10, 0x0003_000D_0000_0018));
        var answer = Interpreter.Answer(r!, [nmiInHarness, entryFault], h, stoppedHere: false, shutdown: false);
        var broke = Assert.IsType<DutBroke>(answer);
        Assert.Contains("ERET into the case's context raised", broke.Detail);
    }

    [Fact]
    [Trait("Rule", "FRED-IMG-05")]
    public void A_Bochs_outside_usr_uses_the_ROMs_beside_it_or_refuses()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"fred-bochs-tree-{Guid.NewGuid():N}");
        try
        {
            Directory.CreateDirectory(Path.Combine(dir, "bios"));
            string binary = Path.Combine(dir, "bochs");
            File.WriteAllText(binary, "");
            string Fail(string m, int code) => throw new InvalidOperationException(m);
            var refused = Assert.Throws<InvalidOperationException>(() => BochsSetup.Resolve(binary, null, null, null, "nogui", false, 1000, null, (m, c) => { Fail(m, c); return null!; }));
            Assert.Contains("give --bios", refused.Message);
            Assert.Contains("belong to the system's Bochs", refused.Message);
            File.WriteAllText(Path.Combine(dir, "bios", "BIOS-bochs-latest"), "");
            File.WriteAllText(Path.Combine(dir, "bios", "VGABIOS-lgpl-latest.bin"), "");
            var found = BochsSetup.Resolve(binary, null, null, null, "nogui", false, 1000, null, (m, c) => { Fail(m, c); return null!; });
            Assert.Equal(Path.Combine(dir, "bios", "BIOS-bochs-latest"), found.Bios);
            Assert.Equal(Path.Combine(dir, "bios", "VGABIOS-lgpl-latest.bin"), found.VgaBios);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    [Trait("Rule", "FRED-IMG-02")]
    public void An_ERET_whose_frame_returns_into_itself_is_declined()
    {
        var k = World.Kernel() with { Rip = World.ImageKernelCode + 0x990 };
        var h = Delivery.Deliver(k, Event.Exception(Vector.UD)).State with { Rip = World.ImageKernelCode + 0x100 };
        Assert.NotNull(CaseRealizer.Realize(new DutCase(1, h, [new EretsStep()])).Case);      // the ERETS at +0x100 returns to +0x990
        var self = h with { Rip = World.ImageKernelCode + 0x98E };                              // the frame's RIP is 2 bytes into ERETS
        var (r, why) = CaseRealizer.Realize(new DutCase(1, self, [new EretsStep()]));
        Assert.Null(r);
        Assert.Contains("returns into the ERET itself", why);
    }
}
