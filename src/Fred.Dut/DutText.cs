namespace Fred.Dut;

/// <summary>Text a DUT or a file provided (names, messages, lines): checks for data, not for display.</summary>
public static class DutText
{
    /// <summary>How many characters of a DUT-provided name or message are shown.</summary>
    public const int Shown = 200;

    /// <summary>
    /// The text shortened to <paramref name="max"/> characters and made printable: the one form in which DUT-provided text
    /// reaches a terminal, a Markdown or JUnit report (spec/dut-protocol.md, "Text from the DUT").
    /// </summary>
    public static string Clean(string s, int max = Shown) => Printable(Shorten(s, max));

    /// <summary>The first <paramref name="max"/> characters and "... (N more characters)", or the text when it is short enough.</summary>
    public static string Shorten(string s, int max = Shown)
    {
        if (s.Length <= max) return s;
        int keep = char.IsHighSurrogate(s[max - 1]) ? max - 1 : max;
        return $"{s[..keep]}... ({s.Length - keep} more characters)";
    }

    /// <summary>
    /// Every character a terminal would act on or XML 1.0 cannot carry, written visibly: C0 and C1 controls and DEL as
    /// \xNN, unpaired surrogates, U+FFFE, U+FFFF, the line and paragraph separators and the bidirectional overrides as
    /// \uNNNN. Tab becomes \t, and line ends \n and \r (a DUT's text is one line in every report).
    /// </summary>
    public static string Printable(string s)
    {
        int i = 0;
        while (i < s.Length && !Escaped(s, i)) i++;
        if (i == s.Length) return s;
        var sb = new System.Text.StringBuilder(s.Length + 16);
        sb.Append(s, 0, i);
        for (; i < s.Length; i++)
        {
            char ch = s[i];
            if (!Escaped(s, i)) { sb.Append(ch); if (char.IsHighSurrogate(ch)) sb.Append(s[++i]); continue; }
            sb.Append(ch switch
            {
                '\t' => "\\t",
                '\n' => "\\n",
                '\r' => "\\r",
                < '\u0100' => $"\\x{(int)ch:x2}",
                _ => $"\\u{(int)ch:x4}",
            });
        }
        return sb.ToString();
    }

    static bool Escaped(string s, int i)
    {
        char ch = s[i];
        if (ch < ' ' || ch is >= '\u007f' and < '\u00a0') return true;
        if (ch is '\u2028' or '\u2029' or (>= '\u202a' and <= '\u202e') or (>= '\u2066' and <= '\u2069') or '\ufffe' or '\uffff') return true;
        if (char.IsHighSurrogate(ch)) return i + 1 >= s.Length || !char.IsLowSurrogate(s[i + 1]);
        return char.IsLowSurrogate(ch);
    }
}
