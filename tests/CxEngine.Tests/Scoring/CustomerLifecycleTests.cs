using CxEngine.Customers;
using CxEngine.Scoring;
using static CxEngine.Tests.Scoring.Events;

namespace CxEngine.Tests.Scoring;

/// <summary>The action's lifecycle outside events (acknowledge, resolve, overdue, set tier), as the model's pure functions.</summary>
public sealed class CustomerLifecycleTests
{
    private static readonly DateTime Now = new(2026, 3, 1, 10, 0, 0, DateTimeKind.Utc);

    /// <summary>A premium customer after a terrible call: an open action, high.</summary>
    private static CustomerState Fallen()
    {
        var result = CustomerModel.Apply(new CustomerState(), "c-1", new CustomerEvent("call", Channel.Phone, WithExperience(0)), TierPolicy.Premium, Now);
        Assert.NotNull(result.State.OpenAction);
        return result.State;
    }

    [Fact]
    public void Acknowledge_TakesTheOpenActionOn_Once_AndLeavesTheInputAsItWas()
    {
        var state = Fallen();
        var id = state.OpenAction!.ActionId;

        var (next, change) = CustomerLifecycle.Acknowledge(state, id, "alice", "key:desk", "calling", Now);

        Assert.Equal((ActionStatus.Acknowledged, ActionChange.Acknowledged, "alice", "key:desk"), (change!.Status, change.Change, change.AcknowledgedBy, change.AcknowledgedVia));
        Assert.Same(change, next.OpenAction);
        Assert.Equal(ActionStatus.Open, state.OpenAction.Status);
        var again = Assert.Throws<ActionTransitionException>(() => CustomerLifecycle.Acknowledge(next, id, "bob", "key:desk", null, Now));
        Assert.Equal($"action {id} is already acknowledged by alice", again.Message);
    }

    [Fact]
    public void Resolve_ClosesTheAction_TheEpisodeStaysHandled_AndAClosedActionIsRefused()
    {
        var state = Fallen();
        var id = state.OpenAction!.ActionId;

        var (next, resolved) = CustomerLifecycle.Resolve(state, id, "alice", "key:desk", null, "refunded", Now);

        Assert.Equal((ActionStatus.Resolved, "refunded"), (resolved!.Status, resolved.ResolutionOutcome));
        Assert.Null(next.OpenAction);
        Assert.Equal(resolved.Severity, next.ResolvedEpisode);
        Assert.Equal($"action {id} is closed and cannot be resolved", Assert.Throws<ActionTransitionException>(() => CustomerLifecycle.Resolve(next, id, "a", "v", null, null, Now)).Message);
        Assert.Equal($"action {id} is closed and cannot be acknowledged", Assert.Throws<ActionTransitionException>(() => CustomerLifecycle.Acknowledge(next, id, "a", "v", null, Now)).Message);
        Assert.Throws<ActionNotFoundException>(() => CustomerLifecycle.Acknowledge(next, "c-1#9", "a", "v", null, Now));
    }

    [Fact]
    public void MarkOverdue_EscalatesAnUnacknowledgedActionPastItsDeadline_OnlyThen()
    {
        var state = Fallen();
        var open = state.OpenAction!;
        Assert.Null(CustomerLifecycle.MarkOverdue(state, open.ActionId, TierPolicy.Premium, open.DueBy.AddMinutes(-1)));

        var (next, overdue) = CustomerLifecycle.MarkOverdue(state, open.ActionId, TierPolicy.Premium, open.DueBy.AddMinutes(1))!;

        Assert.Equal((ActionStatus.Escalated, true, ActionChange.Overdue), (overdue!.Status, overdue.Overdue, overdue.Change));
        Assert.True(overdue.DueBy > open.DueBy);
        var acknowledged = CustomerLifecycle.Acknowledge(state, open.ActionId, "a", "v", null, Now).State;
        Assert.Null(CustomerLifecycle.MarkOverdue(acknowledged, open.ActionId, TierPolicy.Premium, open.DueBy.AddHours(5)));
    }

    [Fact]
    public void SetTier_StartsANewCustomerAtTheTiersInitialState_AndIsNothingForTheSameTier()
    {
        var next = CustomerLifecycle.SetTier(new CustomerState(), TierPolicy.Premium)!;

        Assert.Equal(("premium", ScoreState.Initial(TierPolicy.Premium)), (next.Tier, next.Score));
        Assert.Null(CustomerLifecycle.SetTier(next, TierPolicy.Premium));
        var moved = CustomerLifecycle.SetTier(Fallen(), TierPolicy.Basic)!;
        Assert.Equal("basic", moved.Tier);
        Assert.Equal(Fallen().Score, moved.Score);
    }
}
