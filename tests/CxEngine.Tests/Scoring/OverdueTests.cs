using CxEngine.Customers;
using CxEngine.Scoring;
using static CxEngine.Tests.Scoring.Events;

namespace CxEngine.Tests.Scoring;

/// <summary>SCORING.md "Changes in version 3", rule by rule, on the pure customer model and the re-score fold.</summary>
public sealed class OverdueTests
{
    private const string Customer = "c-1";
    private static readonly TierPolicy Standard = TierPolicy.Standard;
    private static readonly DateTime Now = new(2026, 11, 30, 12, 0, 0, DateTimeKind.Utc);

    private static readonly DateTime Purchase = T0;
    private static readonly DateTime Promised = T0.AddDays(23);

    // The overdue moment uses the fixed tolerance (30 minutes on standard), not the lead-time one (about 1.6 days).
    private static readonly DateTime OverdueAt = Promised.AddMinutes(30);
    private static readonly DateTime Deadline = Promised + (4 * TimeSpan.FromMinutes(0.07 * 23 * 24 * 60));

    private static CustomerEvent Evt(string id, DateTime when, Signals signals, EventKind kind = EventKind.Delivery) =>
        new(id, Channel.Delivery, new ScoringEvent(when.Ticks, kind, signals));

    private static PromiseSignal Promise(string id, DateTime promised, DateTime? fulfilled = null, DateTime? notified = null) =>
        new(promised.Ticks, fulfilled?.Ticks ?? 0, notified?.Ticks ?? 0) { PromiseId = id, MadeAtTicks = Purchase.Ticks };

    private static CustomerEvent Register(string id, DateTime? notified = null, DateTime? promised = null, DateTime? at = null) =>
        Evt($"order-{id}", at ?? Purchase, new Signals { Promise = Promise(id, promised ?? Promised, notified: notified) });

    private static CustomerEvent Survey(string id, DateTime when, int csat) => Evt(id, when, new Signals { Csat = csat }, EventKind.Survey);

    private static CustomerState Run(TierPolicy policy, params CustomerEvent[] events) => Run(policy, out _, events);

    private static CustomerState Run(TierPolicy policy, out List<ModelStep> steps, params CustomerEvent[] events)
    {
        var state = new CustomerState();
        steps = [];
        foreach (var evt in events)
        {
            var result = CustomerModel.Apply(state, Customer, evt, policy, Now);
            Assert.Null(result.Rejection);
            state = result.State;
            steps.AddRange(result.Steps);
        }

        return state;
    }

    [Fact]
    public void Overdue_IsFeltAtOnce_BeforeALaterEvent_AtTheFixedTolerance_AndThePromiseStaysOpen()
    {
        var state = Run(Standard, out var steps, Register("p"), Survey("s", Promised.AddHours(12), 2));

        Assert.Equal(["order-p", "promise-overdue:p", "s"], steps.Select(s => s.EventId));
        var overdue = steps[1];
        Assert.Equal(OverdueAt.Ticks, overdue.Body.Event.OccurredAtTicks);
        Assert.Equal(EventKind.Delivery, overdue.Body.Event.Kind);
        Assert.Equal(Standard.PromiseOverduePerformance, overdue.Body.Explanation.Experience, 9);
        var open = Assert.Single(state.OpenPromises);
        Assert.True(open.OverdueApplied);

        // The same step as an event of that performance alone, from a new customer.
        var expected = ScoringStep.Apply(ScoreState.Initial(Standard) with { LastEventAtTicks = Purchase.Ticks },
            new ScoringEvent(OverdueAt.Ticks, EventKind.Delivery, new Signals { Sentiment = (25 / 50.0) - 1 }), Standard, Severity.None).State;
        Assert.Equal(expected.Score, overdue.Body.Explanation.ScoreAfter, 9);
    }

