using Fred.Dut;

namespace Fred.Image;

/// <summary>Runs a batch of cases in an emulator: declines what the image cannot raise, boots the rest, and boots again after a stop.</summary>
public static class BatchRunner
{
    /// <summary>One result per case, in the order of the batch.</summary>
    public static IEnumerable<(DutCase, CaseResult)> Run(ImageEmulator emulator, IReadOnlyList<DutCase> batch, TextWriter log)
    {
        var results = new CaseResult?[batch.Count];
        var pending = new List<(int Slot, Realized R)>();
        for (int i = 0; i < batch.Count; i++)
        {
            var (r, why) = CaseRealizer.Realize(batch[i]);
            if (r is null) results[i] = new Unsupported(batch[i].Id, why!);
            else pending.Add((i, r));
        }
        while (pending.Count > 0)
        {
            var chunk = ImageBuilder.Batches(pending.Select(p => p.R)).First();
            var image = ImageBuilder.Build(chunk);
            var run = emulator.Boot(image);
            var o = run.Output;
            int done = 0;
            for (; done < chunk.Count; done++)
            {
                var (slot, r) = pending[done];
                ulong id = (ulong)r.Case.Id;
                var obs = o.Observations.TryGetValue(id, out var l) ? l : [];
                if (o.Ended.Contains(id)) { results[slot] = Interpreter.Answer(r, obs, image.Harness, false, false); continue; }
                break;
            }
            if (done < chunk.Count)
            {
                var (slot, r) = pending[done];
                ulong id = (ulong)r.Case.Id;
                if (o.Begun.Contains(id))
                {
                    // The emulator stopped inside this case: its answer is what it printed, or a shutdown.
                    var obs = o.Observations.TryGetValue(id, out var l) ? l : [];
                    var res = Interpreter.Answer(r, obs, image.Harness, stoppedHere: true, shutdown: run.Shutdown);
                    if (res is DutBroke b) res = b with { Detail = $"{b.Detail} ({run.Stop(emulator.Name)})" };
                    results[slot] = res;
                    done++;
                }
                else
                {
                    // Nothing ran: the image itself failed; every remaining case gets the reason.
                    string why = o.NoFred ? $"this {emulator.Name} reports no FRED" : o.BootError ?? run.Stop(emulator.Name);
                    foreach (var (s, rr) in pending) results[s] = new DutBroke(rr.Case.Id, "dut-error", $"the image did not run the case: {why}");
                    pending.Clear();
                    break;
                }
            }
            foreach (var p in o.Problems) log.WriteLine($"{emulator.Adapter}: {p}");
            log.WriteLine($"{emulator.Adapter}: boot of {chunk.Count} cases: {done} answered in {run.Seconds:0.00} s");
            pending.RemoveRange(0, Math.Min(done, pending.Count));
        }
        for (int i = 0; i < batch.Count; i++) yield return (batch[i], results[i]!);
    }
}
