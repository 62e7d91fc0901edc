using Fred.Reference;
using Snapshooter;
using Snapshooter.Xunit;

namespace Fred.Conformance.Reference;

/// <summary>
/// Single inputs whose whole outcome (trace, fate and pt_regs after dispatch) is pinned in a snapshot for both
/// profiles: the paths the dispatch tables show only with placeholders (the panic path from a raised stack level,
/// __die returning non-zero, the error codes of the exceptions that push one, system call numbers in and out of range).
/// Every line was checked against the C of both kernels (FRED-KRN-10, FRED-KRN-11); a change shows up as a diff.
/// </summary>
public class PinnedDispatchTests
{
    static readonly KernelConfig Stops = KernelConfig.Default with { DieNotifierStops = true };

    /// <summary>The pinned inputs: a name, the registers the entry stub built, whether from user, the configuration.</summary>
    static IEnumerable<(string Name, PtRegs Regs, bool User, KernelConfig Config)> Inputs()
    {
        yield return ("reserved type from user, level 0", Frames.Regs(1, 0x21, user: true, err: 0x5), true, KernelConfig.Default);
        yield return ("reserved type from user, die notifier stops", Frames.Regs(1, 0x21, user: true, err: 0x5), true, Stops);
        yield return ("reserved type from the kernel at stack level 2 (panic)", Frames.Regs(1, 0x21, user: false, level: 2, err: 0x5), false, KernelConfig.Default);
        yield return ("#NMI type with vector 3 at stack level 3 (panic)", Frames.Regs(2, 3, user: false, level: 3), false, KernelConfig.Default);
        yield return ("#VC from the kernel at level 1 (panic)", Frames.Regs(3, 29, user: false, level: 1, err: 0x81), false, KernelConfig.Default);
        foreach (var (vector, err) in new (int, ulong)[] { (8, 0x0), (8, 0x1234), (10, 0x18), (11, 0x2B), (12, 0x10), (13, 0xFFFC), (17, 0x1) })
        {
            yield return ($"vector {vector} error 0x{err:x} from user", Frames.Regs(3, vector, user: true, err: err), true, KernelConfig.Default);
            yield return ($"vector {vector} error 0x{err:x} from the kernel", Frames.Regs(3, vector, user: false, err: err), false, KernelConfig.Default);
        }
        foreach (ulong ax in new ulong[] { 0, 0x3C, 0x1CF, 0x200, 0x4000_0000, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 0x1_0000_0001, ulong.MaxValue })
            yield return ($"SYSCALL with ax 0x{ax:x}", Frames.Regs(7, 1, user: true, ax: ax), true, KernelConfig.Default);
        yield return ("SYSENTER with ax 0xffffffff", Frames.Regs(7, 2, user: true, l: false, ax: 0xFFFF_FFFF), true, KernelConfig.Default);
        yield return ("INT 0x80 with ax 0x1_0000_000b", Frames.Regs(4, 0x80, user: true, l: false, ax: 0x1_0000_000B), true, KernelConfig.Default);
    }

    [Theory]
    [Trait("Rule", "FRED-KRN-10")]
    [Trait("Rule", "FRED-KRN-11")]
    [InlineData(Profile.Rfc2022)]
    [InlineData(Profile.Mainline)]
    public void Pinned_inputs(Profile profile) =>
        Snapshot.Match(Inputs().Select(i =>
        {
            var r = Dispatcher.Dispatch(profile, i.Regs, i.User, i.Config);
            return new[] { i.Name, $"in:  {i.Regs}", $"{r.Fate}: {r.TraceText}", $"out: {r.Regs}" };
        }).ToList(), SnapshotNameExtension.Create(profile.ToString()));
}
