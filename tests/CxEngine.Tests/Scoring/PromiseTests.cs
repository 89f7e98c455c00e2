using CxEngine.Customers;
using CxEngine.Scoring;
using static CxEngine.Tests.Scoring.Events;

namespace CxEngine.Tests.Scoring;

/// <summary>SCORING.md "Promises", rule by rule, on the pure customer model.</summary>
public sealed class PromiseTests
{
    private const string Customer = "c-1";
    // Version 2's rules, which promise_overdue_step = false keeps exactly (the overdue step: OverdueTests).
    private static readonly TierPolicy Standard = TierPolicy.Standard with { PromiseOverdueStep = false };
    private static readonly DateTime Now = new(2026, 11, 30, 12, 0, 0, DateTimeKind.Utc);

    private static readonly DateTime Purchase = T0;
    private static readonly DateTime Promised = T0.AddDays(23);

    // Standard tier, 23 days of lead: max(30 min, 0.07 · 23 days) = 2318.4 minutes, about 1.6 days.
    private static readonly TimeSpan Tolerance = TimeSpan.FromMinutes(0.07 * 23 * 24 * 60);
    private static readonly DateTime Deadline = Promised + (4 * Tolerance);

    private static CustomerEvent Evt(string id, DateTime when, Signals signals, EventKind kind = EventKind.Delivery) =>
        new(id, Channel.Delivery, new ScoringEvent(when.Ticks, kind, signals));

    private static PromiseSignal Promise(string? id, DateTime promised, DateTime? fulfilled = null, DateTime? notified = null, DateTime? made = null, bool broken = false) =>
        new(promised.Ticks, fulfilled?.Ticks ?? 0, notified?.Ticks ?? 0) { PromiseId = id, MadeAtTicks = made?.Ticks ?? 0, Broken = broken };

    private static CustomerEvent Register(string id, DateTime? notified = null, DateTime? promised = null) =>
        Evt($"order-{id}", Purchase, new Signals { Promise = Promise(id, promised ?? Promised, notified: notified, made: Purchase) });

    private static ModelResult Apply(CustomerState state, CustomerEvent evt, TierPolicy? policy = null) =>
        CustomerModel.Apply(state, Customer, evt, policy ?? Standard, Now);

    /// <summary>The score the step gives one event with only this promise signal, from a new customer.</summary>
    private static ScoreState Expected(PromiseSignal judged, DateTime when, EventKind kind = EventKind.Delivery) =>
        ScoringStep.Apply(ScoreState.Initial(Standard), new ScoringEvent(when.Ticks, kind, new Signals { Promise = judged }), Standard, Severity.None).State;

    [Fact]
    public void Tolerance_GrowsWithLeadTime_AndNeverFallsBelowTheFixedOne()
    {
        Assert.Equal(Tolerance.TotalMinutes, Standard.PromiseToleranceFor((Promised - Purchase).Ticks), 6);
        Assert.Equal(30, Standard.PromiseToleranceFor(TimeSpan.FromHours(2).Ticks));
        Assert.Equal(30, Standard.PromiseToleranceFor(0));
    }

    [Fact]
    public void ParcelOneDayLate_ScoresByItsOwnTolerance_NotAsATotalFailure()
    {
        var late = Promise(null, Promised, fulfilled: Promised.AddDays(1), made: Purchase);
        var expected = 100 * (1 - (TimeSpan.FromDays(1).TotalMinutes / (4 * Tolerance.TotalMinutes)));

        Assert.Equal(expected, ScoringStep.Experience(new ScoringEvent(Promised.AddDays(1).Ticks, EventKind.Delivery, new Signals { Promise = late }), Standard), 9);
        Assert.True(expected > 80);
    }

    [Fact]
    public void VersionOnePromise_WithoutIdOrMadeAt_ScoresExactlyAsVersionOne()
    {
        var v1 = Evt("e1", T0.AddHours(2), new Signals { Promise = new PromiseSignal(T0.Ticks, T0.AddMinutes(45).Ticks, 0) });
        var result = Apply(new CustomerState(), v1);

        var step = ScoringStep.Apply(ScoreState.Initial(Standard), v1.Event, Standard, Severity.None);
        Assert.Equal(step.State, result.State.Score);
        Assert.Equal(step.Explanation, Assert.Single(result.Steps).Body.Explanation);
        Assert.Empty(result.State.OpenPromises);
    }

