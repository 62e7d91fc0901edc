using FsCheck;
using FsCheck.Fluent;
using Fred.Model;
using Fred.Reference;

namespace Fred.Generators;

/// <summary>An event delivered from a context: the unit of the single-event properties.</summary>
public sealed record DeliveryCase(MachineState State, Event Event)
{
    /// <inheritdoc/>
    public override string ToString() => Render.Case(this);
}

/// <summary>A malformed-frame case: a context that has taken an event, then one frame quadword overwritten.</summary>
public sealed record EretCase(DeliveryCase Delivery, int Slot, ulong Value)
{
    /// <inheritdoc/>
    public override string ToString() => $"{Delivery}{Environment.NewLine}then frame +{Slot * 8} <- 0x{Value:X}";
}

/// <summary>An initial state and a sequence of steps.</summary>
public sealed record Scenario(MachineState Initial, Step[] Steps)
{
    /// <inheritdoc/>
    public override string ToString() => Render.Scenario(this);
}

/// <summary>Every generator and shrinker the suite uses, in one place.</summary>
public static class Arbitraries
{
    // ---- numbers and addresses --------------------------------------------------------------------

    /// <summary>Any 64-bit value, biased toward interesting ones.</summary>
    public static Gen<ulong> UInt64 { get; } = Gen.Frequency(
        (6, Gen.Zip(Gen.Zip(Gen.Choose(0, 0xFFFF), Gen.Choose(0, 0xFFFF)), Gen.Zip(Gen.Choose(0, 0xFFFF), Gen.Choose(0, 0xFFFF)))
            .Select(t => ((ulong)(uint)t.Item1.Item1 << 48) | ((ulong)(uint)t.Item1.Item2 << 32) | ((ulong)(uint)t.Item2.Item1 << 16) | (uint)t.Item2.Item2)),
        (1, Gen.Elements(0UL, 1UL, 2UL, 0x3FUL, 0x40UL, 0xFFFUL, 0x1000UL, 0x7FFF_FFFF_FFFFUL, 0x8000_0000_0000UL,
            0xFFFF_8000_0000_0000UL, 0xFFFF_7FFF_FFFF_FFFFUL, ulong.MaxValue)),
        (1, Gen.Choose(0, 63).Select(b => 1UL << b)));

    /// <summary>Canonical 48-bit addresses, lower and upper half.</summary>
    public static Gen<ulong> CanonicalAddress { get; } = UInt64.Select(v => (ulong)(((long)v << 16) >> 16));

    /// <summary>Non-canonical addresses.</summary>
    public static Gen<ulong> NonCanonicalAddress { get; } = UInt64.Select(v =>
    {
        ulong c = (ulong)(((long)v << 16) >> 16);
        return c ^ (1UL << (48 + (int)(v % 16)));
    });

    /// <summary>A stack level 0..3.</summary>
    public static Gen<int> Level { get; } = Gen.Choose(0, 3);

    // ---- MSRs ---------------------------------------------------------------------------------------

    /// <summary>Valid FRED MSRs over the world's stacks (RSPn 64-byte aligned inside level n's region).</summary>
    public static Gen<FredMsrs> ValidMsrs { get; } =
        from entry in Gen.Frequency((3, Gen.Constant(World.DefaultEntry)), (1, CanonicalAddress.Select(a => a & ~0xFFFUL)))
        from redZone in Gen.Choose(0, 7)
        from intLevel in Level
        from sss in Gen.Elements(false, true)
        from levels in Gen.Frequency((2, UInt64), (1, Gen.Constant(World.LinuxStackLevels)), (1, Gen.Constant(0UL)))
        from rspDown in Gen.ArrayOf(Gen.Choose(0, 16), 4)
        from sspDown in Gen.ArrayOf(Gen.Choose(0, 16), 4)
        select new FredMsrs(FredConfig.Create(entry, redZone, intLevel, sss),
            World.LevelStackTop(0) - 64UL * (ulong)rspDown[0], World.LevelStackTop(1) - 64UL * (ulong)rspDown[1],
            World.LevelStackTop(2) - 64UL * (ulong)rspDown[2], World.LevelStackTop(3) - 64UL * (ulong)rspDown[3],
            new StackLevels(levels),
            World.ShadowStackTop(0) - 8UL * (ulong)sspDown[0], World.ShadowStackTop(1) - 8UL * (ulong)sspDown[1],
            World.ShadowStackTop(2) - 8UL * (ulong)sspDown[2], World.ShadowStackTop(3) - 8UL * (ulong)sspDown[3]);

    /// <summary>An MSR number: the model's, or any other.</summary>
    public static Gen<uint> MsrNumber { get; } = Gen.Frequency(
        (8, Gen.Elements(Msr.All)),
        (1, Gen.Choose(0, 0x2000).Select(n => (uint)n)),
        (1, Gen.Elements(0xC000_0080u, 0xC000_0082u, 0x6A1u, 0x6A5u, 0x6A6u, 0x1CBu, 0x1D5u)));

    /// <summary>A value for an MSR: often valid-looking, often with one reserved or high bit flipped.</summary>
    public static Gen<ulong> MsrValue { get; } = Gen.Frequency(
        (2, CanonicalAddress.Select(a => a & ~0xFFFUL)),
        (2, CanonicalAddress.Select(a => a & ~0x3FUL)),
        (2, UInt64),
        (1, NonCanonicalAddress),
        (1, Gen.Zip(CanonicalAddress, Gen.Choose(0, 11)).Select(t => (t.Item1 & ~0xFFFUL) | (1UL << t.Item2))));

    // ---- contexts ------------------------------------------------------------------------------------

    /// <summary>RFLAGS valid for ERETS: bit 1 set, bits 3, 5, 15, 17 and 63:22 clear.</summary>
    public static Gen<ulong> KernelRflags { get; } = UInt64.Select(v => (v & ~EretFrame.EretsFlagsMask) | 2);

    /// <summary>RFLAGS valid for ERETU: as for ERETS with IOPL 0.</summary>
    public static Gen<ulong> UserRflags { get; } = UInt64.Select(v => (v & ~EretFrame.EretuFlagsMask) | 2);

    static Gen<bool> Bool { get; } = Gen.Elements(false, true);

    /// <summary>CET settings: CR4.CET and the S_CET/U_CET enables.</summary>
    static Gen<(bool Cet, ulong SCet, ulong UCet)> CetSettings { get; } =
        from cetOn in Gen.Frequency((2, Gen.Constant(false)), (1, Gen.Constant(true)))
        from sSh in Bool
        from sIbt in Bool
        from uSh in Bool
        select (cetOn, (sSh ? CetState.ShadowStackEnable : 0) | (sIbt ? CetState.EndbranchEnable : 0), uSh ? CetState.ShadowStackEnable : 0UL);

    /// <summary>
    /// Half of the contexts of a generator with random non-zero quadwords under every stack pointer (World.Dirty), so
    /// that a delivery that skips a write, even one of 0, is seen; the other half over clean (zeroed) stacks.
    /// </summary>
    static Gen<MachineState> SometimesDirty(Gen<MachineState> contexts) =>
        from s in contexts
        from dirty in Bool
        from key in UInt64
        select dirty ? World.Dirty(s, key) : s;

    /// <summary>A valid ring-0 interrupted context at any stack level, over dirty stacks half the time.</summary>
    public static Gen<MachineState> KernelContext { get; } = SometimesDirty(
        from rev in Gen.Elements(Revision.Fred5, Revision.Fred3)
        from msrs in ValidMsrs
        from level in Level
        from rip in CanonicalAddress
        from rspOff in Gen.Choose(0x1000, 0x3FF8)
        from rflags in KernelRflags
        from cet in CetSettings
        from sspDown in Gen.Choose(0, 64)
        from waiting in Bool
        from nmi in Bool
        from sti in Bool
        from regs in Gen.ArrayOf(UInt64, 6)
        select (World.Kernel(rev) with
        {
            Fred = msrs,
            Rip = rip,
            Rsp = World.KernelStackBase + (ulong)rspOff,
            Rflags = rflags,
            StiBlocked = sti && (rflags & MachineState.FlagIf) != 0,
            NmiBlocked = nmi,
            Cr4 = MachineState.Cr4Pae | MachineState.Cr4Fred | (cet.Cet ? MachineState.Cr4Cet : 0),
            Cet = new CetState(cet.SCet, cet.UCet, World.ShadowStackTop(4) - 8UL * (ulong)sspDown, CanonicalOf(regs[5]) & ~7UL, waiting),
            Rax = regs[0], Rcx = regs[1], R11 = regs[2], GsBase = CanonicalOf(regs[3]), KernelGsBase = CanonicalOf(regs[4]),
        }).WithStackLevel(level));

    /// <summary>Ring-3 code/stack selector pairs: STAR's two fast paths and the descriptor path.</summary>
    static Gen<(ushort Cs, ushort Ss, bool Is64, uint Limit)> UserSegments { get; } = Gen.Elements(
        (Selectors.UserCs, Selectors.UserDs, true, 0xFFFF_FFFFu),
        (Selectors.User32Cs, Selectors.UserDs, false, 0xFFFF_FFFFu),
        (World.AltUserCs64, World.AltUserDs, true, 0xFFFF_FFFFu),
        (World.AltUserCs32Limited, World.AltUserDs, false, World.LimitedLimit));

