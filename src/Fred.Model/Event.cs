namespace Fred.Model;

/// <summary>One event as the hardware delivers it: type, vector and the data it carries.</summary>
/// <param name="Type">Event type (FRED-TYPE-01).</param>
/// <param name="Vector">8-bit vector.</param>
/// <param name="ErrorCode">Error code; only exceptions with one keep it (FRED-TYPE-03).</param>
/// <param name="EventData">Event data as supplied; delivery keeps only what FRED-DATA-* define.</param>
/// <param name="InstructionLength">Length of the causing instruction for instruction events, else 0.</param>
/// <param name="Nested">Raised while delivering another event (FRED-NEST-01).</param>
public readonly record struct Event(
    EventType Type, byte Vector, ulong ErrorCode = 0, ulong EventData = 0, byte InstructionLength = 0, bool Nested = false)
{
    /// <summary>Vectors whose hardware exceptions push an error code (FRED-TYPE-03).</summary>
    public const uint ErrorCodeVectors = (1u << 8) | (1u << 10) | (1u << 11) | (1u << 12) | (1u << 13) | (1u << 14) | (1u << 17) | (1u << 21);

    /// <summary>Fault-class exception vectors: RF is set in the saved RFLAGS (FRED-FRAME-05).</summary>
    public const uint FaultVectors = (1u << 0) | (1u << 5) | (1u << 6) | (1u << 7) | (1u << 10) | (1u << 11) | (1u << 12)
        | (1u << 13) | (1u << 14) | (1u << 16) | (1u << 17) | (1u << 19) | (1u << 20) | (1u << 21);

    /// <summary>DR6.BS: the #DB is a single-step trap (in #DB event data, FRED-DATA-02).</summary>
    public const ulong DebugSingleStep = 1UL << 14;

    /// <summary>DR6 condition bits that may appear in #DB event data (FRED-DATA-02).</summary>
    public const ulong DebugEventDataMask = 0xFu | (1u << 11) | (1u << 13) | (1u << 14) | (1u << 15) | (1u << 16);

    /// <summary>True when hardware can produce this type/vector pair (FRED-TYPE-02).</summary>
    public bool IsArchitectural => Type switch
    {
        EventType.ExternalInterrupt => true,
        EventType.Nmi => Vector == Model.Vector.NMI,
        EventType.HardwareException => Vector < 32 && Vector != Model.Vector.NMI,
        EventType.SoftwareInterrupt => true,
        EventType.PrivilegedSoftwareException => Vector == Model.Vector.DB,
        EventType.SoftwareException => Vector is Model.Vector.BP or Model.Vector.OF,
        EventType.Other => Vector is Model.Vector.Syscall or Model.Vector.Sysenter,
        _ => false,
    };

    /// <summary>True for a hardware exception with the given vector.</summary>
    public bool IsException(byte vector) => Type == EventType.HardwareException && Vector == vector;

    /// <summary>True for hardware exceptions that push an error code.</summary>
    public bool HasErrorCode => Type == EventType.HardwareException && Vector < 32 && (ErrorCodeVectors & (1u << Vector)) != 0;

    /// <summary>DR6.BD: the #DB is general detect, a fault raised before a MOV to or from a debug register (FRED-FRAME-05).</summary>
    public const ulong DebugGeneralDetect = 1UL << 13;

    /// <summary>
    /// True for fault-class hardware exceptions: the vectors of <see cref="FaultVectors"/>, and a #DB whose event data
    /// reports general detect (BD), the one fault-class #DB that is not an instruction breakpoint (FRED-FRAME-05).
    /// </summary>
    public bool IsFault => Type == EventType.HardwareException && Vector < 32
        && ((FaultVectors & (1u << Vector)) != 0 || (Vector == Model.Vector.DB && (EventData & DebugGeneralDetect) != 0));

    /// <summary>True for events caused by an instruction that records its length (FRED-FRAME-07).</summary>
    public bool CarriesInstructionLength => Type is EventType.SoftwareInterrupt or EventType.PrivilegedSoftwareException
        or EventType.SoftwareException or EventType.Other;

    /// <summary>True for INT n, SYSCALL and SYSENTER: the SWEVENT flag (FRED-FRAME-03).</summary>
    public bool IsSoftwareEvent => Type is EventType.SoftwareInterrupt or EventType.Other;

    /// <summary>The event data the frame records for this event (FRED-DATA-01..05).</summary>
    public ulong FrameEventData => Type switch
    {
        EventType.HardwareException when Vector == Model.Vector.PF => EventData,
        EventType.HardwareException when Vector == Model.Vector.DB => EventData & DebugEventDataMask,
        EventType.HardwareException when Vector == Model.Vector.NM => EventData,
        EventType.Nmi => EventData & 0xFFFF,
        _ => 0,
    };

    /// <summary>The event as delivery records it: error code, event data and length kept only where defined.</summary>
    public Event Normalized() => this with
    {
        ErrorCode = HasErrorCode ? (IsException(Model.Vector.DF) ? 0 : ErrorCode) : 0,
        EventData = FrameEventData,
        InstructionLength = CarriesInstructionLength ? (byte)(InstructionLength & 0xF) : (byte)0,
        Nested = Nested && !IsException(Model.Vector.DF),
    };

    /// <summary>A hardware exception.</summary>
    public static Event Exception(byte vector, ulong errorCode = 0, ulong eventData = 0) =>
        new(EventType.HardwareException, vector, errorCode, eventData);

    /// <summary>#PF with its error code and faulting address.</summary>
    public static Event PageFault(ulong errorCode, ulong address) => Exception(Model.Vector.PF, errorCode, address);

    /// <summary>#GP with an error code.</summary>
    public static Event GeneralProtection(ulong errorCode = 0) => Exception(Model.Vector.GP, errorCode);

    /// <summary>#UD.</summary>
    public static Event InvalidOpcode => Exception(Model.Vector.UD);

    /// <summary>An external interrupt.</summary>
    public static Event Interrupt(byte vector) => new(EventType.ExternalInterrupt, vector);

    /// <summary>An NMI, with an optional NMI-source bitmap.</summary>
    public static Event NonMaskable(ushort sources = 0) => new(EventType.Nmi, Model.Vector.NMI, 0, sources);

    /// <summary>Short human-readable name, e.g. "#PF(err=0x2, data=0x7000)" or "INT 0x80 (len 2)".</summary>
    public override string ToString()
    {
        string body = Type switch
        {
            EventType.ExternalInterrupt => $"external interrupt 0x{Vector:X2}",
            EventType.Nmi => "NMI",
            EventType.HardwareException => Model.Vector.Name(Vector),
            EventType.SoftwareInterrupt => $"INT 0x{Vector:X2}",
            EventType.PrivilegedSoftwareException => "INT1",
            EventType.SoftwareException => Vector == Model.Vector.OF ? "INTO" : "INT3",
            EventType.Other => Vector == Model.Vector.Syscall ? "SYSCALL" : Vector == Model.Vector.Sysenter ? "SYSENTER" : $"other vector {Vector}",
            _ => $"type {(int)Type} vector {Vector}",
        };
        var extras = new List<string>();
        if (HasErrorCode) extras.Add($"err=0x{ErrorCode:X}");
        if (EventData != 0) extras.Add($"data=0x{EventData:X}");
        if (InstructionLength != 0) extras.Add($"len={InstructionLength}");
        if (Nested) extras.Add("nested");
        return extras.Count == 0 ? body : $"{body} ({string.Join(", ", extras)})";
    }
}
