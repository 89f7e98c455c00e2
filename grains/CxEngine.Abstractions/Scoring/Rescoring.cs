using CxEngine.Customers;

namespace CxEngine.Scoring;

/// <summary>
/// Re-scoring: the pure fold that recomputes a customer from the events its log kept, through
/// <see cref="CustomerModel.Apply"/> (the scoring step and the recovery rules) under the given tier policies. <see cref="CustomerReplay"/> restores what
/// the engine computed at the time; this computes what the policies given here make of the same events, in
/// the same order, with the same recovery rules the live path applies. People's work on actions (acknowledge,
/// resolve) is not in the log and not replayed: the fold says which action the scores alone would leave open
/// at the end, and <see cref="Decide"/> turns that into the one change the customer's live action gets.
/// </summary>
public sealed class Rescoring(Func<string, TierPolicy> policyFor, string customerId = "")
{
    private CustomerState _customer = new();

    // Promises whose registration the fold replayed with its times: their overdue and missed steps are decided again
    // under the policies given here, so the log's recorded ones are passed over.
    private readonly HashSet<string> _registered = new(StringComparer.Ordinal);

    /// <summary>S, E and the decay clock after the events applied so far.</summary>
    public ScoreState Score => _customer.Score;

    /// <summary>The promises the replay leaves open, and those it scored, under the policies given here.</summary>
    public System.Collections.Immutable.ImmutableArray<OpenPromise> OpenPromises => _customer.OpenPromises.IsDefault ? [] : _customer.OpenPromises;

    public System.Collections.Immutable.ImmutableArray<string> ClosedPromises => _customer.ClosedPromises.IsDefault ? [] : _customer.ClosedPromises;

    /// <summary>The severity of the action the scores alone would have open now; None when none would be.</summary>
    public Severity OpenSeverity => _customer.OpenAction?.Severity ?? Severity.None;

    public long EventsReplayed { get; private set; }

    /// <summary>Starts a customer that has no events yet (or none kept) at its tier's initial state.</summary>
    public void Begin(TierPolicy policy)
    {
        _customer = new CustomerState { Tier = policy.Name, Score = ScoreState.Initial(policy) };
    }

    /// <summary>
    /// Applies the next log entry, in log order, through <see cref="CustomerModel.Apply"/>: the same scoring step and
    /// recovery rules (reopen window included) the live path applies. The entry's event is what the live path
    /// scored: a promise registration was logged without its promise (it scored nothing) and a promise the engine
    /// found missed is an entry of its own, so each step is judged again under the new policies, at the time it
    /// happened. A log whose oldest entries retention trimmed starts from the state recorded before its oldest kept
    /// entry (its S and E before; no decay into it; an action open if that S was below the baseline).
    /// Promises are decided again (version 3): a registration logged with its times registers the promise in the fold,
    /// and the model applies its overdue and missed steps where the policies given here put them; the log's own such
    /// steps for that promise are passed over. A log that lost the registration (retention, or written before the log
    /// kept registrations) replays its recorded steps as they are.
    /// </summary>
    public void Apply(EventLogEntry entry)
    {
        if (PromiseSignal.PromiseIdOfEngineEvent(entry.EventId) is { } promiseId && _registered.Contains(promiseId))
        {
            // Read and decided again, not replayed as recorded.
            EventsReplayed++;
            return;
        }

        if (entry.Body.Event.Signals.Promise is { IsRegistration: true, PromiseId: { } registered })
        {
            _registered.Add(registered);
        }

        var policy = policyFor(entry.Body.Tier);
        if (!_customer.Exists)
        {
            if (entry.Position <= 1)
            {
                Begin(policy);
            }
            else
            {
                Seed(entry.Body.Explanation, policy);
            }
        }

        var evt = new CustomerEvent(entry.EventId, entry.Body.Channel, entry.Body.Event, entry.Body.Tier);
        var result = CustomerModel.Apply(_customer, customerId, evt, policy, entry.AppliedAt);
        _customer = result.State;
        EventsReplayed++;
    }

    /// <summary>
    /// Ends the fold: a customer none of whose events were replayed stands at its current tier's initial state; promises
    /// that the policies given here make overdue or missed by <paramref name="now"/> (the engine's clock) are applied, as
    /// the engine's promise timer would have.
    /// </summary>
    public Rescoring End(TierPolicy currentTier, DateTime now)
    {
        if (!_customer.Exists)
        {
            Begin(currentTier);
            return this;
        }

        _customer = CustomerModel.ApplyDuePromises(_customer, customerId, policyFor(_customer.Tier ?? currentTier.Name), now.Ticks, now).State;
        return this;
    }

    private void Seed(in ScoreExplanation before, TierPolicy policy)
    {
        _customer = new CustomerState { Tier = policy.Name, Score = new ScoreState(before.ScoreBefore, before.ExpectationBefore, 0) };
        if (ScoringStep.SeverityFor(before.ScoreBefore, policy) is var severity and not Severity.None)
        {
            _customer.OpenAction = RecoveryRules.WithPlaybook(new RecoveryActionRecord
            {
                ActionId = "",
                CustomerId = customerId,
                Tier = policy.Name,
                Status = ActionStatus.Open,
                TriggerEventId = "",
            }, severity, policy);
        }
    }

    /// <summary>The whole fold over a log in order: what replaying it under the policies gives.</summary>
    public static Rescoring Replay(
        IEnumerable<EventLogEntry> log, Func<string, TierPolicy> policyFor, TierPolicy currentTier, DateTime now, string customerId = "")
    {
        var fold = new Rescoring(policyFor, customerId);
        foreach (var entry in log)
        {
            fold.Apply(entry);
        }

        return fold.End(currentTier, now);
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