    /// <summary>A valid ring-3 interrupted context (FRED-RT-04), 64-bit or compatibility mode, over dirty stacks half the time.</summary>
    public static Gen<MachineState> UserContext { get; } = SometimesDirty(
        from rev in Gen.Elements(Revision.Fred5, Revision.Fred3)
        from msrs in ValidMsrs
        from seg in UserSegments
        from rip in CanonicalAddress
        from rsp in UInt64
        from rflags in UserRflags
        from cet in CetSettings
        from ssp in CanonicalAddress
        from nmi in Bool
        from sti in Bool
        from regs in Gen.ArrayOf(UInt64, 6)
        select World.User(rev) with
        {
            Fred = msrs with { Config = msrs.Config.WithCurrentStackLevel(0) },
            Cs = seg.Cs, Ss = seg.Ss, Is64BitMode = seg.Is64, CsLimit = seg.Limit,
            Rip = seg.Is64 ? rip : rip & (seg.Limit == 0xFFFF_FFFF ? 0xFFFF_FFFFUL : seg.Limit),
            Rsp = seg.Is64 ? rsp : rsp & 0xFFFF_FFFF,
            Rflags = rflags,
            StiBlocked = sti && (rflags & MachineState.FlagIf) != 0,
            NmiBlocked = nmi,
            Cr4 = MachineState.Cr4Pae | MachineState.Cr4Fred | (cet.Cet ? MachineState.Cr4Cet : 0),
            Cet = new CetState(cet.SCet, cet.UCet, seg.Is64 ? ssp & ~7UL : ssp & 0xFFFF_FFF8UL, CanonicalOf(regs[5]) & ~7UL, false),
            Rax = regs[0], Rcx = regs[1], R11 = regs[2], GsBase = CanonicalOf(regs[3]), KernelGsBase = CanonicalOf(regs[4]),
        });

    /// <summary>Any valid interrupted context, ring 0 or ring 3.</summary>
    public static Gen<MachineState> Context { get; } = Gen.OneOf(KernelContext, UserContext);

    static ulong CanonicalOf(ulong v) => (ulong)(((long)v << 16) >> 16);

    // ---- events ---------------------------------------------------------------------------------------

    /// <summary>An instruction length 1..15 for abstract instruction events.</summary>
    static Gen<byte> Length(int min) => Gen.Choose(min, 15).Select(n => (byte)n);

    /// <summary>Every architectural event: all eight types, every vector they allow, with error codes and event data.</summary>
    public static Gen<Event> ArchitecturalEvent { get; } = Gen.Frequency(
        (3, Gen.Choose(0, 255).Select(v => Event.Interrupt((byte)v))),
        (2, Gen.Choose(0, 0xFFFF).Select(src => Event.NonMaskable((ushort)src))),
        (6, from v in Gen.Choose(0, 31).Where(v => v != 2)
            from err in Gen.Frequency((3, Gen.Choose(0, 0xFFFF).Select(e => (ulong)e)), (1, UInt64))
            from data in Gen.Frequency((3, CanonicalAddress), (1, UInt64))
            from nested in Gen.Frequency((3, Gen.Constant(false)), (1, Gen.Constant(true)))
            select Event.Exception((byte)v, err, data) with { Nested = nested }),
        (3, from v in Gen.Choose(0, 255)
            from len in Length(2)
            select new Event(EventType.SoftwareInterrupt, (byte)v, InstructionLength: len)),
        (1, Length(1).Select(len => new Event(EventType.PrivilegedSoftwareException, Vector.DB, InstructionLength: len))),
        (1, from v in Gen.Elements(Vector.BP, Vector.OF)
            from len in Length(1)
            select new Event(EventType.SoftwareException, v, InstructionLength: len)),
        (2, from v in Gen.Elements(Vector.Syscall, Vector.Sysenter)
            from len in Length(2)
            select new Event(EventType.Other, v, InstructionLength: len)));

    /// <summary>Any type/vector pair, architectural or not (types 0..15 as the 4-bit field allows).</summary>
    public static Gen<Event> AnyEvent { get; } =
        from t in Gen.Choose(0, 15)
        from v in Gen.Choose(0, 255)
        from err in UInt64
        select new Event((EventType)t, (byte)v, err);

    /// <summary>A delivery case whose event is not masked in its context.</summary>
    public static Gen<DeliveryCase> UnmaskedDelivery { get; } =
        from s in Context
        from e in ArchitecturalEvent
        select new DeliveryCase(Unmask(s, e), e);

    /// <summary>A delivery case from a context at any level, masked or not.</summary>
    public static Gen<DeliveryCase> AnyDelivery { get; } =
        from s in Context
        from e in ArchitecturalEvent
        select new DeliveryCase(s, e);

    /// <summary>Adjusts a context so the event is not masked (FRED-TYPE-04).</summary>
    public static MachineState Unmask(MachineState s, Event e) => e.Type switch
    {
        EventType.ExternalInterrupt => s with { Rflags = s.Rflags | MachineState.FlagIf, StiBlocked = false },
        EventType.Nmi => s with { NmiBlocked = false },
        _ => s,
    };

    /// <summary>FRED-aware shrinks of a delivery case: clean stacks, simpler event fields, lower stack levels, plainer flags and settings.</summary>
    public static IEnumerable<DeliveryCase> ShrinkDelivery(DeliveryCase c)
    {
        var (s, e) = (c.State, c.Event);
        if (World.DirtKey(s) is not null) yield return c with { State = World.Clean(s) };
        if (e.ErrorCode != 0) yield return c with { Event = e with { ErrorCode = 0 } };
        if (e.EventData != 0) yield return c with { Event = e with { EventData = 0 } };
        if (e.Nested) yield return c with { Event = e with { Nested = false } };
        if (e.InstructionLength > 2) yield return c with { Event = e with { InstructionLength = 2 } };
        if (e.Type == EventType.ExternalInterrupt && e.Vector != 0x20) yield return c with { Event = e with { Vector = 0x20 } };
        if (s.Revision == Revision.Fred3) yield return c with { State = s with { Revision = Revision.Fred5 } };
        if (s.StackLevel != 0) yield return c with { State = s.WithStackLevel(0) };
        if (s.Fred.StackLevels.Value != 0) yield return c with { State = s with { Fred = s.Fred with { StackLevels = new(0) } } };
        if (s.Fred.Config.Value != FredConfig.Create(World.DefaultEntry).Value && s.StackLevel == 0)
            yield return c with { State = s with { Fred = s.Fred with { Config = FredConfig.Create(World.DefaultEntry) } } };
        if ((s.Cr4 & MachineState.Cr4Cet) != 0) yield return c with { State = s with { Cr4 = s.Cr4 & ~MachineState.Cr4Cet } };
        ulong plainFlags = s.Cpl == 0 ? 0x2UL : 0x202UL;
        if (s.Rflags != plainFlags && !(e.Type == EventType.ExternalInterrupt && (s.Rflags & MachineState.FlagIf) != 0 && plainFlags == 2))
            yield return c with { State = s with { Rflags = plainFlags | (e.Type == EventType.ExternalInterrupt ? MachineState.FlagIf : 0), StiBlocked = false } };
        if (s.StiBlocked) yield return c with { State = s with { StiBlocked = false } };
        if (s.NmiBlocked && e.Type != EventType.Nmi) yield return c with { State = s with { NmiBlocked = false } };
        if (s.GsBase != 0 || s.KernelGsBase != 0) yield return c with { State = s with { GsBase = 0, KernelGsBase = 0 } };
    }

    /// <summary>Delivery cases whose event is not masked, with FRED-aware shrinking.</summary>
    public static Arbitrary<DeliveryCase> Deliveries => Arb.From(UnmaskedDelivery, ShrinkDelivery);

    /// <summary>Delivery cases that may be masked, with shrinking.</summary>
    public static Arbitrary<DeliveryCase> AnyDeliveries => Arb.From(AnyDelivery, ShrinkDelivery);

    // ---- malformed ERET frames ----------------------------------------------------------------------

    /// <summary>Delivery cases from ring 3 (for ERETU) or ring 0 (for ERETS).</summary>
    public static Gen<DeliveryCase> DeliveryFrom(int ring) =>
        from s in ring == 3 ? UserContext : KernelContext
        from e in ArchitecturalEvent
        select new DeliveryCase(Unmask(s, e), e);

    /// <summary>One rule-breaking replacement of a popped quadword (slot 1 RIP, 2 CS, 3 RFLAGS, 5 SS), per FRED-ERETU-04 / FRED-ERETS-03.</summary>
    static Gen<(int Slot, Func<ulong, MachineState, ulong> Break)> Breakage(bool user) => Gen.OneOf(
        NonCanonicalAddress.Select(a => (1, (Func<ulong, MachineState, ulong>)((_, _) => a))),
        Gen.Choose(user ? 16 : 19, 63).Where(b => !(b is 24 or 25 or 28)).Select(b => (2, (Func<ulong, MachineState, ulong>)((w, _) => w | (1UL << b)))),
        Gen.Choose(0, 0xFFFF).Select(sel => (2, (Func<ulong, MachineState, ulong>)((w, s) =>
            user ? (w & ~3UL) | (uint)(sel % 3) : (w & ~0xFFFFUL) | (ushort)(sel == s.Cs ? sel ^ 8 : sel)))),
        Gen.Elements(3, 5, 15, 17, 22, 31, 40, 63).Select(b => (3, (Func<ulong, MachineState, ulong>)((w, _) => w | (1UL << b)))),
        Gen.Constant((3, (Func<ulong, MachineState, ulong>)((w, _) => w & ~2UL))),
        Gen.Choose(19, 31).Select(b => (5, (Func<ulong, MachineState, ulong>)((w, _) => w | (1UL << b)))),
        Gen.Choose(0, 0xFFFF).Select(sel => (5, (Func<ulong, MachineState, ulong>)((w, s) =>
            user ? (w & ~3UL) | (uint)(sel % 3) : (w & ~0xFFFFUL) | (ushort)(sel == s.Ss ? sel ^ 8 : sel)))),
        user ? Gen.Choose(1, 3).Select(iopl => (3, (Func<ulong, MachineState, ulong>)((w, _) => w | ((ulong)iopl << 12))))
             : Gen.Constant((3, (Func<ulong, MachineState, ulong>)((w, _) => w | (1UL << 17)))));

