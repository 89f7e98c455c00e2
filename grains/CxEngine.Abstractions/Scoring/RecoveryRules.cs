using CxEngine.Customers;

namespace CxEngine.Scoring;

/// <summary>
/// SCORING.md step 8 and "Recovery actions" as pure functions: the customer's action state, the score after a
/// step, the tier policy and the time in, the action change out (raise, escalate, reopen, recover, overdue).
/// Nothing here reads storage or a clock; the reasons (the log's costliest recent changes) are attached by the
/// caller, which can read the log, with <see cref="CostliestReasons"/>.
/// </summary>
public static class RecoveryRules
{
    /// <summary>
    /// The action change one scoring step causes. <paramref name="customer"/> is the state after the step and
    /// is updated in place (open action, actions raised, resolved episode, last recovered close); the returned
    /// record is the log entry to write, without reasons, or null when nothing changed.
    /// </summary>
    public static RecoveryActionRecord? AfterStep(
        CustomerState customer, string customerId, string eventId, long eventTicks, RecoveryDecision decision, TierPolicy policy, DateTime now)
    {
        var score = customer.Score;
        switch (decision.Kind)
        {
            case RecoveryDecisionKind.Escalate when customer.OpenAction is { } open:
                // A more severe action is due sooner, never later than it already was.
                var escalatedDue = now + policy.SlaFor(decision.Severity);
                return customer.OpenAction = Fallen(open, ActionChange.Escalated, ActionStatus.Escalated, decision.Severity, score, policy, now) with
                {
                    DueBy = open.DueBy < escalatedDue ? open.DueBy : escalatedDue,
                };

            case RecoveryDecisionKind.Raise when customer.LastRecovered is { } last
                && eventTicks - customer.LastRecoveredAtTicks < (long)(policy.ReopenWindowDays * TimeSpan.TicksPerDay):
                // One action per episode: a fall soon after a recovered close opens that same action again.
                customer.LastRecovered = null;
                customer.LastRecoveredAtTicks = 0;
                return customer.OpenAction = Fallen(last, ActionChange.Reopened, ActionStatus.Open, decision.Severity, score, policy, now) with
                {
                    TriggerEventId = eventId,
                    DueBy = now + policy.SlaFor(decision.Severity),
                    ClosedByEventId = null,
                    Overdue = false,
                    AcknowledgedBy = null,
                    AcknowledgedAt = null,
                    Note = null,
                };

            case RecoveryDecisionKind.Raise:
            case RecoveryDecisionKind.Escalate:
                // A first fall, or a worse fall after a person resolved the last action: a new action.
                customer.ResolvedEpisode = Severity.None;
                customer.ActionsRaised++;
                return customer.OpenAction = WithPlaybook(new RecoveryActionRecord
                {
                    ActionId = RecoveryActionRecord.FormatId(customerId, customer.ActionsRaised),
                    CustomerId = customerId,
                    Tier = policy.Name,
                    Status = ActionStatus.Open,
                    Change = ActionChange.Raised,
                    Revision = 1,
                    Score = score.Score,
                    Expectation = score.Expectation,
                    Baseline = policy.Baseline,
                    TriggerEventId = eventId,
                    DueBy = now + policy.SlaFor(decision.Severity),
                    RaisedAt = now,
                    UpdatedAt = now,
                }, decision.Severity, policy);

            case RecoveryDecisionKind.Recover when customer.OpenAction is { } recovering:
                customer.OpenAction = null;
                var recovered = Change(recovering, ActionChange.Recovered, now) with
                {
                    Status = ActionStatus.Recovered,
                    Score = score.Score,
                    Expectation = score.Expectation,
                    ClosedByEventId = eventId,
                };
                customer.LastRecovered = recovered with { Reasons = [] };
                customer.LastRecoveredAtTicks = eventTicks;
                return recovered;

            case RecoveryDecisionKind.Recover:
                // The customer is back above the line after a resolved action: the episode is over.
                customer.ResolvedEpisode = Severity.None;
                return null;

            default:
                return null;
        }
    }

