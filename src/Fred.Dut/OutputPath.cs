namespace Fred.Dut;

/// <summary>
/// Whether a report file can be written, checked before a long run starts so that a typo does not cost the run its
/// reports (issue 13): the one check every command that writes a report uses.
/// </summary>
public static class OutputPath
{
    /// <summary>Why <paramref name="path"/> cannot be written as a file (missing folders are created), or null when it can.</summary>
    public static string? Problem(string path)
    {
        if (path.Length == 0) return "the path is empty";
        string full;
        try { full = Path.GetFullPath(path); }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException) { return $"{path}: {e.Message}"; }
        if (Directory.Exists(full)) return $"{path} is a directory; give a file name";
        for (var d = Path.GetDirectoryName(full); d is not null; d = Path.GetDirectoryName(d))
        {
            if (File.Exists(d)) return $"{path}: {d} is a file, not a directory";
            if (Directory.Exists(d)) break;
        }
        bool existed = File.Exists(full);
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            using (new FileStream(full, FileMode.Append, FileAccess.Write)) { }
            if (!existed) File.Delete(full);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return $"{path} cannot be written: {e.Message}"; }
        return null;
    }
}