    /// <summary>A delivered frame with one quadword broken so that ERETU (ring 3) or ERETS (ring 0) must refuse it.</summary>
    public static Arbitrary<EretCase> MalformedFrames(int ring) => Arb.From(
        from c in DeliveryFrom(ring)
        from br in Breakage(ring == 3)
        let h = Delivery.Deliver(c.State, c.Event).State
        let slotAddress = FrameAddress(h, br.Slot)
        select new EretCase(c, br.Slot, br.Break(h.Memory.Peek(slotAddress, 8), h)), ShrinkEret);

    /// <summary>Shrinks an ERET case through its delivery case, keeping the replaced quadword.</summary>
    public static IEnumerable<EretCase> ShrinkEret(EretCase c) => ShrinkDelivery(c.Delivery).Select(d => c with { Delivery = d });

    /// <summary>A delivered frame with one popped quadword replaced by an arbitrary value.</summary>
    public static Arbitrary<EretCase> ArbitraryFrames(int ring) => Arb.From(
        from c in DeliveryFrom(ring)
        from slot in Gen.Elements(1, 2, 3, 4, 5)
        from v in UInt64
        select new EretCase(c, slot, v), ShrinkEret);

    /// <summary>Address of frame slot n (0..7) as the handler sees it, before the FRED 3 error-code drop.</summary>
    public static ulong FrameAddress(MachineState handler, int slot) => handler.Rsp + 8UL * (ulong)slot;

    /// <summary>The handler state ready to execute ERET: the frame with the case's replacement, RSP adjusted for FRED 3.</summary>
    public static MachineState ReadyToReturn(EretCase c)
    {
        var h = Delivery.Deliver(c.Delivery.State, c.Delivery.Event).State;
        h = h with { Memory = h.Memory.Poke(FrameAddress(h, c.Slot), 8, c.Value) };
        return ReadyToReturn(h);
    }

    /// <summary>A handler state after the exit path: FRED 3 software drops the error code (FRED-REV-03).</summary>
    public static MachineState ReadyToReturn(MachineState handler) =>
        handler.Revision == Revision.Fred3 ? handler with { Rsp = handler.Rsp + 8 } : handler;

    // ---- broken stacks ------------------------------------------------------------------------------

    /// <summary>
    /// A delivery case whose stacks may be broken: each of the four level stacks and the interrupted kernel stack
    /// is unmapped or made read-only at random, and the CONFIG entry point may be non-canonical.
    /// </summary>
    public static Arbitrary<DeliveryCase> BrokenStacks => Arb.From(
        from s in Context
        from e in Gen.Frequency((2, ArchitecturalEvent),
            (1, Gen.Elements(Vector.PF, Vector.GP, Vector.SS, Vector.DE, Vector.TS, Vector.NP, Vector.CP, Vector.VE).Select(v => Event.Exception(v, 0, 0x1000))))
        let c = new DeliveryCase(Unmask(s, e), e)
        from breaks in Gen.ArrayOf(Gen.Elements(PageAccess.SupervisorData, PageAccess.None, PageAccess.Present), 5)
        from badEntry in Gen.Frequency((9, Gen.Constant(false)), (1, Gen.Constant(true)))
        select c with { State = Break(c.State, breaks, badEntry) }, ShrinkDelivery);

    static MachineState Break(MachineState s, PageAccess[] access, bool badEntry)
    {
        var m = s.Memory;
        for (int n = 0; n < 4; n++) m = m.Map(World.LevelStackBase + (ulong)n * 0x10000, World.StackRegion, access[n]);
        m = m.Map(World.KernelStackBase, World.StackRegion, access[4]);
        var config = badEntry ? new FredConfig((s.Fred.Config.Value & 0xFFF) | 0x0000_8000_0000_0000) : s.Fred.Config;
        return s with { Memory = m, Fred = s.Fred with { Config = config } };
    }

    // ---- event instructions --------------------------------------------------------------------------

    /// <summary>An event instruction's bytes with prefixes, and the mode it runs in.</summary>
    public sealed record InstructionCase(byte[] Bytes, bool Is64BitMode)
    {
        /// <inheritdoc/>
        public override string ToString() => $"{(Is64BitMode ? "64-bit" : "compatibility")} mode: {Convert.ToHexString(Bytes)}  {Render.Disassemble(Bytes, Is64BitMode)}";
    }

    static readonly byte[] LegalPrefixes = [0x66, 0x67, 0xF2, 0xF3, 0x2E, 0x36, 0x3E, 0x26, 0x64, 0x65];

    /// <summary>INT n, INT3, INT1, INTO, SYSCALL or SYSENTER with 0..14 legal prefixes (a REX last in 64-bit mode).</summary>
    public static Gen<InstructionCase> EventInstruction { get; } =
        from is64 in Gen.Elements(true, false)
        from opcode in Gen.Elements(new byte[] { 0xCD, 0x00 }, [0xCC], [0xF1], [0xCE], [0x0F, 0x05], [0x0F, 0x34])
        from imm in Gen.Choose(0, 255)
        from prefixes in Gen.Choose(0, 14).SelectMany(n => Gen.ArrayOf(Gen.Elements(LegalPrefixes), n))
        from rex in Gen.Choose(0x40, 0x4F)
        from withRex in Gen.Elements(false, true)
        let op = opcode[0] == 0xCD ? new byte[] { 0xCD, (byte)imm } : opcode
        select new InstructionCase([.. prefixes, .. (is64 && withRex ? new[] { (byte)rex } : []), .. op], is64);

    /// <summary>Event instructions, shrinking by dropping prefixes.</summary>
    public static Arbitrary<InstructionCase> EventInstructions => Arb.From(EventInstruction, c =>
        Enumerable.Range(0, c.Bytes.Length).Where(i => i < c.Bytes.Length - (c.Bytes[^2] is 0xCD or 0x0F ? 2 : 1))
            .Select(i => c with { Bytes = c.Bytes.Where((_, j) => j != i).ToArray() }));

    // ---- scenarios: state-dependent sequences ---------------------------------------------------------

    /// <summary>Instruction bytes that raise events in a mode (INTO only in compatibility mode).</summary>
    static Gen<byte[]> EventInstructionBytes(bool is64) => Gen.OneOf(
        Gen.Choose(0, 255).Select(n => new byte[] { 0xCD, (byte)n }),
        Gen.Elements(new byte[] { 0xCC }, [0xF1], [0x0F, 0x05], [0x0F, 0x34], is64 ? [0xCC] : [0xCE]));

    /// <summary>The next step from a state, given the rings of the handlers currently running (innermost first).</summary>
    static Gen<Step[]> NextSteps(MachineState s, IReadOnlyList<int> handlerRings)
    {
        if (s.PendingSingleStep)
            return Gen.Constant(new Step[] { new DeliverStep(Event.Exception(Vector.DB, 0, 1UL << 14)) });
        var deliver = ArchitecturalEvent.Select(e => new Step[] { new DeliverStep(e) });
        var execute = EventInstructionBytes(s.Is64BitMode).Select(b => new Step[] { new ExecuteStep(b) });
        if (handlerRings.Count == 0)
            return Gen.Frequency((3, deliver), (2, execute));
        Step eret = handlerRings[0] == 3 ? new EretuStep() : new EretsStep();
        Step[] ret = s.Revision == Revision.Fred3 ? [new AddRspStep(8), eret] : [eret];
        return Gen.Frequency((3, deliver), (1, execute), (4, Gen.Constant(ret)));
    }

    /// <summary>Generates up to n steps, simulating each on the model to keep track of running handlers.</summary>
    static Gen<List<Step>> StepsFrom(MachineState s, IReadOnlyList<int> rings, int n)
    {
        if (n <= 0) return Gen.Constant(new List<Step>());
        return NextSteps(s, rings).SelectMany(steps =>
        {
            var state = s;
            var handlers = rings.ToList();
            foreach (var step in steps)
            {
                var r = step.Apply(state);
                if (r.Outcome.Kind == OutcomeKind.Delivered) handlers.Insert(0, state.Cpl);
                if (r.Outcome.Kind == OutcomeKind.Returned && handlers.Count > 0) handlers.RemoveAt(0);
                if (r.Outcome.Kind == OutcomeKind.Shutdown) return Gen.Constant(steps.ToList());
                state = r.State;
            }
            return StepsFrom(state, handlers, n - steps.Length).Select(rest => steps.Concat(rest).ToList());
        });
    }

    /// <summary>Scenarios: a valid context, then events, event instructions and returns, nested as handlers run.</summary>
    public static Arbitrary<Scenario> Scenarios => Arb.From(
        Gen.Sized(size =>
            from s in Context
            from steps in StepsFrom(s, [], Math.Clamp(size, 2, 24))
            select new Scenario(s, steps.ToArray())),
        ShrinkScenario);