    [Fact]
    public void Overdue_ThenKeptLate_IsStillScoredByItsLateness_AndNeverMissed()
    {
        var keptAt = Promised.AddDays(1);
        var state = Run(Standard, out var steps, Register("p"), Evt("kept", keptAt, new Signals { Promise = Promise("p", Promised, fulfilled: keptAt) }));

        Assert.Equal(["order-p", "promise-overdue:p", "kept"], steps.Select(s => s.EventId));
        var lateness = ScoringStep.PromisePerformance(Promise("p", Promised, fulfilled: keptAt), Standard.PromiseToleranceFor((Promised - Purchase).Ticks));
        Assert.Equal(lateness, steps[2].Body.Explanation.Experience, 9);
        Assert.Empty(state.OpenPromises);
        Assert.Null(CustomerModel.NextDeadlineTicks(state, Standard));
    }

    [Fact]
    public void NeverKept_IsOverdueOnce_ThenMissedAtFourTolerances()
    {
        var state = Run(Standard, Register("p"));
        Assert.Equal(OverdueAt.Ticks, CustomerModel.NextDeadlineTicks(state, Standard));

        var due = CustomerModel.ApplyDuePromises(state, Customer, Standard, Deadline.AddDays(1).Ticks, Now);

        Assert.Equal(["promise-overdue:p", "promise-missed:p"], due.Steps.Select(s => s.EventId));
        Assert.Equal(Deadline.Ticks, due.Steps[1].Body.Event.OccurredAtTicks, TimeSpan.TicksPerMillisecond);
        Assert.Equal(0, due.Steps[1].Body.Explanation.Experience);
        Assert.Empty(due.State.OpenPromises);
        Assert.Empty(CustomerModel.ApplyDuePromises(due.State, Customer, Standard, Deadline.AddDays(2).Ticks, Now).Steps);

        // By the clock in two sweeps, the same as in one: overdue once, then missed.
        var first = CustomerModel.ApplyDuePromises(state, Customer, Standard, OverdueAt.AddMinutes(1).Ticks, Now);
        Assert.Equal(["promise-overdue:p"], first.Steps.Select(s => s.EventId));
        Assert.Empty(CustomerModel.ApplyDuePromises(first.State, Customer, Standard, OverdueAt.AddHours(1).Ticks, Now).Steps);
        var second = CustomerModel.ApplyDuePromises(first.State, Customer, Standard, Deadline.AddDays(1).Ticks, Now);
        Assert.Equal(["promise-missed:p"], second.Steps.Select(s => s.EventId));
        Assert.Equal(due.State.Score, second.State.Score);
    }

    [Fact]
    public void Overdue_WhenTheCustomerWasWarned_HalvesTheShortfall()
    {
        var state = Run(Standard, out var steps, Register("p", notified: Promised.AddDays(-2)), Survey("s", Promised.AddDays(1), 3));

        Assert.Equal(100 - ((100 - Standard.PromiseOverduePerformance) / 2), steps[1].Body.Explanation.Experience, 9);
        Assert.Equal(62.5, steps[1].Body.Explanation.Experience, 9);
        Assert.Single(state.OpenPromises);
    }

    [Fact]
    public void RePromise_BeforeTheOldTime_MovesTheOverdueMoment()
    {
        var later = Promised.AddDays(3);
        var state = Run(Standard, out var steps,
            Register("p"), Register("p", notified: Promised.AddDays(-1), promised: later, at: Promised.AddDays(-1)), Survey("s", Promised.AddDays(2), 4));

        Assert.DoesNotContain(steps, s => s.EventId.StartsWith(PromiseSignal.OverdueEventIdPrefix, StringComparison.Ordinal));
        Assert.Equal(later.AddMinutes(30).Ticks, CustomerModel.NextDeadlineTicks(state, Standard));
    }