    [Fact]
    public void Registration_IsRecordedButScoresNothing()
    {
        var before = new CustomerState();
        var result = Apply(before, Register("p1"));

        var step = Assert.Single(result.Steps);
        Assert.True(step.Body.Explanation.Unscored);
        Assert.Equal(ScoreState.Initial(Standard), result.State.Score);
        var open = Assert.Single(result.State.OpenPromises);
        Assert.Equal(("p1", Promised.Ticks, Purchase.Ticks), (open.PromiseId, open.PromisedAtTicks, open.MadeAtTicks));
        Assert.Equal(1, result.State.Position);
        Assert.False(before.Exists); // the input state is never changed
    }

    [Fact]
    public void Registration_WithOtherSignals_ScoresTheOthersOnly()
    {
        var evt = Evt("order", Purchase, new Signals { Promise = Promise("p1", Promised, made: Purchase), Csat = 5 }, EventKind.Survey);
        var result = Apply(new CustomerState(), evt);

        var expected = ScoringStep.Apply(ScoreState.Initial(Standard), new ScoringEvent(Purchase.Ticks, EventKind.Survey, new Signals { Csat = 5 }), Standard, Severity.None);
        Assert.Equal(expected.State, result.State.Score);
        Assert.Single(result.State.OpenPromises);
    }

    [Fact]
    public void KeptOnTime_ScoresFull_AndClosesThePromise()
    {
        var registered = Apply(new CustomerState(), Register("p1")).State;
        var kept = Apply(registered, Evt("delivered", Promised.AddHours(-3), new Signals { Promise = Promise("p1", Promised, fulfilled: Promised.AddHours(-3)) }));

        Assert.Equal(100, Assert.Single(kept.Steps).Body.Explanation.Experience);
        Assert.Empty(kept.State.OpenPromises);
        Assert.Contains("p1", kept.State.ClosedPromises);
    }

    [Fact]
    public void Late_IsJudgedAgainstTheRegisteredPromise()
    {
        var registered = Apply(new CustomerState(), Register("p1")).State;
        var arrived = Promised.AddDays(2);
        // The fulfilment carries only the id and when: the registered times and lead decide the score.
        var late = Apply(registered, Evt("delivered", arrived, new Signals { Promise = Promise("p1", arrived, fulfilled: arrived) }));

        var expected = 100 * (1 - (TimeSpan.FromDays(2).TotalMinutes / (4 * Tolerance.TotalMinutes)));
        Assert.Equal(expected, Assert.Single(late.Steps).Body.Explanation.Experience, 9);
    }

    [Fact]
    public void Broken_ScoresZeroAtOnce_OrHalfWhenTheCustomerWasToldInAdvance()
    {
        var registered = Apply(new CustomerState(), Register("p1")).State;
        var broken = Apply(registered, Evt("cancelled", T0.AddDays(5), new Signals { Promise = Promise("p1", Promised, broken: true) }));
        Assert.Equal(0, Assert.Single(broken.Steps).Body.Explanation.Experience);
        Assert.Empty(broken.State.OpenPromises);

        var warned = Apply(new CustomerState(), Register("p2", notified: T0.AddDays(4))).State;
        var brokenWarned = Apply(warned, Evt("cancelled", T0.AddDays(5), new Signals { Promise = Promise("p2", Promised, broken: true) }));
        Assert.Equal(50, Assert.Single(brokenWarned.Steps).Body.Explanation.Experience);
    }

    [Fact]
    public void Missed_IsAppliedBeforeALaterEvent_AtItsDeadline_AsTheEnginesOwnEvent()
    {
        var registered = Apply(new CustomerState(), Register("p1")).State;
        var later = Evt("chat", Deadline.AddHours(1), new Signals { Csat = 4 }, EventKind.Survey);

        var result = Apply(registered, later);

        Assert.Equal(2, result.Steps.Count);
        var missed = result.Steps[0];
        Assert.Equal("promise-missed:p1", missed.EventId);
        Assert.Equal(Deadline.Ticks, missed.Body.Event.OccurredAtTicks, TimeSpan.TicksPerMillisecond);
        Assert.Equal(EventKind.Delivery, missed.Body.Event.Kind);
        Assert.Equal(0, missed.Body.Explanation.Experience);
        Assert.Equal(Expected(Promise("p1", Promised, made: Purchase, broken: true), Deadline).Score, missed.Body.Explanation.ScoreAfter, 9);
        Assert.Equal("chat", result.Steps[1].EventId);
        Assert.Equal((2, 3), (missed.Position, result.Steps[1].Position));
        Assert.Empty(result.State.OpenPromises);
    }