    /// <summary>Shrinks a scenario: drop one step (or an ADD RSP/ERET pair), then simplify the initial state.</summary>
    public static IEnumerable<Scenario> ShrinkScenario(Scenario sc)
    {
        for (int i = 0; i < sc.Steps.Length; i++)
        {
            int len = sc.Steps[i] is AddRspStep && i + 1 < sc.Steps.Length ? 2 : 1;
            yield return sc with { Steps = [.. sc.Steps[..i], .. sc.Steps[(i + len)..]] };
        }
        for (int i = 0; i < sc.Steps.Length; i++)
            if (sc.Steps[i] is DeliverStep { Event: var e } && (e.ErrorCode != 0 || e.EventData != 0))
                yield return sc with { Steps = [.. sc.Steps[..i], new DeliverStep(e with { ErrorCode = 0, EventData = 0 }), .. sc.Steps[(i + 1)..]] };
        foreach (var c in ShrinkDelivery(new DeliveryCase(sc.Initial, Event.Exception(Vector.DE))))
            yield return sc with { Initial = c.State };
    }

    // ---- kernel dispatch inputs ----------------------------------------------------------------------

    /// <summary>A pt_regs frame as dispatch sees it: any 4-bit type, any vector, either ring, any stack level.</summary>
    public sealed record DispatchCase(PtRegs Regs, bool FromUser, KernelConfig Config)
    {
        /// <inheritdoc/>
        public override string ToString() => $"{(FromUser ? "from user" : "from kernel")}, {Regs}, {Config}";
    }

    /// <summary>Every kernel configuration value the reference distinguishes.</summary>
    public static Gen<KernelConfig> KernelConfigs { get; } = Gen.Elements(KernelConfig.All().ToArray());

    /// <summary>Dispatch inputs over every type, vector, ring, stack level and configuration.</summary>
    public static Arbitrary<DispatchCase> DispatchCases => Arb.From(
        from type in Gen.Frequency((4, Gen.Choose(0, 7)), (1, Gen.Choose(8, 15)))
        from vector in Gen.Frequency(
            (3, Gen.Choose(0, 255)),
            (2, Gen.Choose(0, 31)),
            (3, Gen.Constant(type switch { 2 => 2, 5 => 1, 6 => 3, 7 => 1, 4 => 0x80, _ => 14 })),
            (1, Gen.Elements(2, 4, 0x80, 0xEB, 0xEC, 0xED, 0xFF)))
        from fromUser in Gen.Elements(true, false)
        from sl in Gen.Choose(0, 3)
        from l in Gen.Elements(true, false)
        from ilen in Gen.Choose(0, 15)
        from err in UInt64
        from ax in UInt64
        from ip in CanonicalAddress
        from config in KernelConfigs
        let cs = (ulong)(fromUser ? Selectors.UserCs : Selectors.KernelCs) | ((ulong)(fromUser ? 0 : sl) << 16)
        let ss = (ulong)(fromUser ? Selectors.UserDs : Selectors.KernelDs) | ((ulong)vector << 32) | ((ulong)type << 48) | (l ? 1UL << 57 : 0) | ((ulong)ilen << 60)
        select new DispatchCase(new PtRegs(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, ax, 0, 0, 0, 0, err, ip, cs, 0x202, 0x7FFF_0000, ss, 0), fromUser, config),
        ShrinkDispatch);

    /// <summary>Shrinks a dispatch case: zero error code, ax and instruction length, stack level 0, simple ip, the default configuration.</summary>
    public static IEnumerable<DispatchCase> ShrinkDispatch(DispatchCase c)
    {
        var r = c.Regs;
        if (r.OrigAx != 0) yield return c with { Regs = r with { OrigAx = 0 } };
        if (r.Ax != 0) yield return c with { Regs = r with { Ax = 0 } };
        if (r.Ip != 0x1000) yield return c with { Regs = r with { Ip = 0x1000 } };
        if (r.StackLevel != 0) yield return c with { Regs = r with { Cs = r.Cs & 0xFFFF } };
        if (r.InstructionLength != 2) yield return c with { Regs = r with { Ss = (r.Ss & ~(0xFUL << 60)) | (2UL << 60) } };
        if (c.Config != KernelConfig.Default) yield return c with { Config = KernelConfig.Default };
    }

    // ---- garbage: for totality --------------------------------------------------------------------------

    /// <summary>A state with every register drawn at random (reserved bits, non-canonical values, any selector), over random memory.</summary>
    public static Gen<MachineState> GarbageState { get; } =
        from r in Gen.ArrayOf(UInt64, 24)
        from flags in Gen.ArrayOf(Gen.Elements(false, true), 7)
        from rev in Gen.Elements(Revision.Fred3, Revision.Fred5, (Revision)0, (Revision)9)
        from pages in Gen.ArrayOf(Gen.Zip(UInt64, Gen.Elements(PageAccess.None, PageAccess.Present, PageAccess.SupervisorData, PageAccess.UserData)), 4)
        let memory = pages.Aggregate(World.BaseMemory, (m, p) => m.Map(p.Item1, 0x2000, p.Item2).Poke(p.Item1, 8, p.Item1 ^ 0x5A5A))
        select new MachineState
        {
            Revision = rev, Rip = r[0], Rsp = r[1], Rflags = r[2], Cs = (ushort)r[3], Ss = (ushort)(r[3] >> 16), Is64BitMode = flags[0],
            CsLimit = (uint)r[4], Rax = r[5], GsBase = r[6], KernelGsBase = r[7], Cr4 = r[8] | (flags[1] ? MachineState.Cr4Fred : 0),
            Efer = r[9], Star = r[10], GdtBase = flags[2] ? World.GdtBase : r[11], GdtLimit = (ushort)r[12],
            Fred = new FredMsrs(new FredConfig(r[13]), r[14], r[15], r[16], r[17], new StackLevels(r[18]), r[19], r[20], r[21], r[22]),
            Cet = new CetState(r[23], r[23] >> 3, r[20] ^ r[21], r[22] >> 1, flags[3]),
            NmiBlocked = flags[4], StiBlocked = flags[5], PendingSingleStep = flags[6], Memory = memory,
        };

    /// <summary>Any step at all: invalid events, random bytes, any MSR and value, any CR4, any RSP adjustment.</summary>
    public static Gen<Step> AnyStep { get; } = Gen.OneOf(
        AnyEvent.SelectMany(e => Gen.Zip(UInt64, Gen.Choose(0, 15)).Select(t => (Step)new DeliverStep(e with { EventData = t.Item1, InstructionLength = (byte)t.Item2, Nested = t.Item2 % 2 == 0 }))),
        Gen.Choose(0, 20).SelectMany(n => Gen.ArrayOf(Gen.Frequency((3, Gen.Elements<byte>(0xCD, 0xCC, 0xF1, 0xCE, 0x0F, 0x05, 0x34, 0xF0, 0x66, 0x48)), (1, Gen.Choose(0, 255).Select(b => (byte)b))), n))
            .Select(b => (Step)new ExecuteStep(b)),
        Gen.Constant((Step)new EretuStep()),
        Gen.Constant((Step)new EretsStep()),
        Gen.Zip(MsrNumber, UInt64).Select(t => (Step)new WrmsrStep(t.Item1, t.Item2)),
        UInt64.Select(v => (Step)new MovCr4Step(v)),
        Gen.Choose(-64, 64).Select(d => (Step)new AddRspStep(d)));

    /// <summary>Garbage scenarios, shrinking by dropping steps.</summary>
    public static Arbitrary<Scenario> GarbageScenarios => Arb.From(
        from s in Gen.OneOf(GarbageState, Context)
        from steps in Gen.ArrayOf(AnyStep, 12)
        select new Scenario(s, steps), ShrinkScenario);

    // ---- DUT campaigns -------------------------------------------------------------------------------

    /// <summary>What a DUT implements, as the campaign generators need it (from its hello and its profile).</summary>
    /// <param name="Revisions">Revisions to generate.</param>
    /// <param name="Cet">The DUT implements CET.</param>
    /// <param name="Compat">The DUT runs compatibility-mode code.</param>
    /// <param name="RealEvents">The DUT raises events only with real instructions and interrupts (a boot image): generate
    /// <see cref="RealEventScenario"/> cases.</param>
    public sealed record DutShape(IReadOnlyList<Revision> Revisions, bool Cet, bool Compat, bool RealEvents = false)
    {
        /// <summary>Everything the model implements.</summary>
        public static DutShape Full { get; } = new([Revision.Fred3, Revision.Fred5], true, true);
    }

    /// <summary>A delivery followed by the exit path and the ERET that returns from it.</summary>
    static Scenario RoundTrip(DeliveryCase c)
    {
        Step eret = c.State.Cpl == 3 ? new EretuStep() : new EretsStep();
        Step[] steps = c.State.Revision == Revision.Fred3 ? [new DeliverStep(c.Event), new AddRspStep(8), eret] : [new DeliverStep(c.Event), eret];
        return new Scenario(c.State, steps);
    }

    static Gen<Scenario> Single(Gen<DeliveryCase> g) => g.Select(c => new Scenario(c.State, [new DeliverStep(c.Event)]));

    static Gen<Scenario> Eret(Gen<EretCase> g, int ring) =>
        g.Select(c => new Scenario(ReadyToReturn(c), [ring == 3 ? new EretuStep() : new EretsStep()]));

