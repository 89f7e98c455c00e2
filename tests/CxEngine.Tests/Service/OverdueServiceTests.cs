using CxEngine.Customers;
using CxEngine.Scoring;
using CxEngine.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using V1 = CxEngine.Contracts.V1;

namespace CxEngine.Tests.Service;

/// <summary>
/// Scoring model version 3 through real gRPC, with the engine's default tiers: an open promise nobody reports is felt
/// at once when its fixed tolerance passes (promise-overdue:), and still missed at its deadline, both by the engine's
/// clock; the overdue step is what raises the action.
/// </summary>
public sealed class OverdueServiceTests
{
    /// <summary>What the pure model says: the registration, then the promise overdue and missed on the clock.</summary>
    private static (CustomerState State, IReadOnlyList<ModelStep> Steps) Expected(V1.InteractionEvent registration, DateTime clockAfter)
    {
        var due = PromiseWire.OnTheClock(registration, clockAfter, TierPolicy.Premium);
        var id = registration.Signals.Promise.PromiseId;
        Assert.Equal([$"promise-overdue:{id}", $"promise-missed:{id}"], due.Steps.Select(s => s.EventId));
        return (due.State, due.Steps);
    }

    [Fact]
    public async Task OpenPromise_PastItsTimeWithNoEvent_IsOverdueAtOnce_ThenMissed_ByTheEnginesClock_AndTheOverdueStepRaisesTheAction()
    {
        using var data = new TempDirectory("promise");
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var engine = await EngineHost.StartAsync(data.Path, b => b.Services.AddKeyedSingleton<TimeProvider>(EngineClock.Key, clock), PromiseWire.SweepEvery);
        await using var watcher = new Watcher(engine.Recovery, new V1.WatchActionsRequest { AfterSequence = 0 });
        var customer = Ids.Customer("promise");
        var now = clock.GetUtcNow().UtcDateTime;

        // A callback promised two hours ahead: premium tolerance max(10 min, 5 % of 2 h) = 10 min: overdue at 2 h 10 min
        // (the fixed tolerance), missed at 2 h 40 min.
        var registration = PromiseWire.Registration(customer, "callback-1", now, TimeSpan.FromHours(2));
        var registered = await engine.Ingest.RecordEventAsync(registration);
        Assert.Equal(V1.EventStatus.Applied, registered.Status);
        Assert.True(registered.Change.Unscored);
        Assert.Equal(75, registered.Score.Score);

        clock.Advance(TimeSpan.FromHours(2) + TimeSpan.FromMinutes(5)); // not yet overdue
        await Task.Delay(300);
        Assert.Equal(1, (await engine.Scores.GetScoreAsync(new V1.GetScoreRequest { CustomerId = customer })).EventsApplied);

        clock.Advance(TimeSpan.FromMinutes(35) + TimeSpan.FromSeconds(10));
        var raised = (await watcher.WaitForAsync(r => r.Any(a => a.CustomerId == customer), "the action the missed promise raised"))
            .Single(a => a.CustomerId == customer);

        var (expected, steps) = Expected(registration, clock.GetUtcNow().UtcDateTime);
        var missed = steps[1];
        var history = await engine.Scores.GetHistoryAsync(new V1.GetHistoryRequest { CustomerId = customer });
        Assert.Equal(["promise-missed:callback-1", "promise-overdue:callback-1", registration.EventId], history.Changes.Select(c => c.EventId));
        Assert.Equal(25, history.Changes[1].Experience);
        PromiseWire.AssertMissedStep(history.Changes[0], missed);
        Assert.Equal(expected.Score.Score, history.Score.Score, 9);
        Assert.Equal(expected.Score.Expectation, history.Score.Expectation, 9);
        // Felt at once: the overdue step raises the action, before the promise is missed.
        Assert.Equal((V1.ActionChange.Raised, "promise-overdue:callback-1"), (raised.Change, raised.TriggerEventId));
        Assert.Equal(raised.ActionId, history.Score.OpenAction.ActionId);

        await PromiseWire.AssertALateReportScoresNothingAsync(engine, registration, clock.GetUtcNow().UtcDateTime, expected.Score.Score);
    }
}
