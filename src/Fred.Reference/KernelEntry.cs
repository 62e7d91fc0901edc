using Fred.Model;
using Iced.Intel;

namespace Fred.Reference;

/// <summary>What happened when the kernel took an event: the dispatch, and the ERET the exit path executed (if any).</summary>
/// <param name="Dispatch">The dispatch result; null when the entry stub itself faulted before the call.</param>
/// <param name="Eret">The ERET's result; null when the kernel did not return (panic, oops) or the stub faulted.</param>
/// <param name="StubFault">A fault raised by the stub's own pushes or pops.</param>
public sealed record KernelRun(DispatchResult? Dispatch, StepResult? Eret, Event? StubFault);

/// <summary>
/// Runs the assembled entry stub over the hardware model: each decoded instruction of the stub is executed
/// (push, pop, xor, mov, call into the profile's C dispatch, add, ERETU/ERETS). pt_regs lives in model memory,
/// so what dispatch changes is what the exit path pops and ERET returns to.
/// </summary>
public static class KernelEntry
{
    /// <summary>Size of pt_regs: 15 general registers and the 6 hardware quadwords from orig_ax to ss.</summary>
    public const int PtRegsSize = 21 * 8;

    /// <summary>Takes the event the handler state was just delivered, from the entry RIP to the ERET.</summary>
    public static KernelRun Run(EntryStubs stubs, KernelConfig config, MachineState handler)
    {
        bool fromUser = handler.Rip == stubs.UserEntry;
        var regs = new Dictionary<Register, ulong>
        {
            [Register.RAX] = handler.Rax, [Register.RCX] = handler.Rcx, [Register.R11] = handler.R11, [Register.RSP] = handler.Rsp,
        };
        ulong Get(Register r) => regs.TryGetValue(r.GetFullRegister(), out var v) ? v : 0;
        var s = handler;
        DispatchResult? dispatch = null;
        foreach (var i in stubs.Decode(handler.Rip))
        {
            switch (i.Mnemonic)
            {
                case Mnemonic.Push:
                {
                    ulong sp = Get(Register.RSP) - 8;
                    var (m, f) = s.Memory.Write(sp, 8, Get(i.Op0Register), AccessKind.SupervisorWrite);
                    if (f is not null) return new(dispatch, null, f);
                    s = s with { Memory = m };
                    regs[Register.RSP] = sp;
                    break;
                }
                case Mnemonic.Pop:
                {
                    var r = s.Memory.Read(Get(Register.RSP), 8, AccessKind.SupervisorRead);
                    if (r.Fault is { } f) return new(dispatch, null, f);
                    regs[i.Op0Register.GetFullRegister()] = r.Value;
                    regs[Register.RSP] = Get(Register.RSP) + 8;
                    break;
                }
                case Mnemonic.Xor when i.Op0Register == i.Op1Register:
                    regs[i.Op0Register.GetFullRegister()] = 0;
                    break;
                case Mnemonic.Mov:
                    regs[i.Op0Register.GetFullRegister()] = Get(i.Op1Register);
                    break;
                case Mnemonic.Add:
                    regs[i.Op0Register.GetFullRegister()] = Get(i.Op0Register) + (ulong)(long)i.GetImmediate(1);
                    break;
                case Mnemonic.Call:
                {
                    ulong at = Get(Register.RDI);
                    var pt = ReadPtRegs(s.Memory, at);
                    dispatch = Dispatcher.Dispatch(stubs.Profile, pt, i.NearBranchTarget == stubs.UserDispatcher, config);
                    if (dispatch.Fate is Fate.Panic or Fate.Oops) return new(dispatch, null, null);
                    s = s with { Memory = WritePtRegs(s.Memory, at, dispatch.Regs) };
                    break;
                }
                case Mnemonic.Eretu or Mnemonic.Erets:
                {
                    s = s with { Rsp = Get(Register.RSP), Rax = Get(Register.RAX), Rcx = Get(Register.RCX), R11 = Get(Register.R11) };
                    return new(dispatch, i.Mnemonic == Mnemonic.Eretu ? Eretu.Execute(s) : Erets.Execute(s), null);
                }
                default:
                    throw new InvalidOperationException($"the entry stub holds an instruction the interpreter does not know: {i}");
            }
        }
        throw new InvalidOperationException("the entry stub ended without ERETU/ERETS");
    }

    /// <summary>Reads pt_regs (and fred_info's event data just above it) from memory.</summary>
    public static PtRegs ReadPtRegs(Memory m, ulong at)
    {
        ulong Q(int i) => m.Peek(at + (ulong)(8 * i), 8);
        return new(Q(0), Q(1), Q(2), Q(3), Q(4), Q(5), Q(6), Q(7), Q(8), Q(9), Q(10), Q(11), Q(12), Q(13), Q(14),
            Q(15), Q(16), Q(17), Q(18), Q(19), Q(20), Q(21));
    }

    /// <summary>Writes pt_regs back (the hardware frame part included: dispatch may change ip, type, vector, orig_ax).</summary>
    public static Memory WritePtRegs(Memory m, ulong at, PtRegs r)
    {
        ulong[] q = [r.R15, r.R14, r.R13, r.R12, r.Bp, r.Bx, r.R11, r.R10, r.R9, r.R8, r.Ax, r.Cx, r.Dx, r.Si, r.Di, r.OrigAx, r.Ip, r.Cs, r.Flags, r.Sp, r.Ss, r.EventData];
        for (int i = 0; i < q.Length; i++) m = m.Poke(at + (ulong)(8 * i), 8, q[i]);
        return m;
    }
}