    /// <summary>
    /// Every kind of case a DUT campaign runs: nested sequences, round trips, masked and invalid events, broken stacks,
    /// malformed and arbitrary ERET frames, event instructions, WRMSR and MOV CR4, shaped to what the DUT implements.
    /// </summary>
    public static Gen<Scenario> DutScenario(DutShape shape)
    {
        if (shape.RealEvents)
            return RealEventScenario.Where(sc => shape.Revisions.Contains(sc.Initial.Revision)
                && (shape.Compat || (sc.Initial.Is64BitMode && !(sc.Steps[0] is EretuStep && (sc.Initial.Memory.Peek(sc.Initial.Rsp + 16, 8) & 0xFFFF) == Selectors.User32Cs))));
        var sequences = Gen.Sized(size =>
            from s in Context
            from steps in StepsFrom(s, [], Math.Clamp(size / 4, 2, 16))
            select new Scenario(s, steps.ToArray()));
        var instruction =
            from s in Context
            from i in EventInstruction
            from locked in Gen.Frequency((5, Gen.Constant(false)), (1, Gen.Constant(true)))
            from at in Gen.Choose(0, i.Bytes.Length - 1)
            select new Scenario(s, [new ExecuteStep(locked ? [.. i.Bytes[..at], 0xF0, .. i.Bytes[at..]] : i.Bytes)]);
        var msr =
            from s in Gen.Frequency((4, KernelContext), (1, UserContext))
            from writes in Gen.Choose(1, 4).SelectMany(n => Gen.ArrayOf(MsrWrite, n))
            from e in ArchitecturalEvent
            select new Scenario(Unmask(s, e), [.. writes, new DeliverStep(e)]);
        var cr4 =
            from s in KernelContext
            from lma in Gen.Frequency((3, Gen.Constant(true)), (1, Gen.Constant(false)))
            from v in Gen.OneOf(UInt64, Gen.Elements(0UL, MachineState.Cr4Pae, MachineState.Cr4Pae | MachineState.Cr4Fred, MachineState.Cr4Pae | MachineState.Cr4Fred | MachineState.Cr4Cet))
            from e in ArchitecturalEvent
            let start = lma ? s : s with { Efer = s.Efer & ~MachineState.EferLma, Is64BitMode = false, Cr4 = s.Cr4 & ~MachineState.Cr4Fred }
            select new Scenario(Unmask(start, e), [new MovCr4Step(v), new DeliverStep(e)]);
        var ersLevel =
            from c in DeliveryFrom(0)
            from level in Level
            let h = Delivery.Deliver(c.State, c.Event).State
            let at = FrameAddress(h, 2)
            select new Scenario(ReadyToReturn(h with { Memory = h.Memory.Poke(at, 8, (h.Memory.Peek(at, 8) & ~(3UL << 16)) | ((ulong)(uint)level << 16)) }), [new EretsStep()]);
        var brokenAsync =
            from c in BrokenStacks.Generator
            from e in Gen.OneOf(Gen.Choose(32, 255).Select(v => Event.Interrupt((byte)v)), Gen.Constant(Event.NonMaskable()))
            from syscall in Gen.Elements(false, true)
            select syscall && c.State.Cpl == 3 ? new Scenario(c.State, [new ExecuteStep([0x0F, 0x05])]) : new Scenario(Unmask(c.State, e), [new DeliverStep(e)]);
        var all = Gen.Frequency(
            (6, sequences),
            (4, UnmaskedDelivery.Select(RoundTrip)),
            (2, Single(AnyDelivery)),
            (2, Single(BrokenStacks.Generator)),
            (1, brokenAsync),
            (1, ersLevel),
            (1, Eret(MalformedFrames(3).Generator, 3)),
            (1, Eret(MalformedFrames(0).Generator, 0)),
            (1, Eret(ArbitraryFrames(3).Generator, 3)),
            (1, Eret(ArbitraryFrames(0).Generator, 0)),
            (2, instruction),
            (2, msr),
            (1, cr4),
            (3, CorrectedRuleScenario));
        return all
            .Where(sc => shape.Revisions.Contains(sc.Initial.Revision) && (shape.Compat || sc.Initial.Is64BitMode))
            .Select(sc => shape.Cet ? sc : new Scenario(WithoutCet(sc.Initial), [.. sc.Steps.Where(s => s is not WrmsrStep w || !CetMsrs.Contains(w.Msr))
                .Select(s => s is MovCr4Step m ? m with { Value = m.Value & ~MachineState.Cr4Cet } : s)]))
            .Where(sc => sc.Steps.Length > 0);
    }

    static readonly uint[] CetMsrs = [Msr.SCet, Msr.UCet, Msr.Pl0Ssp, Msr.Pl3Ssp, Msr.FredSsp1, Msr.FredSsp2, Msr.FredSsp3];

    static readonly uint[] CheckedMsrs = [Msr.FredConfig, Msr.FredRsp0, Msr.FredRsp1, Msr.FredRsp2, Msr.FredRsp3, Msr.FredStackLevels, Msr.Pl0Ssp, Msr.FredSsp1, Msr.FredSsp2, Msr.FredSsp3];

    /// <summary>One WRMSR, aimed at the FRED MSRs' checks: reserved low bits, alignment, canonicality.</summary>
    public static Gen<Step> MsrWrite { get; } =
        from m in Gen.Frequency((4, Gen.Elements(CheckedMsrs)), (1, Gen.Elements(Msr.All)))
        from v in Gen.Frequency((3, CanonicalAddress.SelectMany(a => Gen.Elements(ReservedBitsOf(m)).Select(b => (a & ~0xFFFUL) | b))),
            (2, CanonicalAddress.SelectMany(a => Gen.Choose(0, 11).Select(b => (a & ~0xFFFUL) | (1UL << b)))), (2, MsrValue))
        select (Step)new WrmsrStep(m, v);

    /// <summary>The single bits WRMSR must refuse in an MSR's low 12 bits (FRED-MSR-03, -05, -07); bit 0 for the others.</summary>
    static ulong[] ReservedBitsOf(uint msr) => msr switch
    {
        Msr.FredConfig => [1UL << 2, 1UL << 4, 1UL << 5, 1UL << 11],
        >= Msr.FredRsp0 and <= Msr.FredRsp3 => [1, 2, 4, 8, 16, 32],
        Msr.Pl0Ssp or (>= Msr.FredSsp1 and <= Msr.FredSsp3) => [1, 2, 4],
        _ => [1],
    };

    /// <summary>The state with CET off: CR4.CET, IA32_S_CET and IA32_U_CET clear.</summary>
    public static MachineState WithoutCet(MachineState s) =>
        s with { Cr4 = s.Cr4 & ~MachineState.Cr4Cet, Cet = s.Cet with { SCet = 0, UCet = 0, SupervisorTrackerWaiting = false } };

    /// <summary>
    /// FRED-aware shrinks of a DUT case, simplest first: drop steps, zero error codes and event data, lower stack
    /// levels and simplify the initial state (ShrinkScenario), then make frames' replacement values simpler.
    /// </summary>
    public static IEnumerable<Scenario> ShrinkDutScenario(Scenario sc)
    {
        foreach (var s in ShrinkScenario(sc)) yield return s;
        if (sc.Initial.StackLevel > 0)
            yield return sc with { Initial = sc.Initial.WithStackLevel(sc.Initial.StackLevel - 1) };
        for (int i = 0; i < sc.Steps.Length; i++)
            if (sc.Steps[i] is WrmsrStep { Value: not 0 } w)
                yield return sc with { Steps = [.. sc.Steps[..i], w with { Value = w.Value & (w.Value - 1) }, .. sc.Steps[(i + 1)..]] };
    }

    // ---- cases a boot image can raise for real (spec/image-format.md) --------------------------------------

    /// <summary>
    /// Contexts a boot image can enter: ring 0 at any stack level, ring 3 in 64-bit or compatibility mode, code and
    /// stacks outside the image's low 64 MiB, TF clear, revision Fred5, no CET; over dirty stacks half the time (the
    /// image writes every initial quadword into the case's pages).
    /// </summary>
    public static Gen<MachineState> RealContext { get; } = SometimesDirty(
        from ring in Gen.Elements(0, 3)
        from compat in ring == 3 ? Gen.Frequency((4, Gen.Constant(false)), (1, Gen.Constant(true))) : Gen.Constant(false)
        from msrs in ValidMsrs
        from level in ring == 0 ? Level : Gen.Constant(0)
        from flags in ring == 0 ? KernelRflags : UserRflags
        from interruptsOn in Gen.Frequency((4, Gen.Constant(true)), (1, Gen.Constant(false)))
        from ripOffset in Gen.Choose(0, 0xFFF)
        from rspOffset in Gen.Choose(0x800, 0x3FF8)
        from regs in Gen.ArrayOf(UInt64, 4)
        from gs in Gen.ArrayOf(CanonicalAddress, 2)
        from broken in Gen.Frequency((6, Gen.Constant(-1)), (1, Level))   // one level's stack unmapped: faults during delivery
        from blocking in RealBlocking
        let f = (flags & ~MachineState.FlagTf & ~MachineState.FlagIf) | (interruptsOn ? MachineState.FlagIf : 0)
        // The image keeps the low 256 MiB for itself: an entry point there moves to the default one.
        let entry = msrs.Config.EntryPoint < 0x1000_0000 ? msrs.Config.Value - msrs.Config.EntryPoint + World.DefaultEntry : msrs.Config.Value
        let m0 = msrs with { Config = new FredConfig(entry).WithCurrentStackLevel(level) }
        let m = broken switch
        {
            0 => m0 with { Rsp0 = World.UnmappedStack },
            1 => m0 with { Rsp1 = World.UnmappedStack },
            2 => m0 with { Rsp2 = World.UnmappedStack },
            3 => m0 with { Rsp3 = World.UnmappedStack },
            _ => m0,
        }
        let kernel = World.Kernel(Revision.Fred5) with { Fred = m with { Config = new FredConfig(m.Config.Value & ~8UL) } }
        let common = ring == 0
            ? kernel with { Rip = World.ImageKernelCode + (ulong)ripOffset, Rsp = World.KernelStackBase + (ulong)rspOffset }
            : compat
                ? kernel with { Cs = Selectors.User32Cs, Ss = Selectors.UserDs, Is64BitMode = false, Rip = World.ImageUserCode32 + (ulong)ripOffset,
                    Rsp = World.CompatStackBase + (ulong)rspOffset, Memory = kernel.Memory.Map(World.CompatStackBase, World.StackRegion, PageAccess.UserData) }
                : kernel with { Cs = Selectors.UserCs, Ss = Selectors.UserDs, Rip = World.ImageUserCode + (ulong)ripOffset, Rsp = World.UserStackBase + (ulong)rspOffset }
        select common with
        {
            Rflags = f, Rax = regs[0], Rcx = regs[1], R11 = regs[2], GsBase = gs[0], KernelGsBase = gs[1], Cr2 = regs[3],
            // CR4.OSFXSR and OSXMMEXCPT as Linux has them, half the time (#XM needs them); blocking by STI in ring 0 with IF set
            // (ERETS sets it, ERETU never), blocking by NMI anywhere.
            Cr4 = common.Cr4 | (blocking.Sse ? RealSseCr4 : 0),
            StiBlocked = blocking.Sti && ring == 0 && interruptsOn,
            NmiBlocked = blocking.Nmi,
        });

