using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;

namespace Fred.Dut;

/// <summary>A DUT that cannot be started or does not greet as the protocol requires.</summary>
public sealed class DutStartException(string message) : Exception(message);

/// <summary>
/// A DUT in another process, spoken to over its stdin/stdout (spec/dut-protocol.md). A DUT that crashes, hangs,
/// prints garbage or answers out of order is given a verdict for the case it was on, restarted, and the rest of
/// the batch goes on in the new process.
/// </summary>
public sealed class ProcessDut : IDut
{
    readonly string file;
    readonly string[] args;
    readonly TimeSpan timeout;
    const int WriteChunk = 1 << 16;
    Process? process;
    BlockingCollection<OutputLine?> lines = new();
    long longestCaseLine;
    readonly StringBuilder stderrTail = new();
    int lineNo;

    /// <summary>The command line as given.</summary>
    public string Command { get; }

    /// <summary>How many times the DUT was (re)started.</summary>
    public int Starts { get; private set; }

    /// <inheritdoc/>
    public DutHello Hello { get; private set; } = new("not started", 0, [], []);

    ProcessDut(string command, TimeSpan timeout)
    {
        Command = command;
        var parts = SplitCommand(command);
        if (parts.Count == 0) throw new DutStartException("the DUT command is empty");
        file = parts[0];
        args = [.. parts.Skip(1)];
        this.timeout = timeout;
    }

    /// <summary>Starts the DUT and reads its hello.</summary>
    public static ProcessDut Start(string command, TimeSpan timeout)
    {
        var d = new ProcessDut(command, timeout);
        d.Launch();
        return d;
    }

    /// <summary>Splits a command line on blanks, honouring double and single quotes.</summary>
    public static List<string> SplitCommand(string command)
    {
        var parts = new List<string>();
        var cur = new StringBuilder();
        char quote = '\0';
        bool any = false;
        foreach (char ch in command)
        {
            if (quote != '\0') { if (ch == quote) quote = '\0'; else cur.Append(ch); continue; }
            if (ch is '"' or '\'') { quote = ch; any = true; continue; }
            if (char.IsWhiteSpace(ch)) { if (any || cur.Length > 0) parts.Add(cur.ToString()); cur.Clear(); any = false; continue; }
            cur.Append(ch);
        }
        if (quote != '\0') throw new DutStartException($"unbalanced {quote} in the DUT command: {command}");
        if (any || cur.Length > 0) parts.Add(cur.ToString());
        return parts;
    }

