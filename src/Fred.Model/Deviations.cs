namespace Fred.Model;

/// <summary>
/// Readings of FRED that the spec rejects, each the old behaviour of a rule that Fred corrected. The model follows none
/// of them; the mutant zoo uses them to play a DUT that does, so that each correction has a DUT it must catch.
/// </summary>
[Flags]
public enum Deviations
{
    /// <summary>The spec as written.</summary>
    None = 0,
    /// <summary>FRED-CET-03: the shadow-stack record is written before the frame, so its fault wins when both are bad.</summary>
    ShadowStackRecordFirst = 1,
    /// <summary>FRED-NEST-03: the double-fault classes without #CP (contributory) and #VE (page-fault class).</summary>
    DoubleFaultClassesWithoutCpAndVe = 2,
    /// <summary>FRED-NEST-08: the EXT bit is never set in the error code of an exception raised during delivery.</summary>
    NoExtBit = 4,
}
