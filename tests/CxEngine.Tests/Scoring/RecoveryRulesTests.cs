using CxEngine.Customers;
using CxEngine.Scoring;
using static CxEngine.Tests.Scoring.Events;

namespace CxEngine.Tests.Scoring;

/// <summary>SCORING.md step 8 and "Recovery actions": the recovery rules, rule by rule, as pure functions.</summary>
public sealed class RecoveryRulesTests
{
    private const string Customer = "c-1";
    private static readonly TierPolicy Standard = TierPolicy.Standard; // baseline 55, hysteresis 5
    private static readonly DateTime Now = new(2026, 11, 30, 12, 0, 0, DateTimeKind.Utc);

    private static CustomerState At(double score, RecoveryActionRecord? open = null) =>
        new() { Tier = "standard", Score = new ScoreState(score, 60, T0.Ticks), OpenAction = open, ActionsRaised = open is null ? 0 : 1 };

    private static RecoveryActionRecord? Step(CustomerState customer, string eventId, DateTime eventTime, DateTime? now = null) =>
        RecoveryRules.AfterStep(customer, Customer, eventId, eventTime.Ticks,
            ScoringStep.DecideRecovery(customer.Score.Score, Standard, customer.OpenAction?.Severity ?? customer.ResolvedEpisode),
            Standard, now ?? Now);

    [Fact]
    public void BelowBaseline_NothingOpen_RaisesANewActionWithThePlaybookAndItsDeadline()
    {
        var customer = At(48); // gap 7: medium
        var raised = Step(customer, "e1", T0)!;

        Assert.Equal((ActionChange.Raised, ActionStatus.Open, Severity.Medium, 1), (raised.Change, raised.Status, raised.Severity, raised.Revision));
        Assert.Equal("c-1#1", raised.ActionId);
        Assert.Equal(Now + Standard.SlaFor(Severity.Medium), raised.DueBy);
        Assert.Equal(RecoveryPlaybook.StepsFor(Severity.Medium), raised.Steps);
        Assert.Equal(Standard.FrontLineCompensationLimit, raised.SuggestedCompensation);
        Assert.Same(raised, customer.OpenAction);
    }

    [Fact]
    public void AtOrAboveBaseline_NothingOpen_ChangesNothing()
    {
        var customer = At(55);
        Assert.Null(Step(customer, "e1", T0));
        Assert.Null(customer.OpenAction);
    }

    [Fact]
    public void Open_SeverityRises_EscalatesTheSameAction_DueNoLaterThanBefore()
    {
        var customer = At(52);
        var raised = Step(customer, "e1", T0)!; // gap 3: low, due in 24 h
        customer.Score = customer.Score with { Score = 30 }; // gap 25: high

        var escalated = Step(customer, "e2", T0.AddHours(1), Now.AddHours(1))!;

        Assert.Equal((raised.ActionId, ActionChange.Escalated, ActionStatus.Escalated, Severity.High, 2),
            (escalated.ActionId, escalated.Change, escalated.Status, escalated.Severity, escalated.Revision));
        Assert.Equal(Now.AddHours(1) + Standard.SlaFor(Severity.High), escalated.DueBy);
        Assert.Equal(1, customer.ActionsRaised);
    }

    [Fact]
    public void Open_InsideTheHysteresisBand_StaysAsItIs()
    {
        var customer = At(50);
        Step(customer, "e1", T0);
        customer.Score = customer.Score with { Score = 59.9 };

        Assert.Null(Step(customer, "e2", T0.AddHours(1)));
        Assert.NotNull(customer.OpenAction);
    }

    [Fact]
    public void Open_BackAboveBaselinePlusHysteresis_ClosesAsRecovered_AndRemembersTheClose()
    {
        var customer = At(50);
        var raised = Step(customer, "e1", T0)!;
        customer.Score = customer.Score with { Score = 60 };

        var recovered = Step(customer, "e2", T0.AddDays(1))!;

        Assert.Equal((raised.ActionId, ActionChange.Recovered, ActionStatus.Recovered, "e2"),
            (recovered.ActionId, recovered.Change, recovered.Status, recovered.ClosedByEventId));
        Assert.Null(customer.OpenAction);
        Assert.Equal(raised.ActionId, customer.LastRecovered!.ActionId);
        Assert.Equal(T0.AddDays(1).Ticks, customer.LastRecoveredAtTicks);
    }

    [Fact]
    public void FallWithinTheReopenWindow_ReopensTheSameAction_WithTheNewSeverityAndDeadline()
    {
        var customer = At(50);
        var raised = Step(customer, "e1", T0)!;
        customer.Score = customer.Score with { Score = 61 };
        Step(customer, "e2", T0.AddDays(1));
        customer.Score = customer.Score with { Score = 35 }; // gap 20: high

        var reopened = Step(customer, "e3", T0.AddDays(7).AddMinutes(-1), Now.AddDays(6))!;

        Assert.Equal((raised.ActionId, ActionChange.Reopened, ActionStatus.Open, Severity.High, 3),
            (reopened.ActionId, reopened.Change, reopened.Status, reopened.Severity, reopened.Revision));
        Assert.Equal(Now.AddDays(6) + Standard.SlaFor(Severity.High), reopened.DueBy);
        Assert.Equal("e3", reopened.TriggerEventId);
        Assert.Null(reopened.ClosedByEventId);
        Assert.Equal(1, customer.ActionsRaised);
        Assert.Null(customer.LastRecovered);
    }