    /// <summary>CR4.OSFXSR and CR4.OSXMMEXCPT: SSE instructions run and unmasked SIMD exceptions raise #XM.</summary>
    public const ulong RealSseCr4 = (1UL << 9) | (1UL << 10);

    /// <summary>The SSE bits of CR4 (half the time), blocking by STI and by NMI (one context in eight each) of a real-event context.</summary>
    static Gen<(bool Sse, bool Sti, bool Nmi)> RealBlocking { get; } =
        from sse in Bool
        from sti in Gen.Frequency((7, Gen.Constant(false)), (1, Gen.Constant(true)))
        from nmi in Gen.Frequency((7, Gen.Constant(false)), (1, Gen.Constant(true)))
        select (sse, sti, nmi);

    /// <summary>An event a boot image raises for real from a context: an event instruction, #DE, #UD, #NM, #SS, #GP, #AC, #PF, an interrupt, or with TF set the single-step #DB.</summary>
    public static Gen<Step> RealEvent(MachineState s)
    {
        // With TF set the event is the single-step trap after the instruction before RIP (the image runs a NOP there).
        if ((s.Rflags & MachineState.FlagTf) != 0)
            return Gen.Frequency(
                (3, Gen.Constant((Step)new DeliverStep(Event.Exception(Model.Vector.DB, eventData: Event.DebugSingleStep)))),
                // A data breakpoint (DR2/DR3) hit by the same instruction as the step: B2/B3 with BS.
                (s.StiBlocked ? 0 : 1, DataBreakpoints.Select(b => (Step)new DeliverStep(Event.Exception(Model.Vector.DB, eventData: b | Event.DebugSingleStep)))));
        var insn =
            from opcode in Gen.Frequency(
                (4, Gen.Choose(0, 255).Select(n => new byte[] { 0xCD, (byte)n })),
                (2, Gen.Constant(new byte[] { 0xCC })), (2, Gen.Constant(new byte[] { 0xF1 })), (2, Gen.Constant(new byte[] { 0xCE })),
                (2, Gen.Constant(new byte[] { 0x0F, 0x05 })), (2, Gen.Constant(new byte[] { 0x0F, 0x34 })), (1, Gen.Constant(new byte[] { 0x0F, 0x0B })))
            from prefix in Gen.Frequency((6, Gen.Constant(Array.Empty<byte>())), (1, Gen.Elements<byte[]>([0x66], [0xF3], [0x2E], [0x67, 0x3E])), (1, Gen.Constant(new byte[] { 0xF0 })))
            select (Step)new ExecuteStep([.. prefix, .. opcode]);
        // #PF: an unmapped address, a read-only page written, or (from ring 3) a supervisor page.
        bool user = s.Cpl == 3;
        var unmapped = (s.Is64BitMode ? CanonicalAddress.Where(a => a >= 0x1000_0000 && s.Memory.AccessOf(a) == PageAccess.None && (a >> 39) != 0x1FF)
            : Gen.Choose(0x1000, 0x7FFF).Select(p => (ulong)p << 16)).Select(a => (a, 0UL));
        var pageFault =
            // The GDT and the kernel stacks lie above 4 GiB, out of reach of compatibility mode's 32-bit addresses.
            from target in Gen.Frequency((3, unmapped),
                (s.Is64BitMode ? 1 : 0, Gen.Constant((World.GdtBase + 0x800, 3UL))),                   // write to the read-only GDT page
                (user && s.Is64BitMode ? 1 : 0, Gen.Constant((World.KernelStackBase + 0x100, 1UL))))   // ring 3 touching a supervisor page
            from write in target.Item2 == 3 ? Gen.Constant(true) : Gen.Elements(false, true)
            let present = target.Item2 != 0
            select (Step)new DeliverStep(Event.PageFault((present ? 1UL : 0) | (write ? 2UL : 0) | (user ? 4UL : 0), target.Item1));
        var all = new List<(int, Gen<Step>)>
        {
            (8, insn),
            (2, Gen.Constant((Step)new DeliverStep(Event.Exception(Model.Vector.DE)))),
            (1, Gen.Constant((Step)new DeliverStep(Event.InvalidOpcode))),
            (3, pageFault),
            (3, Gen.Choose(32, 255).Select(v => (Step)new DeliverStep(Event.Interrupt((byte)v)))),
            // Not while NMIs are blocked (the NMI would stay pending past the case) nor in an STI shadow (the SDM lets a
            // processor hold NMIs off there): the image declines both.
            (s.NmiBlocked || s.StiBlocked ? 0 : 1, Gen.Constant((Step)new DeliverStep(Event.NonMaskable()))),
        };
        all.Add((1, Gen.Constant((Step)new DeliverStep(Event.Exception(Model.Vector.NM)))));   // an x87 instruction with CR0.TS set
        // #AC: ring 3 with RFLAGS.AC set (UserRflags sets it half the time; the image runs with CR0.AM set, as Linux does).
        if (user && (s.Rflags & MachineState.FlagAc) != 0) all.Add((1, Gen.Constant((Step)new DeliverStep(Event.Exception(Model.Vector.AC)))));
        all.AddRange(RealDebugAndFloatingPoint(s));
        if (s.Is64BitMode)
        {
            all.Add((1, Gen.Constant((Step)new DeliverStep(Event.GeneralProtection()))));
            all.Add((1, Gen.Constant((Step)new DeliverStep(Event.Exception(Model.Vector.SS)))));
        }
        return Gen.Frequency(all.ToArray());
    }

    /// <summary>B2, B3 or both: data breakpoints (the image programs DR2 and DR3 as data breakpoints).</summary>
    static Gen<ulong> DataBreakpoints { get; } = Gen.Elements(4UL, 8UL, 12UL);

    /// <summary>
    /// The #DB of the debug registers and the floating-point exceptions a boot image raises for real: with RF clear, an
    /// instruction breakpoint (B0, B1 or both, a fault at RIP), a data breakpoint (B2, B3 or both, a trap after the
    /// instruction before RIP, not in an STI shadow) and in ring 0 general detect (BD); #MF; #XM when CR4 has
    /// OSFXSR and OSXMMEXCPT.
    /// </summary>
    static IEnumerable<(int, Gen<Step>)> RealDebugAndFloatingPoint(MachineState s)
    {
        static Gen<Step> Db(Gen<ulong> data) => data.Select(d => (Step)new DeliverStep(Event.Exception(Model.Vector.DB, eventData: d)));
        if ((s.Rflags & MachineState.FlagRf) == 0)
        {
            yield return (1, Db(Gen.Elements(1UL, 2UL, 3UL)));
            if (!s.StiBlocked) yield return (1, Db(DataBreakpoints));
            if (s.Cpl == 0) yield return (1, Db(Gen.Constant(1UL << 13)));
        }
        yield return (1, Gen.Constant((Step)new DeliverStep(Event.Exception(Model.Vector.MF))));
        if ((s.Cr4 & RealSseCr4) == RealSseCr4) yield return (1, Gen.Constant((Step)new DeliverStep(Event.Exception(Model.Vector.XF))));
    }

    /// <summary>The state with every IA32_FRED_RSPn that points at the unmapped stack moved back to its level's stack.</summary>
    static MachineState WithEveryStackMapped(MachineState s)
    {
        ulong Fix(ulong rsp, int level) => rsp == World.UnmappedStack ? World.LevelStackTop(level) : rsp;
        return s with { Fred = s.Fred with { Rsp0 = Fix(s.Fred.Rsp0, 0), Rsp1 = Fix(s.Fred.Rsp1, 1), Rsp2 = Fix(s.Fred.Rsp2, 2), Rsp3 = Fix(s.Fred.Rsp3, 3) } };
    }

