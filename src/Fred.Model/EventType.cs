namespace Fred.Model;

/// <summary>FRED event types, the 4-bit type field of the SS word (FRED-TYPE-01).</summary>
public enum EventType : byte
{
    /// <summary>External (maskable) interrupt.</summary>
    ExternalInterrupt = 0,
    /// <summary>Reserved; never produced by hardware.</summary>
    Reserved = 1,
    /// <summary>Non-maskable interrupt, vector 2.</summary>
    Nmi = 2,
    /// <summary>Hardware exception (#DE, #PF, #GP ...).</summary>
    HardwareException = 3,
    /// <summary>Software interrupt: INT n.</summary>
    SoftwareInterrupt = 4,
    /// <summary>Privileged software exception: INT1 (ICEBP).</summary>
    PrivilegedSoftwareException = 5,
    /// <summary>Software exception: INT3 or INTO.</summary>
    SoftwareException = 6,
    /// <summary>Other: SYSCALL (vector 1) and SYSENTER (vector 2).</summary>
    Other = 7,
}

/// <summary>Exception vector numbers.</summary>
public static class Vector
{
    /// <summary>Divide error.</summary>
    public const byte DE = 0;
    /// <summary>Debug.</summary>
    public const byte DB = 1;
    /// <summary>NMI.</summary>
    public const byte NMI = 2;
    /// <summary>Breakpoint.</summary>
    public const byte BP = 3;
    /// <summary>Overflow.</summary>
    public const byte OF = 4;
    /// <summary>BOUND range exceeded.</summary>
    public const byte BR = 5;
    /// <summary>Invalid opcode.</summary>
    public const byte UD = 6;
    /// <summary>Device not available.</summary>
    public const byte NM = 7;
    /// <summary>Double fault.</summary>
    public const byte DF = 8;
    /// <summary>Invalid TSS.</summary>
    public const byte TS = 10;
    /// <summary>Segment not present.</summary>
    public const byte NP = 11;
    /// <summary>Stack-segment fault.</summary>
    public const byte SS = 12;
    /// <summary>General protection.</summary>
    public const byte GP = 13;
    /// <summary>Page fault.</summary>
    public const byte PF = 14;
    /// <summary>x87 floating-point error.</summary>
    public const byte MF = 16;
    /// <summary>Alignment check.</summary>
    public const byte AC = 17;
    /// <summary>Machine check.</summary>
    public const byte MC = 18;
    /// <summary>SIMD floating-point exception.</summary>
    public const byte XF = 19;
    /// <summary>Virtualization exception.</summary>
    public const byte VE = 20;
    /// <summary>Control protection.</summary>
    public const byte CP = 21;
    /// <summary>SYSCALL's vector within event type Other.</summary>
    public const byte Syscall = 1;
    /// <summary>SYSENTER's vector within event type Other.</summary>
    public const byte Sysenter = 2;

    /// <summary>Short mnemonic of an exception vector ("#PF"), or the number.</summary>
    public static string Name(byte vector) => vector switch
    {
        DE => "#DE", DB => "#DB", NMI => "NMI", BP => "#BP", OF => "#OF", BR => "#BR", UD => "#UD",
        NM => "#NM", DF => "#DF", 9 => "#CSO", TS => "#TS", NP => "#NP", SS => "#SS", GP => "#GP", PF => "#PF",
        MF => "#MF", AC => "#AC", MC => "#MC", XF => "#XF", VE => "#VE", CP => "#CP",
        _ => $"vector {vector}",
    };
}
