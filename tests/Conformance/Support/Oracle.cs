using Fred.Model;

namespace Fred.Conformance.Support;

/// <summary>
/// The spec's delivery rules written again, independently of the model, from raw register bits
/// (spec/03-frame.md, spec/04-delivery-and-stack-levels.md, spec/05-event-data.md). Properties compare the model to this.
/// </summary>
public static class Oracle
{
    const ulong ErrorCodeVectors = 0b0010_0010_0111_1101_0000_0000;       // 8, 10..14, 17, 21
    const ulong FaultVectors = 0b0011_1011_0111_1100_1110_0001;           // 0, 5, 6, 7, 10..14, 16, 17, 19, 20, 21

    static ulong Config(MachineState s) => s.Fred.Config.Value;
    static int Cpl(MachineState s) => s.Cs & 3;

    /// <summary>FRED-DELIV-01.</summary>
    public static ulong EntryRip(MachineState s) => (Config(s) & 0xFFFF_FFFF_FFFF_F000) + (Cpl(s) == 3 ? 0UL : 0x100UL);

    /// <summary>Stack level before the event (FRED-FRAME-06).</summary>
    public static int OldLevel(MachineState s) => Cpl(s) == 3 ? 0 : (int)(Config(s) & 3);

    /// <summary>FRED-DELIV-02..04.</summary>
    public static int NewLevel(MachineState s, Event e)
    {
        bool ring3Plain = Cpl(s) == 3 && !e.Nested && !(e.Type == EventType.HardwareException && e.Vector == 8);
        int eventLevel = ring3Plain ? 0 : (int)e.Type switch
        {
            0 => (int)((Config(s) >> 9) & 3),
            2 or 3 or 5 or 6 => (int)((s.Fred.StackLevels.Value >> (2 * e.Vector)) & 3),
            _ => 0,
        };
        return Math.Max(eventLevel, OldLevel(s));
    }

    /// <summary>FRED-DELIV-05: the address just above the frame.</summary>
    public static ulong FrameTop(MachineState s, Event e)
    {
        int level = NewLevel(s, e);
        if (Cpl(s) == 3 || level > OldLevel(s))
            return level switch { 0 => s.Fred.Rsp0, 1 => s.Fred.Rsp1, 2 => s.Fred.Rsp2, _ => s.Fred.Rsp3 };
        return (s.Rsp - (Config(s) & 0x1C0)) & 0xFFFF_FFFF_FFFF_FFC0;
    }

    /// <summary>FRED-DATA-01..05.</summary>
    public static ulong EventData(Event e) => ((int)e.Type, e.Vector) switch
    {
        (3, 14) => e.EventData,
        (3, 1) => e.EventData & 0x1_E80F,
        (3, 7) => e.EventData,
        (2, _) => e.EventData & 0xFFFF,
        _ => 0,
    };

    /// <summary>The eight quadwords of the frame (FRED-FRAME-01..08, FRED-REV-02, FRED-TYPE-03).</summary>
    public static ulong[] Frame(MachineState s, Event e)
    {
        bool hwexc = e.Type == EventType.HardwareException;
        ulong err = hwexc && e.Vector != 8 && ((ErrorCodeVectors >> e.Vector) & 1) != 0 ? e.ErrorCode : 0;
        // RF: set for a fault (FRED-FRAME-05); clear for the events of INT n, INT1, INT3, INTO, SYSCALL and SYSENTER,
        // whose instruction cleared it as it started (FRED-FRAME-09); otherwise as interrupted.
        bool instructionEvent = (int)e.Type is 4 or 5 or 6 or 7;
        // A #DB reporting general detect (DR6.BD, bit 13) is a fault too; an instruction breakpoint's keeps RF as it was.
        bool generalDetect = hwexc && e.Vector == 1 && (e.EventData & (1UL << 13)) != 0;
        ulong rflags = hwexc && (((FaultVectors >> e.Vector) & 1) != 0 || generalDetect) ? s.Rflags | 1UL << 16
            : instructionEvent ? s.Rflags & ~(1UL << 16) : s.Rflags;
        bool sti = s.StiBlocked;
        bool swevent = e.Type is EventType.SoftwareInterrupt or EventType.Other;
        bool nmi = e.Type == EventType.Nmi;
        bool wfe = Cpl(s) == 0 && (s.Cr4 & (1UL << 23)) != 0 && (s.Cet.SCet & 4) != 0 && s.Cet.SupervisorTrackerWaiting;
        ulong ilen = e.Type is EventType.SoftwareInterrupt or EventType.PrivilegedSoftwareException or EventType.SoftwareException or EventType.Other
            ? e.InstructionLength & 0xFUL : 0;
        bool nested = e.Nested && !(hwexc && e.Vector == 8);
        ulong cs = s.Cs | ((ulong)OldLevel(s) << 16);
        ulong ss = s.Ss | ((ulong)e.Vector << 32) | ((ulong)e.Type << 48) | (s.InEnclave ? 1UL << 56 : 0)
                   | (s.Is64BitMode ? 1UL << 57 : 0) | (nested ? 1UL << 58 : 0) | (ilen << 60);
        if (s.Revision == Revision.Fred5)
        {
            cs |= wfe ? 1UL << 18 : 0;
            ss |= (sti ? 1UL << 16 : 0) | (swevent ? 1UL << 17 : 0) | (nmi ? 1UL << 18 : 0);
        }
        else
        {
            cs |= (sti ? 1UL << 24 : 0) | (swevent ? 1UL << 25 : 0) | (nmi ? 1UL << 28 : 0);
        }
        return [err, s.Rip, cs, rflags, s.Rsp, ss, EventData(e), 0];
    }

    /// <summary>The SDM's LA_adjust for 48-bit linear addresses: bit 47 copied into bits 63:48 (FRED-CET-04).</summary>
    public static ulong LaAdjust(ulong a) => (a & (1UL << 47)) != 0 ? a | 0xFFFF_0000_0000_0000 : a & 0x0000_FFFF_FFFF_FFFF;

    /// <summary>Names of the frame's quadwords, by offset / 8.</summary>
    public static readonly string[] FieldNames = ["error code (+0)", "RIP (+8)", "CS word (+16)", "RFLAGS (+24)", "RSP (+32)", "SS word (+40)", "event data (+48)", "reserved (+56)"];
}