    /// <summary>
    /// Cases for a DUT that raises events only for real (a boot image): one event, optionally the ERETU/ERETS that
    /// returns from it; or an ERET at ring 0 over the frame of such an event, broken or with its stack level changed.
    /// </summary>
    public static Gen<Scenario> RealEventScenario { get; } = Gen.Frequency<Scenario>(
        (4, from context in RealContext
            from stepping in Gen.Frequency((15, Gen.Constant(false)), (1, Gen.Constant(true)))
            // The state right after an instruction with TF set: RF clear, and the single-step trap is due (no STI shadow:
            // the instruction before RIP is not an STI).
            let s0 = stepping ? context with { Rflags = (context.Rflags | MachineState.FlagTf) & ~MachineState.FlagRf, StiBlocked = false } : context
            from e in RealEvent(s0)
            from back in Gen.Elements(false, true)
            let masked = e is DeliverStep { Event.Type: EventType.ExternalInterrupt } && ((s0.Rflags & MachineState.FlagIf) == 0 || s0.StiBlocked)
            let eret = back && !masked && !(e is ExecuteStep { Bytes: [.., 0xCE] } && (s0.Rflags & MachineState.FlagOf) == 0)
            // The image observes an ERET, a masked interrupt or an INTO that raises nothing through an INT3 probe,
            // which needs every stack: those cases keep their stacks whole.
            let s = eret || masked || e is ExecuteStep { Bytes: [.., 0xCE] } ? WithEveryStackMapped(s0) : s0
            select eret ? new Scenario(s, [e, s.Cpl == 3 ? new EretuStep() : new EretsStep()]) : new Scenario(s, [e])),
        (1, from s1 in RealContext
            let s = WithEveryStackMapped(s1)                                    // the ERET's outcome is observed by a probe
            from e in RealEvent(s)
            let r = e.Apply(s)
            // After an NMI the frame's context has NMIs blocked: the image enters it with NMIs blocked (FRED-IMG-02).
            where r.Outcome.Kind == OutcomeKind.Delivered
            from ripOffset in Gen.Choose(0, 0xFF0)
            from breakage in Gen.Frequency((2, Gen.Constant<(int Slot, Func<ulong, MachineState, ulong> Break)?>(null)),
                (2, Breakage(s.Cpl == 3).Select(b => ((int, Func<ulong, MachineState, ulong>)?)b)),
                (1, Level.Select(l => ((int, Func<ulong, MachineState, ulong>)?)(2, (w, _) => (w & ~(3UL << 16)) | ((ulong)(uint)l << 16)))))
            from wrongEret in Gen.Frequency((5, Gen.Constant(false)), (1, Gen.Constant(true)))
            let h = r.State
            let at = breakage is { } b ? FrameAddress(h, b.Item1) : 0
            let broken = breakage is { } bb ? h with { Memory = h.Memory.Poke(at, 8, bb.Item2(h.Memory.Peek(at, 8), h)) } : h
            select new Scenario(broken with { Rip = World.ImageKernelCode + (ulong)ripOffset },
                [(s.Cpl == 3) != wrongEret ? new EretuStep() : new EretsStep()])),
        (1, RealWriteScenario)
        );

    /// <summary>
    /// A WRMSR or MOV CR4 a boot image runs (spec/image-format.md, FRED-IMG-02) from a 64-bit context with RF clear: alone
    /// when it raises #GP, otherwise followed by an event the image raises with an instruction at RIP, which shows what the
    /// write left (CONFIG's entry point, red zone and stack level; RSPn; STKLVLS; the GS bases).
    /// </summary>
    public static Gen<Scenario> RealWriteScenario =>
        from c in RealContext
        where c.Is64BitMode
        // No STI shadow: the write runs before RIP, so the shadow could not cover the case's first instruction.
        let s = WithEveryStackMapped(c) with { Rflags = c.Rflags & ~MachineState.FlagRf, StiBlocked = false }
        from w in RealWrite(s)
        let r = w.Apply(s)
        // The event that shows the write's effect is raised by an instruction at RIP; the #DB of the debug registers,
        // #MF and #XM need setup code of their own before RIP, where the write runs.
        from e in RealEvent(r.State).Where(st => st is not DeliverStep { Event.Type: EventType.ExternalInterrupt or EventType.Nmi }
                                                 and not DeliverStep { Event: { Type: EventType.HardwareException, Vector: Vector.DB or Vector.MF or Vector.XF } })
        select r.Outcome.Kind == OutcomeKind.Completed ? new Scenario(s, [w, e]) : new Scenario(s, [w]);

    /// <summary>CR4 bits a boot image may flip (every 64-bit FRED processor has them; the harness survives them).</summary>
    static readonly int[] Cr4FlippableBits = [2, 3, 7, 8, 9, 10, 11, 16];

    /// <summary>CR4 bits reserved on every processor and in the model (15, 26, 29..31, 33..63).</summary>
    static readonly int[] Cr4ReservedBits = [15, 26, 29, 30, 31, .. Enumerable.Range(33, 31)];

    /// <summary>
    /// A write a boot image can run and survive: WRMSR of IA32_FRED_CONFIG (the entry point moved or not, any red zone,
    /// interrupt and current stack level; a reserved bit or a non-canonical entry point), IA32_FRED_RSPn (another level's
    /// stack, the unmapped one, misaligned, non-canonical), IA32_FRED_STKLVLS or a GS base; or MOV CR4 flipping bits the
    /// harness survives, setting a reserved bit or clearing PAE.
    /// </summary>
    public static Gen<Step> RealWrite(MachineState s)
    {
        var config =
            from entry in Gen.Frequency((2, Gen.Constant(s.Fred.Config.EntryPoint)), (1, Gen.Choose(1, 8).Select(k => World.DefaultEntry + 0x2000UL * (ulong)k)))
            from redZone in Gen.Choose(0, 7)
            from intLevel in Level
            from csl in Level
            from bad in Gen.Frequency((3, Gen.Constant(0UL)), (1, Gen.Elements(1UL << 2, 1UL << 4, 1UL << 5, 1UL << 11, 1UL << 47, 1UL << 60)))
            select (Step)new WrmsrStep(Msr.FredConfig, FredConfig.Create(entry, redZone, intLevel, currentStackLevel: csl).Value ^ bad);
        var rsp =
            from n in Level
            from v in Gen.Frequency(
                (3, Gen.Zip(Level, Gen.Choose(0, 16)).Select(t => World.LevelStackTop(t.Item1) - 64UL * (ulong)t.Item2)),
                (1, Gen.Constant(World.UnmappedStack)),
                (1, Gen.Zip(Level, Gen.Choose(1, 63)).Select(t => World.LevelStackTop(t.Item1) + (ulong)t.Item2)),
                (1, NonCanonicalAddress.Select(a => a & ~0x3FUL)))
            select (Step)new WrmsrStep(Msr.FredRsp0 + (uint)n, v);
        var levels = UInt64.Select(v => (Step)new WrmsrStep(Msr.FredStackLevels, v));
        var gs =
            from m in Gen.Elements(Msr.GsBase, Msr.KernelGsBase)
            from v in Gen.Frequency((3, CanonicalAddress), (1, NonCanonicalAddress))
            select (Step)new WrmsrStep(m, v);
        var cr4 =
            from flips in Gen.ArrayOf(Gen.Frequency((3, Gen.Constant(false)), (1, Gen.Constant(true))), Cr4FlippableBits.Length)
            from reserved in Gen.Elements(Cr4ReservedBits)
            from how in Gen.Frequency((4, Gen.Constant(0)), (1, Gen.Constant(1)), (1, Gen.Constant(2)))
            let flipped = s.Cr4 ^ Cr4FlippableBits.Where((_, i) => flips[i]).Aggregate(0UL, (a, b) => a | (1UL << b))
            select (Step)new MovCr4Step(how switch { 0 => flipped, 1 => flipped | (1UL << reserved), _ => flipped & ~MachineState.Cr4Pae });
        return Gen.Frequency((3, config), (3, rsp), (1, levels), (1, gs), (2, cr4));
    }

    // ---- cases aimed at the rules Fred corrected (spec/README.md, "Order of authority") ------------------------

    static MachineState SupervisorShadowStacks(MachineState s) =>
        s with { Cr4 = s.Cr4 | MachineState.Cr4Cet, Cet = s.Cet with { SCet = s.Cet.SCet | CetState.ShadowStackEnable } };

    /// <summary>
    /// An event instruction whose event cannot be delivered (FRED-NEST-07, FRED-NEST-08): broken stacks or a
    /// non-canonical entry point, so the exception is reported on the instruction, with EXT as the event decides.
    /// </summary>
    public static Gen<Scenario> InstructionOnBrokenStack { get; } =
        from c in BrokenStacks.Generator
        from bytes in EventInstructionBytes(c.State.Is64BitMode)
        from of in Bool
        select new Scenario(c.State with { Rflags = c.State.Rflags | (of ? MachineState.FlagOf : 0) }, [new ExecuteStep(bytes)]);

    /// <summary>An event instruction executed in an STI shadow in ring 0 (FRED-FRAME-10), RF possibly set (FRED-FRAME-09).</summary>
    public static Gen<Scenario> InstructionInStiShadow { get; } =
        from s in KernelContext
        from bytes in EventInstructionBytes(true)
        from rf in Bool
        select new Scenario(s with { Rflags = s.Rflags | MachineState.FlagIf | (rf ? MachineState.FlagRf : 0), StiBlocked = true }, [new ExecuteStep(bytes)]);

    /// <summary>
    /// A ring-3 event with user shadow stacks on and an SSP whose bits 63:48 do not copy bit 47 (FRED-CET-04), then the
    /// ERETU that reloads it from IA32_PL3_SSP.
    /// </summary>
    public static Gen<Scenario> UserSspNotCanonical { get; } =
        from u in UserContext.Where(u => u.Is64BitMode)
        from ssp in CanonicalAddress
        from flip in Gen.Elements(1UL << 47, 1UL << 52, 0xFFFFUL << 48)
        from e in Gen.OneOf(Gen.Choose(32, 255).Select(v => (Step)new DeliverStep(Event.Interrupt((byte)v))),
            EventInstructionBytes(true).Select(b => (Step)new ExecuteStep(b)))
        let s = Unmask(u with { Cr4 = u.Cr4 | MachineState.Cr4Cet, Cet = u.Cet with { UCet = CetState.ShadowStackEnable, Ssp = (ssp ^ flip) & ~7UL } },
            Event.Interrupt(0x20))
        select new Scenario(s, s.Revision == Revision.Fred3 ? [e, new AddRspStep(8), new EretuStep()] : [e, new EretuStep()]);

