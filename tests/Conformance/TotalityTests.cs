using Fred.Generators;
using Fred.Model;
using static Fred.Conformance.Support.Conformance;

namespace Fred.Conformance;

/// <summary>spec/00-overview.md: the model is total. Any state, any step: an architectural outcome, never an exception.</summary>
public class TotalityTests
{
    [Fact]
    [Trait("Rule", "FRED-REV-05")]
    public void Every_step_from_every_state_has_an_outcome_and_faults_change_nothing() => Check(Arbitraries.GarbageScenarios, sc =>
    {
        var s = sc.Initial;
        for (int i = 0; i < sc.Steps.Length; i++)
        {
            StepResult r;
            try { r = sc.Steps[i].Apply(s); }
            catch (Exception ex) { Expect(false, () => $"step {i + 1} ({sc.Steps[i]}) threw {ex.GetType().Name}: {ex.Message}\n{sc}"); return; }
            Expect(Enum.IsDefined(r.Outcome.Kind), () => $"step {i + 1}: undefined outcome {r.Outcome.Kind}\n{sc}");
            if (r.Outcome.Kind is OutcomeKind.Fault or OutcomeKind.Masked or OutcomeKind.Shutdown or OutcomeKind.InvalidEvent or OutcomeKind.NotFredMode)
                Expect(r.State == s, () => $"step {i + 1} ({sc.Steps[i]}) ended {r.Outcome} but changed the state\n{sc}");
            if (r.Outcome.Kind == OutcomeKind.Shutdown) return;
            s = r.State;
        }
    }, cases: 1000);
}