    /// <summary>
    /// The open action missed its due_by unacknowledged: one level up and a new deadline. Null when nothing is
    /// overdue (acknowledged, closed, another action, or already given a later deadline).
    /// </summary>
    public static RecoveryActionRecord? Overdue(RecoveryActionRecord? open, string actionId, TierPolicy policy, DateTime now)
    {
        if (open is null || open.ActionId != actionId || open.Status is not (ActionStatus.Open or ActionStatus.Escalated) || open.DueBy > now)
        {
            return null;
        }

        var severity = (Severity)Math.Min((int)Severity.High, (int)open.Severity + 1);
        return WithPlaybook(Change(open, ActionChange.Overdue, now), severity, policy) with
        {
            Status = ActionStatus.Escalated,
            Overdue = true,
            DueBy = now + policy.SlaFor(severity),
        };
    }

    /// <summary>A person took the action on: who (<paramref name="by"/>), through which credential (<paramref name="via"/>), when.</summary>
    public static RecoveryActionRecord Acknowledged(RecoveryActionRecord open, string by, string via, string? note, DateTime now) =>
        Change(open, ActionChange.Acknowledged, now) with
        {
            Status = ActionStatus.Acknowledged,
            AcknowledgedBy = by,
            AcknowledgedVia = via,
            AcknowledgedAt = now,
            Note = note,
        };

    /// <summary>A person finished the action, with what was done for the customer.</summary>
    public static RecoveryActionRecord Resolved(RecoveryActionRecord open, string by, string via, string? note, string? outcome, DateTime now) =>
        Change(open, ActionChange.Resolved, now) with
        {
            Status = ActionStatus.Resolved,
            ResolvedBy = by,
            ResolvedVia = via,
            ResolvedAt = now,
            ResolutionOutcome = outcome,
            Note = note,
        };

    /// <summary>Whether a change opens an action with reasons to show (raised, escalated or reopened by a fall).</summary>
    public static bool NeedsReasons(ActionChange change) =>
        change is ActionChange.Raised or ActionChange.Escalated or ActionChange.Reopened;

    /// <summary>The (at most three) recent changes that cost the most score, worst first.</summary>
    public static ScoreChangeRecord[] CostliestReasons(IEnumerable<ScoreChangeRecord> recent) =>
        [.. recent.Where(c => c.Delta < 0).OrderBy(c => c.Delta).Take(3)];

    /// <summary>The action's next revision after a fall: its new severity's playbook, and where the customer stands now.</summary>
    private static RecoveryActionRecord Fallen(
        RecoveryActionRecord action, ActionChange change, ActionStatus status, Severity severity, in ScoreState score, TierPolicy policy, DateTime now) =>
        WithPlaybook(Change(action, change, now), severity, policy) with
        {
            Status = status,
            Tier = policy.Name,
            Score = score.Score,
            Expectation = score.Expectation,
            Baseline = policy.Baseline,
        };

    /// <summary>The action at a severity: the playbook's steps, its compensation, and whether that needs approval.</summary>
    public static RecoveryActionRecord WithPlaybook(RecoveryActionRecord action, Severity severity, TierPolicy policy)
    {
        var compensation = RecoveryPlaybook.SuggestedCompensation(severity, policy);
        return action with
        {
            Severity = severity,
            Steps = RecoveryPlaybook.StepsFor(severity),
            SuggestedCompensation = compensation,
            RequiresApproval = RecoveryPlaybook.RequiresApproval(compensation, policy),
        };
    }

    /// <summary>The next revision of an action: what changed and when; its log sequence is drawn at commit.</summary>
    public static RecoveryActionRecord Change(RecoveryActionRecord action, ActionChange change, DateTime now) =>
        action with { Change = change, Revision = action.Revision + 1, UpdatedAt = now, Sequence = 0 };
}
