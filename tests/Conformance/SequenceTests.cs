using Fred.Generators;
using Fred.Model;
using static Fred.Conformance.Support.Conformance;

namespace Fred.Conformance;

/// <summary>
/// Model-based sequences: events arrive while handlers run at raised stack levels, handlers return in order,
/// and every step keeps the invariants; each return restores the context its matching delivery interrupted.
/// </summary>
public class SequenceTests
{
    record Running(MachineState Before, Event Event, ulong FrameBase);

    [Fact]
    [Trait("Rule", "FRED-DELIV-04"), Trait("Rule", "FRED-ERETS-04"), Trait("Rule", "FRED-RT-01"), Trait("Rule", "FRED-RT-02")]
    [Trait("Rule", "FRED-ERETU-08"), Trait("Rule", "FRED-ERETS-05"), Trait("Rule", "FRED-DATA-06")]
    public void Nested_events_and_returns_keep_every_invariant() => Check(Arbitraries.Scenarios, sc =>
    {
        var s = sc.Initial;
        var running = new List<Running>();
        for (int i = 0; i < sc.Steps.Length; i++)
        {
            var step = sc.Steps[i];
            var r = step.Apply(s);
            string at() => $"at step {i + 1} ({step})\n{sc}";
            Expect(r.State.Cpl == 0 || r.State.StackLevel == 0, () => $"ring 3 runs at stack level {r.State.StackLevel} {at()}");
            switch (r.Outcome.Kind)
            {
                case OutcomeKind.Delivered:
                    Expect(r.State.Cpl == 0, () => $"handler not in ring 0 {at()}");
                    Expect(r.State.StackLevel >= Delivery.OldStackLevel(s), () => $"delivery lowered the stack level {at()}");
                    var before = step is ExecuteStep ? s with { Rip = Frame.Read(r.State.Memory, r.State.Rsp)!.Value.Rip, StiBlocked = false } : s;
                    var f = Frame.Read(r.State.Memory, r.State.Rsp)!.Value;
                    ExpectEqual(before.Rsp, f.Rsp, "saved RSP", at);
                    ExpectEqual((ulong)before.Cs, f.CsWord & 0xFFFF, "saved CS", at);
                    running.Insert(0, new Running(before, r.Outcome.Event, r.State.Rsp));
                    break;
                case OutcomeKind.Returned:
                    ulong frameBase = s.Revision == Revision.Fred5 ? s.Rsp : s.Rsp - 8;
                    if (running.Count > 0 && running[0].FrameBase == frameBase)
                    {
                        var expected = RoundTripTests.ExpectedAfterReturn(running[0].Before, running[0].Event);
                        var got = r.State;
                        ExpectEqual(expected.Rip, got.Rip, "RIP after return", at);
                        ExpectEqual(expected.Rsp, got.Rsp, "RSP after return", at);
                        ExpectEqual(expected.Rflags, got.Rflags, "RFLAGS after return", at);
                        ExpectEqual(expected.Cs, got.Cs, "CS after return", at);
                        ExpectEqual(expected.StackLevel, got.StackLevel, "stack level after return", at);
                        ExpectEqual(expected.GsBase, got.GsBase, "GS base after return", at);
                        ExpectEqual(expected.NmiBlocked, got.NmiBlocked, "NMI blocking after return", at);
                        ExpectEqual(expected.PendingSingleStep, got.PendingSingleStep, "pending single-step after return", at);
                        running.RemoveAt(0);
                    }
                    else running.Clear();                                  // shrinking removed the matching delivery
                    break;
                case OutcomeKind.Fault or OutcomeKind.Masked or OutcomeKind.Shutdown:
                    Expect(r.State == s, () => $"{r.Outcome} changed the state {at()}");
                    break;
            }
            if (r.Outcome.Kind == OutcomeKind.Shutdown) return;
            s = r.State;
        }
    }, cases: 300);
}
