using Fred.Model;

namespace Fred.Dut;

/// <summary>One named register or MSR the protocol carries, with how to read it from and write it into a state.</summary>
public sealed record U64Field(string Name, Func<MachineState, ulong> Get, Func<MachineState, ulong, MachineState> Set, ulong Max = ulong.MaxValue);

/// <summary>One named boolean the protocol carries.</summary>
public sealed record BoolField(string Name, Func<MachineState, bool> Get, Func<MachineState, bool, MachineState> Set);

/// <summary>The state fields of the protocol, in wire order; one table shared by encoder, decoder and comparator.</summary>
public static class StateFields
{
    /// <summary>Every 64-bit (or narrower) register and MSR.</summary>
    public static readonly U64Field[] U64 =
    [
        new("rip", s => s.Rip, (s, v) => s with { Rip = v }),
        new("rsp", s => s.Rsp, (s, v) => s with { Rsp = v }),
        new("rflags", s => s.Rflags, (s, v) => s with { Rflags = v }),
        new("cs", s => s.Cs, (s, v) => s with { Cs = (ushort)v }, 0xFFFF),
        new("ss", s => s.Ss, (s, v) => s with { Ss = (ushort)v }, 0xFFFF),
        new("cs_limit", s => s.CsLimit, (s, v) => s with { CsLimit = (uint)v }, 0xFFFF_FFFF),
        new("rax", s => s.Rax, (s, v) => s with { Rax = v }),
        new("rcx", s => s.Rcx, (s, v) => s with { Rcx = v }),
        new("r11", s => s.R11, (s, v) => s with { R11 = v }),
        new("gs_base", s => s.GsBase, (s, v) => s with { GsBase = v }),
        new("kernel_gs_base", s => s.KernelGsBase, (s, v) => s with { KernelGsBase = v }),
        new("cr2", s => s.Cr2, (s, v) => s with { Cr2 = v }),
        new("cr4", s => s.Cr4, (s, v) => s with { Cr4 = v }),
        new("efer", s => s.Efer, (s, v) => s with { Efer = v }),
        new("star", s => s.Star, (s, v) => s with { Star = v }),
        new("gdtr_base", s => s.GdtBase, (s, v) => s with { GdtBase = v }),
        new("gdtr_limit", s => s.GdtLimit, (s, v) => s with { GdtLimit = (ushort)v }, 0xFFFF),
        new("fred_config", s => s.Fred.Config.Value, (s, v) => s with { Fred = s.Fred with { Config = new FredConfig(v) } }),
        new("fred_rsp0", s => s.Fred.Rsp0, (s, v) => s with { Fred = s.Fred with { Rsp0 = v } }),
        new("fred_rsp1", s => s.Fred.Rsp1, (s, v) => s with { Fred = s.Fred with { Rsp1 = v } }),
        new("fred_rsp2", s => s.Fred.Rsp2, (s, v) => s with { Fred = s.Fred with { Rsp2 = v } }),
        new("fred_rsp3", s => s.Fred.Rsp3, (s, v) => s with { Fred = s.Fred with { Rsp3 = v } }),
        new("fred_stklvls", s => s.Fred.StackLevels.Value, (s, v) => s with { Fred = s.Fred with { StackLevels = new StackLevels(v) } }),
        new("pl0_ssp", s => s.Fred.Ssp0, (s, v) => s with { Fred = s.Fred with { Ssp0 = v } }),
        new("fred_ssp1", s => s.Fred.Ssp1, (s, v) => s with { Fred = s.Fred with { Ssp1 = v } }),
        new("fred_ssp2", s => s.Fred.Ssp2, (s, v) => s with { Fred = s.Fred with { Ssp2 = v } }),
        new("fred_ssp3", s => s.Fred.Ssp3, (s, v) => s with { Fred = s.Fred with { Ssp3 = v } }),
        new("s_cet", s => s.Cet.SCet, (s, v) => s with { Cet = s.Cet with { SCet = v } }),
        new("u_cet", s => s.Cet.UCet, (s, v) => s with { Cet = s.Cet with { UCet = v } }),
        new("pl3_ssp", s => s.Cet.Pl3Ssp, (s, v) => s with { Cet = s.Cet with { Pl3Ssp = v } }),
        new("ssp", s => s.Cet.Ssp, (s, v) => s with { Cet = s.Cet with { Ssp = v } }),
    ];

    /// <summary>Every boolean.</summary>
    public static readonly BoolField[] Bool =
    [
        new("l", s => s.Is64BitMode, (s, v) => s with { Is64BitMode = v }),
        new("nmi_blocked", s => s.NmiBlocked, (s, v) => s with { NmiBlocked = v }),
        new("sti_blocked", s => s.StiBlocked, (s, v) => s with { StiBlocked = v }),
        new("pending_db", s => s.PendingSingleStep, (s, v) => s with { PendingSingleStep = v }),
        new("ibt_waiting", s => s.Cet.SupervisorTrackerWaiting, (s, v) => s with { Cet = s.Cet with { SupervisorTrackerWaiting = v } }),
        new("enclave", s => s.InEnclave, (s, v) => s with { InEnclave = v }),
    ];

    /// <summary>Every field name, in wire order.</summary>
    public static IEnumerable<string> Names => U64.Select(f => f.Name).Concat(Bool.Select(f => f.Name));

    /// <summary>The names of the fields whose values differ between two states (memory aside).</summary>
    public static IEnumerable<string> Differing(MachineState a, MachineState b) =>
        U64.Where(f => f.Get(a) != f.Get(b)).Select(f => f.Name)
            .Concat(Bool.Where(f => f.Get(a) != f.Get(b)).Select(f => f.Name));

    /// <summary>A field's value rendered for a report.</summary>
    public static string Show(MachineState s, string name) =>
        U64.FirstOrDefault(f => f.Name == name) is { } u ? $"0x{u.Get(s):X}"
        : Bool.FirstOrDefault(f => f.Name == name) is { } b ? (b.Get(s) ? "true" : "false") : "?";
}