    [Fact]
    public void Missed_IsNotAppliedBeforeAnEventAtOrBeforeTheDeadline()
    {
        var registered = Apply(new CustomerState(), Register("p1")).State;
        var result = Apply(registered, Evt("chat", Deadline.AddMinutes(-1), new Signals { Csat = 4 }, EventKind.Survey));

        Assert.Equal("chat", Assert.Single(result.Steps).EventId);
        Assert.Single(result.State.OpenPromises);
    }

    [Fact]
    public void Missed_ByTheClock_WhenNoEventArrives_AndTheSameAsBeforeALaterEvent()
    {
        var registered = Apply(new CustomerState(), Register("p1")).State;

        Assert.Empty(CustomerModel.ApplyDuePromises(registered, Customer, Standard, Deadline.AddSeconds(-1).Ticks, Now).Steps);
        var byClock = CustomerModel.ApplyDuePromises(registered, Customer, Standard, Deadline.AddDays(3).Ticks, Now);
        var byEvent = Apply(registered, Evt("chat", Deadline.AddDays(3), new Signals { Csat = 4 }, EventKind.Survey));

        var missed = Assert.Single(byClock.Steps);
        Assert.Equal(byEvent.Steps[0], missed);
        Assert.Equal(Deadline.Ticks, CustomerModel.NextDeadlineTicks(registered, Standard)!.Value, TimeSpan.TicksPerMillisecond);
        Assert.Null(CustomerModel.NextDeadlineTicks(byClock.State, Standard));
    }

    [Fact]
    public void Missed_WhenTheCustomerWasToldInAdvance_ScoresHalf()
    {
        var registered = Apply(new CustomerState(), Register("p1", notified: Promised.AddDays(-1))).State;
        var missed = Assert.Single(CustomerModel.ApplyDuePromises(registered, Customer, Standard, Deadline.AddDays(1).Ticks, Now).Steps);

        Assert.Equal(50, missed.Body.Explanation.Experience);
    }

    [Fact]
    public void EachPromise_IsScoredOnce_AFulfilmentAfterAMissScoresOnlyItsOtherSignals()
    {
        var registered = Apply(new CustomerState(), Register("p1")).State;
        var missed = CustomerModel.ApplyDuePromises(registered, Customer, Standard, Deadline.AddSeconds(1).Ticks, Now).State;
        var arrived = Deadline.AddDays(1);

        var onlyPromise = Apply(missed, Evt("delivered", arrived, new Signals { Promise = Promise("p1", arrived, fulfilled: arrived) }));
        Assert.True(Assert.Single(onlyPromise.Steps).Body.Explanation.Unscored);
        Assert.Equal(missed.Score, onlyPromise.State.Score);

        var withCsat = Apply(missed, Evt("delivered", arrived, new Signals { Promise = Promise("p1", arrived, fulfilled: arrived), Csat = 2 }, EventKind.Survey));
        Assert.Equal(ScoringStep.CsatPerformance(2), Assert.Single(withCsat.Steps).Body.Explanation.Experience);

        var kept = Apply(registered, Evt("delivered", Promised, new Signals { Promise = Promise("p1", Promised, fulfilled: Promised) })).State;
        var again = Apply(kept, Evt("delivered-again", Promised.AddHours(1), new Signals { Promise = Promise("p1", Promised, fulfilled: Promised) }));
        Assert.True(Assert.Single(again.Steps).Body.Explanation.Unscored);
    }

