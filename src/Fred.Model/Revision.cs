namespace Fred.Model;

/// <summary>The FRED architecture revision the model follows (FRED-REV-01).</summary>
public enum Revision
{
    /// <summary>FRED 3.0, the RFC era: STI/SWEVENT/NMI in the CS word, software drops the error code before ERET.</summary>
    Fred3 = 3,

    /// <summary>FRED 5.0 and later: STI/SWEVENT/NMI in the SS word, WFE in the CS word, ERET skips the error code.</summary>
    Fred5 = 5,
}
