using CxEngine.Customers;

namespace CxEngine.Scoring;

/// <summary>A change to a customer that is not an event: the state after it, and the action change it caused (if any).</summary>
public sealed record LifecycleResult(CustomerState State, RecoveryActionRecord? Change);

/// <summary>
/// Everything that happens to a customer's action outside an event, as pure functions beside <see cref="CustomerModel"/>:
/// a person acknowledges or resolves it, the clock finds it overdue, the tier changes, a re-score settles it. The input
/// state is never changed; a refusal is a typed exception (<see cref="ActionTransitionException"/>,
/// <see cref="ActionNotFoundException"/>) with nothing changed. The grain holds the state and commits what these return.
/// </summary>
public static class CustomerLifecycle
{
    /// <summary>A person takes the open action on; refused when it is not the open one or is acknowledged already.</summary>
    public static LifecycleResult Acknowledge(CustomerState state, string actionId, string by, string via, string? note, DateTime now)
    {
        var open = OpenAction(state, actionId, "acknowledged");
        if (open.Status == ActionStatus.Acknowledged)
        {
            throw new ActionTransitionException($"action {actionId} is already acknowledged by {open.AcknowledgedBy}");
        }

        var next = state.Copy();
        next.OpenAction = RecoveryRules.Acknowledged(open, by, via, note, now);
        return new LifecycleResult(next, next.OpenAction);
    }

    /// <summary>
    /// A person closes the open action. The episode stays handled until the customer recovers: only a fall worse than
    /// <see cref="CustomerState.ResolvedEpisode"/> raises a new action.
    /// </summary>
    public static LifecycleResult Resolve(CustomerState state, string actionId, string by, string via, string? note, string? outcome, DateTime now)
    {
        var resolved = RecoveryRules.Resolved(OpenAction(state, actionId, "resolved"), by, via, note, outcome, now);
        var next = state.Copy();
        next.OpenAction = null;
        next.ResolvedEpisode = resolved.Severity;
        return new LifecycleResult(next, resolved);
    }

    /// <summary>The open action missed its deadline unacknowledged: one level up, a new deadline. Null when nothing is overdue.</summary>
    public static LifecycleResult? MarkOverdue(CustomerState state, string actionId, TierPolicy policy, DateTime now)
    {
        if (RecoveryRules.Overdue(state.OpenAction, actionId, policy, now) is not { } overdue)
        {
            return null; // acknowledged, closed, or already given a new deadline
        }

        var next = state.Copy();
        next.OpenAction = overdue;
        return new LifecycleResult(next, overdue);
    }

    /// <summary>The customer's tier from now on (a customer not seen yet starts at the tier's initial state); null when it is the tier already.</summary>
    public static CustomerState? SetTier(CustomerState state, TierPolicy policy)
    {
        if (state.Tier == policy.Name)
        {
            return null;
        }

        var next = state.Copy();
        if (!next.Exists)
        {
            next.Score = ScoreState.Initial(policy);
        }

        next.Tier = policy.Name;
        return next;
    }

    /// <summary>
    /// A re-score settled: S, E and the promises become the replay's, and the live action gets the one change
    /// <see cref="Rescoring.Decide"/> gives, by the same rules as a live step (a new fall is a new action, never a
    /// reopening of one the old policy closed), noted with <paramref name="reason"/>.
    /// </summary>
    public static LifecycleResult Rescored(CustomerState state, string customerId, Rescoring fold, TierPolicy policy, string reason, DateTime now)
    {
        var next = state.Copy();
        next.Score = fold.Score;
        next.OpenPromises = fold.OpenPromises;
        next.ClosedPromises = fold.ClosedPromises;
        var decision = Rescoring.Decide(state.OpenAction?.Severity ?? Severity.None, state.ResolvedEpisode, fold.OpenSeverity);
        if (decision.Kind == RecoveryDecisionKind.Raise)
        {
            next.LastRecovered = null;
            next.LastRecoveredAtTicks = 0;
        }

        var change = RecoveryRules.AfterStep(next, customerId, "", next.Score.LastEventAtTicks, decision, policy, now) is { } changed
            ? changed with { Note = reason }
            : null;
        if (change is not null && next.OpenAction?.ActionId == change.ActionId)
        {
            next.OpenAction = change;
        }

        if (fold.OpenSeverity == Severity.None)
        {
            // Re-scored, the customer never stayed below: a person's resolved episode is over too.
            next.ResolvedEpisode = Severity.None;
        }

        return new LifecycleResult(next, change);
    }

    /// <summary>The open action of that id; the action being closed already, or never raised, is refused.</summary>
    private static RecoveryActionRecord OpenAction(CustomerState state, string actionId, string verb)
    {
        if (state.OpenAction is { } open && open.ActionId == actionId)
        {
            return open;
        }

        if (RecoveryActionRecord.TryParseId(actionId, out _, out var number) && number <= state.ActionsRaised)
        {
            throw new ActionTransitionException($"action {actionId} is closed and cannot be {verb}");
        }

        throw new ActionNotFoundException($"no recovery action '{actionId}'");
    }
}
