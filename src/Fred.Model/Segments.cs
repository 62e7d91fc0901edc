namespace Fred.Model;

/// <summary>The ring-3 code and stack segments ERETU loads: STAR fast paths or GDT descriptors (FRED-ERETU-05/06).</summary>
public static class Segments
{
    /// <summary>What ERETU's segment step yields: mode and CS limit, or the fault.</summary>
    public readonly record struct Target(bool Is64Bit, uint CsLimit, Event? Fault);

    /// <summary>Descriptor bits used by the checks.</summary>
    const ulong DescS = 1UL << 44, DescCode = 1UL << 43, DescWritable = 1UL << 41, DescConforming = 1UL << 42,
        DescPresent = 1UL << 47, DescL = 1UL << 53, DescD = 1UL << 54, DescG = 1UL << 55;

    /// <summary>Chooses the fast path or loads descriptors for a ring-3 return.</summary>
    public static Target ForEretu(MachineState s, ushort cs, ushort ss) => ForEretu(in s, cs, ss);

    internal static Target ForEretu(in MachineState s, ushort cs, ushort ss)
    {
        ushort userBase = (ushort)(s.Star >> 48);
        if (ss == (ushort)(userBase + 8))
        {
            if (cs == (ushort)(userBase + 16)) return new(true, 0xFFFF_FFFF, null);
            if (cs == userBase) return new(false, 0xFFFF_FFFF, null);
        }
        return FromDescriptors(in s, cs, ss);
    }

    static Target FromDescriptors(in MachineState s, ushort cs, ushort ss)
    {
        if ((cs & 0xFFFC) == 0) return Fail(Event.GeneralProtection());
        var (csDesc, csFault) = Descriptor(in s, cs);
        if (csFault is { } cf) return Fail(cf);
        if (csDesc is not { } cd) return Fail(Event.GeneralProtection((ulong)(cs & 0xFFFC)));
        bool code = (cd & DescS) != 0 && (cd & DescCode) != 0;
        int csDpl = (int)((cd >> 45) & 3);
        bool dplOk = (cd & DescConforming) != 0 ? csDpl <= 3 : csDpl == 3;
        bool lAndD = (cd & DescL) != 0 && (cd & DescD) != 0;
        if (!code || !dplOk || lAndD) return Fail(Event.GeneralProtection((ulong)(cs & 0xFFFC)));
        if ((cd & DescPresent) == 0) return Fail(Event.Exception(Vector.NP, (ulong)(cs & 0xFFFC)));

        if ((ss & 0xFFFC) == 0) return Fail(Event.GeneralProtection());
        var (ssDesc, ssFault) = Descriptor(in s, ss);
        if (ssFault is { } sf) return Fail(sf);
        if (ssDesc is not { } sd) return Fail(Event.GeneralProtection((ulong)(ss & 0xFFFC)));
        bool data = (sd & DescS) != 0 && (sd & DescCode) == 0 && (sd & DescWritable) != 0;
        if (!data || (int)((sd >> 45) & 3) != 3) return Fail(Event.GeneralProtection((ulong)(ss & 0xFFFC)));
        if ((sd & DescPresent) == 0) return Fail(Event.Exception(Vector.SS, (ulong)(ss & 0xFFFC)));

        bool is64 = (cd & DescL) != 0;
        uint limit = (uint)((cd & 0xFFFF) | ((cd >> 32) & 0xF_0000));
        if ((cd & DescG) != 0) limit = (limit << 12) | 0xFFF;
        return new(is64, limit, null);
    }

    /// <summary>The GDT descriptor for a selector (null when in the LDT or past the GDT limit), or the fault reading it.</summary>
    static (ulong? Descriptor, Event? Fault) Descriptor(in MachineState s, ushort selector)
    {
        if ((selector & 4) != 0) return (null, null);                                             // no LDT in the model
        ulong offset = (ulong)(selector & 0xFFF8);
        if (offset + 7 > s.GdtLimit) return (null, null);
        var r = s.Memory.Read(s.GdtBase + offset, 8, AccessKind.SupervisorRead);
        return r.Fault is { } f ? (null, f) : (r.Value, null);
    }

    static Target Fail(Event e) => new(false, 0, e);

    /// <summary>A flat descriptor as Linux lays out its GDT: code (64-bit or 32-bit) or data, with a DPL.</summary>
    public static ulong FlatDescriptor(bool code, bool longMode, int dpl, bool present = true) =>
        0xFFFFUL | (0xFUL << 48) | DescG | DescS | (present ? DescPresent : 0) | ((ulong)(dpl & 3) << 45)
        | (code ? DescCode | (1UL << 41) | (longMode ? DescL : DescD) : DescWritable | DescD);
}
