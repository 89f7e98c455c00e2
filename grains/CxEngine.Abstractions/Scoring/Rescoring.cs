using CxEngine.Customers;

namespace CxEngine.Scoring;

/// <summary>
/// Re-scoring: the pure fold that recomputes a customer from the events its log kept, through
/// <see cref="ScoringStep.Apply"/> under the given tier policies. <see cref="CustomerReplay"/> restores what
/// the engine computed at the time; this computes what the policies given here make of the same events, in
/// the same order, with the same recovery rules the live path applies. People's work on actions (acknowledge,
/// resolve) is not in the log and not replayed: the fold says which action the scores alone would leave open
/// at the end, and <see cref="Decide"/> turns that into the one change the customer's live action gets.
/// </summary>
public sealed class Rescoring(Func<string, TierPolicy> policyFor)
{
    private bool _started;

    /// <summary>S, E and the decay clock after the events applied so far.</summary>
    public ScoreState Score { get; private set; }

    /// <summary>The severity of the action the scores alone would have open now; None when none would be.</summary>
    public Severity OpenSeverity { get; private set; }

    public long EventsReplayed { get; private set; }

    /// <summary>Actions the replay raised along the way (historical: for the record, never re-raised).</summary>
    public int Raised { get; private set; }

    /// <summary>Actions the replay saw recover along the way.</summary>
    public int Recovered { get; private set; }

    /// <summary>Starts a customer that has no events yet (or none kept) at its tier's initial state.</summary>
    public void Begin(TierPolicy policy)
    {
        Score = ScoreState.Initial(policy);
        OpenSeverity = Severity.None;
        _started = true;
    }

    /// <summary>
    /// Applies the next logged event, in log order. A log whose oldest entries retention trimmed starts from the
    /// state recorded before its oldest kept entry (its S and E before; no decay into it), the best the log knows.
    /// </summary>
    public void Apply(long position, LoggedEvent entry)
    {
        var policy = policyFor(entry.Tier);
        if (!_started)
        {
            if (position <= 1)
            {
                Begin(policy);
            }
            else
            {
                var x = entry.Explanation;
                Score = new ScoreState(x.ScoreBefore, x.ExpectationBefore, 0);
                OpenSeverity = ScoringStep.SeverityFor(x.ScoreBefore, policy);
                _started = true;
            }
        }

        var result = ScoringStep.Apply(Score, entry.Event, policy, OpenSeverity);
        Score = result.State;
        EventsReplayed++;
        switch (result.Recovery.Kind)
        {
            case RecoveryDecisionKind.Raise:
                Raised++;
                OpenSeverity = result.Recovery.Severity;
                break;
            case RecoveryDecisionKind.Escalate:
                OpenSeverity = result.Recovery.Severity;
                break;
            case RecoveryDecisionKind.Recover:
                Recovered++;
                OpenSeverity = Severity.None;
                break;
        }
    }

    /// <summary>The whole fold over a log in order: what replaying it under the policies gives.</summary>
    public static Rescoring Replay(IEnumerable<EventLogEntry> log, Func<string, TierPolicy> policyFor, TierPolicy currentTier)
    {
        var fold = new Rescoring(policyFor);
        foreach (var entry in log)
        {
            fold.Apply(entry.Position, entry.Body);
        }

        if (!fold._started)
        {
            fold.Begin(currentTier);
        }

        return fold;
    }

    /// <summary>
    /// The one change a re-score makes to the customer's live action, at the end state: none of the replay's
    /// historical actions is raised again. <paramref name="liveOpen"/> is the severity of the open action (None:
    /// none open), <paramref name="resolvedEpisode"/> that of an episode a person resolved while the customer
    /// stayed below, <paramref name="replayOpen"/> what the replay leaves open.
    /// </summary>
    public static RecoveryDecision Decide(Severity liveOpen, Severity resolvedEpisode, Severity replayOpen)
    {
        if (liveOpen != Severity.None)
        {
            return replayOpen == Severity.None ? new RecoveryDecision(RecoveryDecisionKind.Recover, liveOpen)
                : replayOpen > liveOpen ? new RecoveryDecision(RecoveryDecisionKind.Escalate, replayOpen)
                : RecoveryDecision.Nothing;
        }

        // As on the live path: an episode a person resolved is handled until a worse fall.
        return replayOpen > resolvedEpisode ? new RecoveryDecision(RecoveryDecisionKind.Raise, replayOpen) : RecoveryDecision.Nothing;
    }
}
