using System.Text;

namespace Fred.Dut;

/// <summary>One line a DUT wrote: its text, or (when it ran past the limit) only how long it was allowed to be.</summary>
/// <param name="Text">The line without its line end; null when the line was too long.</param>
/// <param name="Limit">The limit in bytes the line was read under.</param>
public sealed record OutputLine(string? Text, long Limit)
{
    /// <summary>True when the line ran past <see cref="Limit"/> bytes (its text was dropped).</summary>
    public bool TooLong => Text is null;
}

/// <summary>
/// Reads lines of UTF-8 from a stream in bounded memory: a line longer than the limit (read when the line starts, so it
/// may grow with the cases sent) is not kept; the reader returns a <see cref="OutputLine.TooLong"/> line as soon as it
/// passes the limit and then skips the rest of it, holding at most one chunk.
/// </summary>
public sealed class LineReader(Stream stream, Func<long> limit)
{
    readonly byte[] chunk = new byte[1 << 16];
    int start, end;
    readonly MemoryStream line = new();

    bool skipping;

    /// <summary>The next line, or null at the end of the stream (a last line without a line end still counts).</summary>
    public OutputLine? Next()
    {
        // The rest of a line that ran past the limit is dropped a chunk at a time.
        while (skipping)
        {
            if (start == end && !Fill()) return null;
            int at = Array.IndexOf(chunk, (byte)'\n', start, end - start);
            if (at < 0) { start = end; continue; }
            start = at + 1;
            skipping = false;
        }
        long max = limit();
        line.SetLength(0);
        bool any = false;
        while (true)
        {
            if (start == end && !Fill()) return any ? Finish(max) : null;
            any = true;
            int nl = Array.IndexOf(chunk, (byte)'\n', start, end - start);
            int stop = nl < 0 ? end : nl;
            if (line.Length + (stop - start) > max)
            {
                // Past the limit: answer at once (the DUT may never end the line) and drop the rest of it.
                if (nl < 0) (start, skipping) = (end, true);
                else start = nl + 1;
                line.SetLength(0);
                return new OutputLine(null, max);
            }
            line.Write(chunk, start, stop - start);
            if (nl >= 0)
            {
                start = nl + 1;
                return Finish(max);
            }
            start = end;
        }
    }

    bool Fill()
    {
        start = 0;
        end = stream.Read(chunk, 0, chunk.Length);
        if (end > 0) return true;
        end = 0;
        return false;
    }

    OutputLine Finish(long max)
    {
        var bytes = line.GetBuffer().AsSpan(0, (int)line.Length);
        if (bytes.Length > 0 && bytes[^1] == (byte)'\r') bytes = bytes[..^1];
        return new OutputLine(Encoding.UTF8.GetString(bytes), max);
    }
}