    [Fact]
    public void RePromise_MovesTheDeadline_ButTheShortfallIsHalvedAgainstTheOriginalTime()
    {
        var registered = Apply(new CustomerState(), Register("p1")).State;
        var newDate = Promised.AddDays(5);
        var told = Promised.AddDays(-2);
        var repromised = Apply(registered, Evt("delay-notice", told, new Signals { Promise = Promise("p1", newDate, notified: told) })).State;

        var open = Assert.Single(repromised.OpenPromises);
        Assert.Equal((Promised.Ticks, newDate.Ticks, told.Ticks), (open.OriginalPromisedAtTicks, open.PromisedAtTicks, open.NotifiedAtTicks));
        Assert.True(CustomerModel.NextDeadlineTicks(repromised, Standard) > Deadline.Ticks);
        Assert.Empty(CustomerModel.ApplyDuePromises(repromised, Customer, Standard, Deadline.AddDays(1).Ticks, Now).Steps);

        var delivered = Apply(repromised, Evt("delivered", newDate, new Signals { Promise = Promise("p1", newDate, fulfilled: newDate) }));
        var raw = 100 * Math.Max(0, 1 - (TimeSpan.FromDays(5).TotalMinutes / (4 * Tolerance.TotalMinutes)));
        Assert.Equal(100 - ((100 - raw) / 2), Assert.Single(delivered.Steps).Body.Explanation.Experience, 9);
    }

    [Fact]
    public void OneMoreThanMaxOpenPromises_IsRejectedNamingTheField_AndChangesNothing()
    {
        var policy = Standard with { MaxOpenPromises = 2 };
        var state = Apply(new CustomerState(), Register("p1"), policy).State;
        state = Apply(state, Register("p2"), policy).State;

        var third = Apply(state, Register("p3"), policy);

        Assert.Equal("signals.promise.promise_id", third.Rejection!.Value.Field);
        Assert.Contains("max_open_promises", third.Rejection.Value.Problem);
        Assert.Same(state, third.State);
        Assert.Empty(third.Steps);
        // Updating one already open is not one more.
        Assert.Null(Apply(state, Register("p2", notified: T0.AddDays(1)), policy).Rejection);
    }

    [Fact]
    public void FulfilmentBeforeTheRegisteredMadeAt_IsRejected()
    {
        var registered = Apply(new CustomerState(), Register("p1")).State;
        var early = Purchase.AddDays(-1);
        var result = Apply(registered, Evt("delivered", Purchase, new Signals { Promise = Promise("p1", Promised, fulfilled: early) }));

        Assert.Equal("signals.promise.fulfilled_at", result.Rejection!.Value.Field);
        Assert.Same(registered, result.State);
    }

    [Fact]
    public void SeveralMissedPromises_AreAppliedOldestDeadlineFirst()
    {
        var state = Apply(new CustomerState(), Register("late", promised: Promised.AddDays(3))).State;
        state = Apply(state, Register("early")).State;

        var result = Apply(state, Evt("chat", Promised.AddDays(30), new Signals { Csat = 3 }, EventKind.Survey));

        Assert.Equal(["promise-missed:early", "promise-missed:late", "chat"], result.Steps.Select(s => s.EventId));
    }

    [Fact]
    public void TheSameEvents_GiveTheSameStateAndSteps_OnReplay()
    {
        CustomerEvent[] events =
        [
            Register("p1"),
            Register("p2", promised: Promised.AddDays(10)),
            Evt("e1", T0.AddDays(1), new Signals { Csat = 2 }, EventKind.Survey),
            Evt("e2", Deadline.AddDays(2), new Signals { Promise = Promise("p2", Promised.AddDays(11), fulfilled: Deadline.AddDays(2)) }),
        ];

        var (first, firstSteps) = Run(events);
        var (second, secondSteps) = Run(events);

        Assert.Equal(firstSteps.Count, secondSteps.Count);
        for (var i = 0; i < firstSteps.Count; i++)
        {
            Assert.Equal(firstSteps[i].Body, secondSteps[i].Body);
            Assert.Equal((firstSteps[i].Position, firstSteps[i].EventId), (secondSteps[i].Position, secondSteps[i].EventId));
            Assert.Equal(firstSteps[i].Action?.ActionId, secondSteps[i].Action?.ActionId);
        }

        Assert.Equal(first.Score, second.Score);
        Assert.Equal(first.OpenPromises.AsEnumerable(), second.OpenPromises.AsEnumerable());
        Assert.Contains(firstSteps, s => s.EventId == "promise-missed:p1");

        static (CustomerState, List<ModelStep>) Run(IEnumerable<CustomerEvent> events)
        {
            var state = new CustomerState();
            var steps = new List<ModelStep>();
            foreach (var evt in events)
            {
                var result = CustomerModel.Apply(state, Customer, evt, Standard, Now);
                state = result.State;
                steps.AddRange(result.Steps);
            }

            return (state, steps);
        }
    }
}