    void Launch()
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardInputEncoding = new UTF8Encoding(false),
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        Process p;
        try { p = Process.Start(psi) ?? throw new DutStartException($"could not start the DUT \"{Command}\""); }
        catch (System.ComponentModel.Win32Exception ex) { throw new DutStartException($"could not start the DUT \"{Command}\": {ex.Message}"); }
        process = p;
        Starts++;
        lineNo = 0;
        lines = new BlockingCollection<OutputLine?>();
        var sink = lines;
        Interlocked.Exchange(ref longestCaseLine, 0);
        stderrTail.Clear();
        p.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (stderrTail)
            {
                stderrTail.AppendLine(e.Data);
                if (stderrTail.Length > 2000) stderrTail.Remove(0, stderrTail.Length - 2000);
            }
        };
        p.BeginErrorReadLine();
        var reader = new LineReader(p.StandardOutput.BaseStream, () => LineLimit(Interlocked.Read(ref longestCaseLine)));
        new Thread(() =>
        {
            try { while (reader.Next() is { } l) sink.Add(l); }
            catch (IOException) { }
            catch (ObjectDisposedException) { }
            sink.Add(null);
        }) { IsBackground = true, Name = "dut-stdout" }.Start();

        var first = Next(TimeSpan.FromTicks(Math.Max(timeout.Ticks, TimeSpan.FromSeconds(30).Ticks)));
        string where = $"the DUT \"{Command}\"";
        if (first.Timeout) { Kill(); throw new DutStartException($"{where} sent no hello within {Math.Max(timeout.TotalSeconds, 30)} s"); }
        if (first.Line is null) throw new DutStartException($"{where} exited before its hello (exit code {ExitCode()}){StderrNote()}");
        if (first.Line.TooLong) { Kill(); throw new DutStartException($"{where}, output line 1 is longer than {first.Line.Limit} bytes"); }
        try
        {
            if (Wire.Decode(first.Line.Text!) is not HelloMessage { Hello: var h })
                throw new WireException("$.type", "the first line must be the DUT's hello");
            if (h.Protocol != ProtocolVersion.Current)
            {
                Kill();
                throw new DutStartException($"{where} speaks protocol version {h.Protocol}; this Fred speaks version {ProtocolVersion.Current}");
            }
            // What the DUT says about itself reaches terminals and reports: shortened and printable from here on.
            Hello = h with { Name = DutText.Clean(h.Name), Features = [.. h.Features.Select(f => DutText.Clean(f))] };
        }
        catch (WireException ex)
        {
            Kill();
            throw new DutStartException($"{where}, output line 1: {ex.Message}; the line was: {Clip(first.Line.Text!)}");
        }
        process.StandardInput.WriteLine(Wire.Hello(new DutHello("fred", ProtocolVersion.Current, [Model.Revision.Fred3, Model.Revision.Fred5], DutFeatures.All)));
        process.StandardInput.Flush();
    }

    (OutputLine? Line, bool Timeout) Next(TimeSpan wait, CancellationToken cancel = default)
    {
        OutputLine? l;
        try { if (!lines.TryTake(out l, (int)Math.Min(wait.TotalMilliseconds, int.MaxValue), cancel)) return (null, true); }
        catch (OperationCanceledException) { return (null, true); }
        if (l is null) { lines.Add(null); return (null, false); }
        lineNo++;
        return (l, false);
    }

    /// <inheritdoc/>
    public IReadOnlyList<CaseResult> Run(IReadOnlyList<DutCase> batch) => Run(batch, 0, CancellationToken.None);

    /// <inheritdoc/>
    public IReadOnlyList<CaseResult> Run(IReadOnlyList<DutCase> batch, int stopAfterBroken, CancellationToken cancel)
    {
        var results = new CaseResult[batch.Count];
        int next = 0, inARow = 0;
        CaseResult[] NotRun(int from, string why)
        {
            for (int j = from; j < batch.Count; j++) results[j] = new DutBroke(batch[j].Id, DutBroke.NotRun, why);
            return results;
        }
        while (next < batch.Count)
        {
            if (cancel.IsCancellationRequested) { Kill(); return NotRun(next, "the run was interrupted"); }
            if (stopAfterBroken > 0 && inARow >= stopAfterBroken) return NotRun(next, $"the DUT broke on {inARow} cases in a row");
            if (process is null)
            {
                try { Launch(); }
                catch (DutStartException ex) { return NotRun(next, $"the DUT could not be restarted: {ex.Message}"); }
            }
            var pending = batch.Skip(next).ToArray();
            var byId = new Dictionary<long, DutCase>();
            foreach (var c in pending) byId.TryAdd(c.Id, c);
            var stdin = process!.StandardInput.BaseStream;
            var writer = Task.Run(() =>
            {
                // The batch's lines go out in chunks of about 64 KiB and one flush at its end, not a write per line;
                // the DUT meanwhile answers what it has read, and this thread blocks while the pipe is full.
                var buffer = new ArrayBufferWriter<byte>(WriteChunk + 8192);
                try
                {
                    foreach (var c in pending)
                    {
                        int before = buffer.WrittenCount;
                        Wire.WriteCase(buffer, c);
                        // The answer may be read before this chunk is written, never before this limit is raised.
                        long length = buffer.WrittenCount - before;
                        if (length > Interlocked.Read(ref longestCaseLine)) Interlocked.Exchange(ref longestCaseLine, length);
                        if (buffer.WrittenCount >= WriteChunk) { stdin.Write(buffer.WrittenSpan); buffer.ResetWrittenCount(); }
                    }
                    stdin.Write(buffer.WrittenSpan);
                    stdin.Flush();
                }
                catch (IOException) { }
                catch (ObjectDisposedException) { }
            });
            int i = next;
            for (; i < batch.Count; i++)
            {
                var expected = batch[i];
                var (line, timedOut) = Next(timeout, cancel);
                if (cancel.IsCancellationRequested)
                {
                    Kill();
                    writer.Wait(TimeSpan.FromSeconds(5));
                    return NotRun(i, "the run was interrupted");
                }
                CaseResult? broke = null;
                if (timedOut)
                    broke = new DutBroke(expected.Id, "timeout", $"no answer within {timeout.TotalMilliseconds:0} ms (output line {lineNo + 1} never came)");
                else if (line is null)
                    broke = new DutBroke(expected.Id, "crash", $"the DUT exited (code {ExitCode()}) after output line {lineNo}{StderrNote()}");
                else if (line.TooLong)
                    broke = new DutBroke(expected.Id, "garbage", $"output line {lineNo} is longer than {line.Limit} bytes");
                else
                {
                    try
                    {
                        if (Wire.Decode(line.Text!, id => byId.GetValueOrDefault(id)) is not ResultMessage { Result: var r })
                            throw new WireException("$.type", "expected a result");
                        if (r.Id != expected.Id)
                            broke = new DutBroke(expected.Id, "order", $"output line {lineNo} answers case {r.Id} while case {expected.Id} was next");
                        else
                            results[i] = r switch
                            {
                                Unsupported u => u with { Reason = DutText.Clean(u.Reason) },
                                DutBroke b => b with { Detail = DutText.Clean(b.Detail) },
                                _ => r,
                            };
                    }
                    catch (WireException ex)
                    {
                        broke = new DutBroke(expected.Id, "garbage", $"output line {lineNo}: {ex.Message}; the line was: {Clip(line.Text!)}");
                    }
                }
                inARow = results[i] is DutBroke || broke is not null ? inARow + 1 : 0;
                if (broke is not null)
                {
                    results[i] = broke;
                    Kill();
                    i++;
                    break;
                }
            }
            writer.Wait(TimeSpan.FromSeconds(5));
            next = i;
        }
        return results;
    }

    /// <summary>
    /// The longest output line Fred reads from a DUT (spec/dut-protocol.md, FRED-DUT-09): 1 MiB, or 256 times the longest
    /// case line sent to this DUT process when that is more. A longer line is a <c>garbage</c> verdict for the case.
    /// </summary>
    public static long LineLimit(long longestCaseLine) => Math.Max(1 << 20, 256 * longestCaseLine);

    static string Clip(string s) => DutText.Clean(s);

    string ExitCode()
    {
        try { return process is { } p && p.WaitForExit(2000) ? p.ExitCode.ToString() : "unknown"; }
        catch (InvalidOperationException) { return "unknown"; }
    }

    string StderrNote()
    {
        // Once the process has exited, the parameterless wait also drains its redirected stderr.
        try { if (process is { HasExited: true } p) p.WaitForExit(); }
        catch (InvalidOperationException) { }
        lock (stderrTail)
        {
            var t = stderrTail.ToString().Trim();
            return t.Length == 0 ? "" : $"; its stderr ended with: {DutText.Clean(t.Split('\n').Last().Trim())}";
        }
    }

    void Kill()
    {
        if (process is null) return;
        try { if (!process.HasExited) process.Kill(entireProcessTree: true); }
        catch (InvalidOperationException) { }
        process.Dispose();
        process = null;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (process is { } p)
        {
            try
            {
                p.StandardInput.WriteLine(Wire.Bye());
                p.StandardInput.Flush();
                p.StandardInput.Close();
                if (!p.WaitForExit(2000)) p.Kill(entireProcessTree: true);
            }
            catch (IOException) { }
            catch (InvalidOperationException) { }
            p.Dispose();
            process = null;
        }
    }
}
