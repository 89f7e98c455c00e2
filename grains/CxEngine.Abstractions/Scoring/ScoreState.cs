namespace CxEngine.Scoring;

/// <summary>
/// The scoring model's view of one customer: satisfaction S, expectation E, and the event time
/// the last decay was measured from (UTC ticks, 0 before the first event).
/// </summary>
[GenerateSerializer, Immutable, Alias("cx.ScoreState")]
public readonly record struct ScoreState(
    [property: Id(0)] double Score,
    [property: Id(1)] double Expectation,
    [property: Id(2)] long LastEventAtTicks)
{
    /// <summary>A new customer of the given tier: S = N, E = the tier's initial expectation.</summary>
    public static ScoreState Initial(TierPolicy policy) => new(policy.NeutralSatisfaction, policy.InitialExpectation, 0);

    public bool HasEvents => LastEventAtTicks != 0;
}

public enum Severity : byte
{
    None = 0,
    Low = 1,
    Medium = 2,
    High = 3,
}

public enum RecoveryDecisionKind : byte
{
    /// <summary>Nothing to do about recovery actions.</summary>
    None = 0,
    /// <summary>S fell below the baseline and no action is open: raise one.</summary>
    Raise = 1,
    /// <summary>An action is open and the severity rose: escalate that same action.</summary>
    Escalate = 2,
    /// <summary>An action is open and S is back at or above baseline + hysteresis: close it as recovered.</summary>
    Recover = 3,
}

public readonly record struct RecoveryDecision(RecoveryDecisionKind Kind, Severity Severity)
{
    public static readonly RecoveryDecision Nothing = new(RecoveryDecisionKind.None, Severity.None);
}

/// <summary>Why the score moved on one event (SCORING.md step 9). Kept in the customer's event log.</summary>
[GenerateSerializer, Immutable, Alias("cx.ScoreExplanation")]
public readonly record struct ScoreExplanation(
    [property: Id(0)] double Experience,
    [property: Id(1)] double ExpectationBefore,
    [property: Id(2)] double Disconfirmation,
    [property: Id(3)] double EventSatisfaction,
    [property: Id(4)] double ScoreBefore,
    [property: Id(5)] double Decay,
    [property: Id(6)] double ScoreAfter,
    [property: Id(7)] double ExpectationAfter)
{
    /// <summary>
    /// The event only registered or updated open promises: S and E did not move, and x, d and s_e are 0.
    /// </summary>
    [Id(8)] public bool Unscored { get; init; }

    /// <summary>The explanation of an event that scored nothing: the state stays as it was.</summary>
    public static ScoreExplanation Unchanged(in ScoreState state) =>
        new(0, state.Expectation, 0, 0, state.Score, 0, state.Score, state.Expectation) { Unscored = true };

    /// <summary>The whole change of S caused by the event, decay included.</summary>
    public double Delta => ScoreAfter - ScoreBefore;
}

public readonly record struct ScoringOutcome(ScoreState State, ScoreExplanation Explanation, RecoveryDecision Recovery);
