using CxEngine.Scoring;

namespace CxEngine.Tests.Scoring;

/// <summary>
/// The model run by hand, event after event, as a customer's state would go: what the tests compare the
/// engine with. Tracks the open action's severity the way the grain does (raise and escalate set it,
/// recover clears it).
/// </summary>
internal static class Model
{
    public readonly record struct Step(ScoreState State, Severity Open, RecoveryDecision Recovery);

    public static IEnumerable<Step> Run(TierPolicy policy, IEnumerable<ScoringEvent> events)
    {
        var state = ScoreState.Initial(policy);
        var open = Severity.None;
        foreach (var evt in events)
        {
            var outcome = ScoringStep.Apply(state, evt, policy, open);
            state = outcome.State;
            open = outcome.Recovery.Kind switch
            {
                RecoveryDecisionKind.Raise or RecoveryDecisionKind.Escalate => outcome.Recovery.Severity,
                RecoveryDecisionKind.Recover => Severity.None,
                _ => open,
            };
            yield return new Step(state, open, outcome.Recovery);
        }
    }

    /// <summary>The state after all the events, whether an action is open, and how many actions were raised.</summary>
    public static (ScoreState State, Severity Open, int Raised) Replay(TierPolicy policy, IEnumerable<ScoringEvent> events)
    {
        var final = new Step(ScoreState.Initial(policy), Severity.None, RecoveryDecision.Nothing);
        var raised = 0;
        foreach (var step in Run(policy, events))
        {
            final = step;
            raised += step.Recovery.Kind == RecoveryDecisionKind.Raise ? 1 : 0;
        }

        return (final.State, final.Open, raised);
    }
}