    /// <summary>
    /// ERETS over a shadow-stack record that differs from the frame (FRED-CET-05): the old SSP not 4-byte aligned or not
    /// canonical, the CS word's stack level or another bit changed, the RIP changed, or SSP moved off 8-byte alignment.
    /// </summary>
    public static Gen<Scenario> ShadowRecordTampered { get; } =
        from s0 in KernelContext
        from e in ArchitecturalEvent.Where(e => e.Type is not (EventType.ExternalInterrupt or EventType.Nmi))
        let s = SupervisorShadowStacks(s0) with { Cet = s0.Cet with { SCet = s0.Cet.SCet | CetState.ShadowStackEnable } }
        let r = Delivery.Deliver(s, e)
        where r.Outcome.Kind == OutcomeKind.Delivered && r.State.SupervisorShadowStack
        let h = r.State
        from how in Gen.Choose(0, 5)
        from bits in Gen.Choose(1, 3)
        let ssp = h.Cet.Ssp
        let tampered = how switch
        {
            0 => h with { Memory = h.Memory.Poke(ssp, 8, h.Memory.Peek(ssp, 8) | (uint)bits) },
            1 => h with { Memory = h.Memory.Poke(ssp, 8, h.Memory.Peek(ssp, 8) ^ (1UL << 50)) },
            2 => h with { Memory = h.Memory.Poke(ssp + 16, 8, h.Memory.Peek(ssp + 16, 8) ^ ((ulong)(uint)bits << 16)) },
            3 => h with { Memory = h.Memory.Poke(ssp + 16, 8, h.Memory.Peek(ssp + 16, 8) ^ (1UL << (32 + bits))) },
            4 => h with { Memory = h.Memory.Poke(ssp + 8, 8, h.Memory.Peek(ssp + 8, 8) ^ (1UL << bits)) },
            _ => h with { Cet = h.Cet with { Ssp = ssp + 4 } },
        }
        select new Scenario(ReadyToReturn(tampered), [new EretsStep()]);

    /// <summary>
    /// ERETU to compatibility mode with user and supervisor shadow stacks on, IA32_PL3_SSP above 4 GiB and, often, SSP
    /// not equal to IA32_PL0_SSP: both of FRED-CET-06's checks fail, and the first in the SDM's order decides.
    /// </summary>
    public static Gen<Scenario> EretuShadowStackChecks { get; } =
        from u0 in UserContext.Where(u => !u.Is64BitMode)
        from high in Gen.Choose(1, 0xFFFF)
        from offBy in Gen.Elements(0UL, 8UL, 0x100UL)
        let u = u0 with
        {
            Cr4 = u0.Cr4 | MachineState.Cr4Cet,
            Cet = u0.Cet with { SCet = CetState.ShadowStackEnable, UCet = CetState.ShadowStackEnable },
        }
        let e = Event.Exception(Vector.UD)
        let r = Delivery.Deliver(u, e)
        where r.Outcome.Kind == OutcomeKind.Delivered && r.State.StackLevel == 0
        let h = r.State with { Cet = r.State.Cet with { Pl3Ssp = ((ulong)(uint)high << 32) | (r.State.Cet.Pl3Ssp & 0xFFFF_FFF8), Ssp = r.State.Cet.Ssp + offBy } }
        select new Scenario(ReadyToReturn(h), [new EretuStep()]);

    /// <summary>
    /// Ring-0 events with supervisor shadow stacks on where the frame's stack, the shadow stack, or both cannot be
    /// written (FRED-CET-03's order decides which fault is reported).
    /// </summary>
    public static Gen<Scenario> FrameAndShadowStackBroken { get; } =
        from s0 in KernelContext
        from e in ArchitecturalEvent
        from frameAccess in Gen.Elements(PageAccess.SupervisorData, PageAccess.Present, PageAccess.None)
        from shadowAccess in Gen.Elements(PageAccess.Present, PageAccess.None)
        let s1 = SupervisorShadowStacks(s0)
        let m = s1.Memory.Map(World.KernelStackBase, World.StackRegion, frameAccess).Map(World.ShadowStackBase + 4 * 0x10000UL, World.StackRegion, shadowAccess)
        select new Scenario(Unmask(s1 with { Memory = m }, e), [new DeliverStep(e)]);

    /// <summary>
    /// Deliveries that raise an exception with an error code (FRED-NEST-08): a ring-0 stack pointer past the canonical
    /// boundary (#SS on the first frame slot), or a new stack level whose SSP has bit 2 set (#GP); the nested exception
    /// then goes to a good stack level, so its error code's EXT bit is seen.
    /// </summary>
    public static Gen<Scenario> DeliveryFaultsWithErrorCode { get; } = Gen.OneOf(
        from s0 in KernelContext
        from level in Gen.Choose(1, 3)
        from off in Gen.Choose(0, 0x3F)
        from step in Gen.OneOf(ArchitecturalEvent.Select(e => (Step)new DeliverStep(e)), EventInstructionBytes(true).Select(b => (Step)new ExecuteStep(b)))
        let s = s0.WithStackLevel(0) with
        {
            Rsp = 0x0000_8000_0000_1000UL + (ulong)off,   // past the canonical boundary by more than any red zone
            Fred = s0.Fred with { Config = s0.Fred.Config.WithCurrentStackLevel(0), StackLevels = s0.Fred.StackLevels.With(Vector.SS, level).With(Vector.GP, level) },
        }
        select new Scenario(step is DeliverStep d ? Unmask(s, d.Event) : s, [step]),
        from u in Context
        from level in Gen.Choose(1, 3)
        from step in Gen.OneOf(ArchitecturalEvent.Select(e => (Step)new DeliverStep(e)), EventInstructionBytes(u.Is64BitMode).Select(b => (Step)new ExecuteStep(b)))
        let s1 = SupervisorShadowStacks(u)
        let s = s1 with { Fred = s1.Fred with { Ssp0 = (s1.Fred.Ssp0 & ~7UL) | 4, StackLevels = s1.Fred.StackLevels.With(Vector.GP, level) } }
        select new Scenario(step is DeliverStep d ? Unmask(s, d.Event) : s, [step]));

    /// <summary>SYSCALL with IA32_EFER.SCE clear, and SYSCALL or SYSENTER in compatibility mode (FRED-INSN-04).</summary>
    public static Gen<Scenario> SyscallPreconditions { get; } =
        from u in UserContext
        from sce in Bool
        from bytes in Gen.Elements(new byte[] { 0x0F, 0x05 }, [0x0F, 0x05], [0x0F, 0x34], [0x66, 0x0F, 0x05])
        let s = u with { Efer = sce ? u.Efer | 1 : u.Efer & ~1UL }
        select new Scenario(s, s.Revision == Revision.Fred3 ? [new ExecuteStep(bytes), new AddRspStep(8), new EretuStep()] : [new ExecuteStep(bytes), new EretuStep()]);

    /// <summary>Every case aimed at the corrected rules, for campaigns.</summary>
    public static Gen<Scenario> CorrectedRuleScenario { get; } = Gen.OneOf(
        InstructionOnBrokenStack, InstructionInStiShadow, UserSspNotCanonical, ShadowRecordTampered, EretuShadowStackChecks,
        FrameAndShadowStackBroken, DeliveryFaultsWithErrorCode, SyscallPreconditions);

    // ---- hostile input -------------------------------------------------------------------------------

    static readonly string[] HostilePieces =
    [
        "{", "}", "[", "]", "\"", ":", ",", "\\", "\\u0000", "\\ud800", "0x", "0xffffffffffffffff", "-1", "1e308", "421.5",
        "99999999999999999999", "null", "true", "\"type\"", "\"id\"", "\"count\":1048576", "\u0000", "\u001b[2J", "\n", "\r",
        "\ud800", "\uffff", "=", "#", "allow ", "revisions", "name", "unobserved", " ", "\"case\"", "\"steps\"", "\"pages\"",
    ];

    /// <summary>
    /// Text a hostile file or DUT might send: any string, or one of <paramref name="valid"/> mutated (a span deleted,
    /// duplicated or replaced by JSON-ish pieces, control characters, huge or fractional numbers), a few times over.
    /// </summary>
    public static Gen<string> HostileText(IReadOnlyList<string> valid)
    {
        var piece = Gen.Elements(HostilePieces);
        var anyText = Gen.Choose(0, 64).SelectMany(n => Gen.ArrayOf(Gen.OneOf(piece, Gen.Choose(0, 0xFFFF).Select(c => ((char)c).ToString())), n))
            .Select(parts => string.Concat(parts));
        Gen<string> Mutate(string s) =>
            from kind in Gen.Choose(0, 3)
            from at in Gen.Choose(0, s.Length)
            from len in Gen.Choose(0, Math.Min(64, s.Length - at))
            from p in piece
            select kind switch
            {
                0 => s.Remove(at, len),
                1 => s.Insert(at, s.Substring(at, len)),
                2 => s.Remove(at, len).Insert(at, p),
                _ => s.Insert(at, p),
            };
        Gen<string> MutateTimes(string s, int n) => n == 0 ? Gen.Constant(s) : Mutate(s).SelectMany(m => MutateTimes(m, n - 1));
        var mutated = from s in Gen.Elements(valid.ToArray()) from n in Gen.Choose(1, 4) from m in MutateTimes(s, n) select m;
        return Gen.Frequency((1, anyText), (4, mutated));
    }
}