    [Fact]
    public void FallAfterTheReopenWindow_RaisesANewAction()
    {
        var customer = At(50);
        Step(customer, "e1", T0);
        customer.Score = customer.Score with { Score = 61 };
        Step(customer, "e2", T0.AddDays(1));
        customer.Score = customer.Score with { Score = 50 };

        var raised = Step(customer, "e3", T0.AddDays(8).AddMinutes(1))!;

        Assert.Equal((ActionChange.Raised, "c-1#2", 1), (raised.Change, raised.ActionId, raised.Revision));
    }

    [Fact]
    public void ReopenWindowZero_NeverReopens()
    {
        var policy = Standard with { ReopenWindowDays = 0 };
        var customer = At(50);
        RecoveryRules.AfterStep(customer, Customer, "e1", T0.Ticks, ScoringStep.DecideRecovery(50, policy, Severity.None), policy, Now);
        customer.Score = customer.Score with { Score = 61 };
        RecoveryRules.AfterStep(customer, Customer, "e2", T0.Ticks, ScoringStep.DecideRecovery(61, policy, Severity.Low), policy, Now);

        var again = RecoveryRules.AfterStep(customer, Customer, "e3", T0.Ticks, ScoringStep.DecideRecovery(50, policy, Severity.None), policy, Now)!;

        Assert.Equal(ActionChange.Raised, again.Change);
    }

    [Fact]
    public void AfterAPersonResolved_OnlyAWorseFallRaisesANewAction_AndRecoveryEndsTheEpisode()
    {
        var customer = At(52);
        customer.ResolvedEpisode = Severity.Low;

        Assert.Null(Step(customer, "e1", T0)); // still low: handled
        customer.Score = customer.Score with { Score = 30 };
        var raised = Step(customer, "e2", T0)!;
        Assert.Equal((ActionChange.Raised, Severity.High, Severity.None), (raised.Change, raised.Severity, customer.ResolvedEpisode));

        var other = At(61);
        other.ResolvedEpisode = Severity.Low;
        Assert.Null(Step(other, "e3", T0));
        Assert.Equal(Severity.None, other.ResolvedEpisode);
    }

    [Fact]
    public void Overdue_EscalatesOneLevel_WithANewDeadline_OnlyWhenDueAndUnacknowledged()
    {
        var customer = At(52);
        var open = Step(customer, "e1", T0)!; // low, due Now + 24 h
        var late = open.DueBy.AddMinutes(1);

        Assert.Null(RecoveryRules.Overdue(open, open.ActionId, Standard, open.DueBy.AddMinutes(-1)));
        Assert.Null(RecoveryRules.Overdue(open, "c-1#9", Standard, late));
        Assert.Null(RecoveryRules.Overdue(open with { Status = ActionStatus.Acknowledged }, open.ActionId, Standard, late));

        var overdue = RecoveryRules.Overdue(open, open.ActionId, Standard, late)!;
        Assert.Equal((ActionChange.Overdue, Severity.Medium, true, 2), (overdue.Change, overdue.Severity, overdue.Overdue, overdue.Revision));
        Assert.Equal(late + Standard.SlaFor(Severity.Medium), overdue.DueBy);
    }

    [Fact]
    public void AcknowledgeAndResolve_RecordWhoThroughWhatAndWhen_AsTheNextRevisions()
    {
        var open = Step(At(48), "e1", T0)!;

        var acknowledged = RecoveryRules.Acknowledged(open, "alice", "desk-key", "calling back", Now.AddMinutes(5));
        Assert.Equal((ActionChange.Acknowledged, ActionStatus.Acknowledged, 2, "alice", "desk-key", "calling back"),
            (acknowledged.Change, acknowledged.Status, acknowledged.Revision, acknowledged.AcknowledgedBy, acknowledged.AcknowledgedVia, acknowledged.Note));
        Assert.Equal(Now.AddMinutes(5), acknowledged.AcknowledgedAt);

        var resolved = RecoveryRules.Resolved(acknowledged, "bob", "crm-key", null, "refunded", Now.AddHours(1));
        Assert.Equal((ActionChange.Resolved, ActionStatus.Resolved, 3, "bob", "crm-key", "refunded"),
            (resolved.Change, resolved.Status, resolved.Revision, resolved.ResolvedBy, resolved.ResolvedVia, resolved.ResolutionOutcome));
        Assert.Equal("alice", resolved.AcknowledgedBy);
        Assert.False(resolved.IsOpen);
    }

    [Fact]
    public void CostliestReasons_AreTheThreeLargestFalls_WorstFirst()
    {
        var changes = new[] { -1.0, 2, -5, -0.5, -3, 4 }.Select((d, i) =>
            new ScoreChangeRecord($"e{i}", EventKind.Contact, Channel.Phone, T0, 50, 60, -10, 40, 70, 0, 70 + d, 60, Now)).ToArray();

        Assert.Equal(["e2", "e4", "e0"], RecoveryRules.CostliestReasons(changes).Select(c => c.EventId));
    }
}