    [Fact]
    public void OverdueStepOff_IsVersionTwoExactly()
    {
        var v2 = Standard with { PromiseOverdueStep = false };
        var events = new[] { Register("p"), Survey("s1", Promised.AddHours(12), 2), Survey("s2", Deadline.AddDays(1), 1) };

        Run(v2, out var steps, events);

        Assert.Equal(["order-p", "s1", "promise-missed:p", "s2"], steps.Select(s => s.EventId));
        Assert.Equal(Deadline.Ticks, CustomerModel.NextDeadlineTicks(Run(v2, Register("p")), v2)!.Value, TimeSpan.TicksPerMillisecond);
    }

    [Fact]
    public void OverduePerformance_IsATierSetting()
    {
        var harsh = Standard with { PromiseOverduePerformance = 0 };
        Run(harsh, out var steps, Register("p"), Survey("s", Promised.AddHours(12), 2));
        Assert.Equal(0, steps[1].Body.Explanation.Experience);
        Assert.Equal(new FieldError("promise_overdue_performance", "must be a finite number between 0 and 100, got 101"), (Standard with { PromiseOverduePerformance = 101 }).Validate());
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void HalfLifeOfZero_DoesNotFade_OnThatSide(bool good)
    {
        var policy = good ? Standard with { GoodMemoryHalfLifeDays = 0 } : Standard with { BadMemoryHalfLifeDays = 0 };
        Assert.Null(policy.Validate());
        var score = good ? 90.0 : 40.0;
        var later = T0.AddDays(365).Ticks;

        Assert.Equal(score, ScoringStep.Decay(score, T0.Ticks, later, policy));
        // The other side still fades.
        var other = good ? 40.0 : 90.0;
        Assert.NotEqual(other, ScoringStep.Decay(other, T0.Ticks, later, policy));
        Assert.Equal("good_memory_half_life_days", (Standard with { GoodMemoryHalfLifeDays = -1 }).Validate()?.Field);
    }

    [Fact]
    public void Rescore_UnderOtherTolerances_DecidesThePromisesAgain_AsTheLiveModelWould()
    {
        // Recorded under version 2's rules with a tight tolerance: the promise is missed before the survey.
        var recorded = Standard with { PromiseOverdueStep = false, PromiseToleranceFraction = 0.01 };
        var events = new[] { Register("p"), Survey("s1", Promised.AddDays(2), 3), Survey("s2", Promised.AddDays(30), 4) };
        Run(recorded, out var logged, events);
        Assert.Contains(logged, s => s.EventId == "promise-missed:p");
        var log = logged.Select(s => new EventLogEntry(s.Position, s.EventId, Now, s.Body)).ToList();

        foreach (var candidate in new[] { Standard, Standard with { PromiseToleranceFraction = 0.2 }, Standard with { PromiseOverdueStep = false } })
        {
            var live = Run(candidate, out var liveSteps, events);
            live = CustomerModel.ApplyDuePromises(live, Customer, candidate, Now.Ticks, Now).State;

            var fold = Rescoring.Replay(log, _ => candidate, candidate, Now, Customer);

            Assert.Equal(live.Score, fold.Score);
            Assert.Equal<OpenPromise>(live.OpenPromises, fold.OpenPromises);
            Assert.Equal(live.OpenAction?.Severity ?? Severity.None, fold.OpenSeverity);
            Assert.Equal(log.Count, fold.EventsReplayed);
        }
    }

    [Fact]
    public void Rescore_OfALogWithoutItsRegistration_ReplaysTheRecordedSteps()
    {
        // Retention trimmed the registration: the recorded overdue and missed steps are all there is.
        Run(Standard, out var logged, Register("p"), Survey("s", Deadline.AddDays(1), 3));
        Assert.Equal(["order-p", "promise-overdue:p", "promise-missed:p", "s"], logged.Select(s => s.EventId));
        var kept = logged.Skip(1).Select(s => new EventLogEntry(s.Position, s.EventId, Now, s.Body)).ToList();

        var fold = Rescoring.Replay(kept, _ => Standard, Standard, Now, Customer);

        Assert.Equal(3, fold.EventsReplayed);
        Assert.Equal(logged[^1].Body.Explanation.ScoreAfter, fold.Score.Score, 9);
    }
}
