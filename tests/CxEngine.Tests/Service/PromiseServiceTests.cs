using CxEngine.Customers;
using CxEngine.Scoring;
using CxEngine.Storage;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using V1 = CxEngine.Contracts.V1;

namespace CxEngine.Tests.Service;

/// <summary>
/// Open promises through real gRPC: the engine registers a promise, and when its clock passes the deadline with
/// no event it applies the promise as missed by itself, durably (also across a restart). Version 2's rules: the
/// premium tier with the overdue step off (version 3 through the service: <see cref="OverdueServiceTests"/>).
/// </summary>
public sealed class PromiseServiceTests
{
    private const string SweepEvery = PromiseWire.SweepEvery;
    private const string VersionTwo = "--CxEngine:Tiers:premium:PromiseOverdueStep=false";

    private static V1.InteractionEvent Registration(string customerId, string promiseId, DateTime now, TimeSpan lead) =>
        PromiseWire.Registration(customerId, promiseId, now, lead);

    /// <summary>What the pure model says: the registration, then the promise missed on the clock.</summary>
    private static (CustomerState State, ModelStep Missed) Expected(V1.InteractionEvent registration, DateTime clockAfter)
    {
        var missed = PromiseWire.OnTheClock(registration, clockAfter, TierPolicy.Premium with { PromiseOverdueStep = false });
        return (missed.State, Assert.Single(missed.Steps));
    }

    [Fact]
    public async Task OpenPromise_PastItsDeadlineWithNoEvent_IsAppliedAsMissed_ScoredByTheModel_AndRaisesAnAction()
    {
        using var data = new TempDirectory("promise");
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var engine = await EngineHost.StartAsync(data.Path, b => b.Services.AddKeyedSingleton<TimeProvider>(EngineClock.Key, clock), SweepEvery, VersionTwo);
        await using var watcher = new Watcher(engine.Recovery, new V1.WatchActionsRequest { AfterSequence = 0 });
        var customer = Ids.Customer("promise");
        var now = clock.GetUtcNow().UtcDateTime;

        // A callback promised two hours ahead: premium tolerance max(10 min, 5 % of 2 h) = 10 min, deadline 2 h 40 min.
        var registration = Registration(customer, "callback-1", now, TimeSpan.FromHours(2));
        var registered = await engine.Ingest.RecordEventAsync(registration);
        Assert.Equal(V1.EventStatus.Applied, registered.Status);
        Assert.True(registered.Change.Unscored);
        Assert.Equal(75, registered.Score.Score);

        // The history names the open promise and when the engine will act on it: missed at 2 h 40 min, no overdue step here.
        var open = Assert.Single((await engine.Scores.GetHistoryAsync(new V1.GetHistoryRequest { CustomerId = customer })).OpenPromises);
        Assert.Equal(("callback-1", now + TimeSpan.FromHours(2), now + TimeSpan.FromMinutes(160), false),
            (open.PromiseId, open.PromisedAt.ToDateTime(), open.MissedAt.ToDateTime(), open.Overdue));
        Assert.Null(open.OverdueAt);

        clock.Advance(TimeSpan.FromHours(2) + TimeSpan.FromMinutes(30)); // not yet due
        await Task.Delay(300);
        Assert.Equal(1, (await engine.Scores.GetScoreAsync(new V1.GetScoreRequest { CustomerId = customer })).EventsApplied);

        clock.Advance(TimeSpan.FromMinutes(10) + TimeSpan.FromSeconds(10));
        var raised = (await watcher.WaitForAsync(r => r.Any(a => a.CustomerId == customer), "the action the missed promise raised"))
            .Single(a => a.CustomerId == customer);

        var (expected, missed) = Expected(registration, clock.GetUtcNow().UtcDateTime);
        var history = await engine.Scores.GetHistoryAsync(new V1.GetHistoryRequest { CustomerId = customer });
        Assert.Equal(["promise-missed:callback-1", registration.EventId], history.Changes.Select(c => c.EventId));
        Assert.Empty(history.OpenPromises);
        PromiseWire.AssertMissedStep(history.Changes[0], missed);
        Assert.Equal(expected.Score.Score, history.Score.Score, 9);
        Assert.Equal(expected.Score.Expectation, history.Score.Expectation, 9);
        Assert.Equal((V1.ActionChange.Raised, "promise-missed:callback-1"), (raised.Change, raised.TriggerEventId));
        Assert.Equal(raised.ActionId, history.Score.OpenAction.ActionId);

        await PromiseWire.AssertALateReportScoresNothingAsync(engine, registration, clock.GetUtcNow().UtcDateTime, expected.Score.Score);
    }

    [Fact]
    public async Task OpenPromise_SurvivesARestart_AndIsMissedByTheEngineThatComesBack()
    {
        using var data = new TempDirectory("promise-restart");
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var customer = Ids.Customer("promise");
        var now = clock.GetUtcNow().UtcDateTime;
        var registration = Registration(customer, "parcel-7", now, TimeSpan.FromDays(3));

        await using (var first = await EngineHost.StartAsync(data.Path, b => b.Services.AddKeyedSingleton<TimeProvider>(EngineClock.Key, clock), SweepEvery, VersionTwo))
        {
            Assert.Equal(V1.EventStatus.Applied, (await first.Ingest.RecordEventAsync(registration)).Status);
        }

        // Three days of lead: tolerance max(10 min, 5 % of 3 days) = 3.6 h, deadline 3 days + 14.4 h. The engine is down meanwhile.
        clock.Advance(TimeSpan.FromDays(3) + TimeSpan.FromHours(15));
        await using var second = await EngineHost.StartAsync(data.Path, b => b.Services.AddKeyedSingleton<TimeProvider>(EngineClock.Key, clock), SweepEvery, VersionTwo);
        clock.Advance(TimeSpan.FromSeconds(10));

        var deadline = DateTime.UtcNow.AddSeconds(20);
        V1.CustomerScore score;
        while ((score = await second.Scores.GetScoreAsync(new V1.GetScoreRequest { CustomerId = customer })).EventsApplied < 2)
        {
            Assert.True(DateTime.UtcNow < deadline, "the missed promise was not applied after the restart");
            clock.Advance(TimeSpan.FromSeconds(10));
            await Task.Delay(100);
        }

        var (expected, _) = Expected(registration, clock.GetUtcNow().UtcDateTime);
        Assert.Equal(2, score.EventsApplied);
        Assert.Equal(expected.Score.Score, score.Score, 9);
        Assert.NotNull(score.OpenAction);
        var history = await second.Scores.GetHistoryAsync(new V1.GetHistoryRequest { CustomerId = customer });
        Assert.Equal("promise-missed:parcel-7", history.Changes[0].EventId);

        // Nothing is due any more: further sweeps apply nothing twice.
        clock.Advance(TimeSpan.FromMinutes(5));
        await Task.Delay(300);
        Assert.Equal(2, (await second.Scores.GetScoreAsync(new V1.GetScoreRequest { CustomerId = customer })).EventsApplied);
    }

    [Theory]
    [InlineData("made_after_promised", "signals.promise.made_at")]
    [InlineData("long_id", "signals.promise.promise_id")]
    [InlineData("control_id", "signals.promise.promise_id")]
    [InlineData("fulfilled_before_made", "signals.promise.fulfilled_at")]
    [InlineData("broken_and_fulfilled", "signals.promise.broken")]
    [InlineData("reserved_event_id", "event_id")]
    [InlineData("reserved_overdue_id", "event_id")]
    public async Task BadPromise_IsInvalidArgumentNamingTheField_AndChangesNothing(string problem, string field)
    {
        using var data = new TempDirectory("promise-bad");
        await using var engine = await EngineHost.StartAsync(data.Path);
        var customer = Ids.Customer("bad");
        var now = DateTime.UtcNow;
        var evt = Registration(customer, "p-1", now.AddDays(-1), TimeSpan.FromDays(2));
        var promise = evt.Signals.Promise;
        switch (problem)
        {
            case "made_after_promised": promise.MadeAt = Timestamp.FromDateTime(now.AddDays(2)); break;
            case "long_id": promise.PromiseId = new string('p', 129); break;
            case "control_id": promise.PromiseId = "p\u0007"; break;
            case "fulfilled_before_made": promise.FulfilledAt = Timestamp.FromDateTime(now.AddDays(-2)); break;
            case "broken_and_fulfilled": promise.Broken = true; promise.FulfilledAt = Timestamp.FromDateTime(now); break;
            case "reserved_event_id": evt.EventId = "promise-missed:p-1"; break;
            case "reserved_overdue_id": evt.EventId = "promise-overdue:p-1"; break;
        }

        var error = await Assert.ThrowsAsync<RpcException>(() => engine.Ingest.RecordEventAsync(evt).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal(field, Wire.Violation(error).Field);
        var missing = await Assert.ThrowsAsync<RpcException>(() => engine.Scores.GetScoreAsync(new V1.GetScoreRequest { CustomerId = customer }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task OneMoreThanMaxOpenPromises_IsRejectedNamingTheField_AndTheStreamGoesOn()
    {
        using var data = new TempDirectory("promise-limit");
        await using var engine = await EngineHost.StartAsync(data.Path);
        var tier = ContractMapperTier("few-promises", maxOpen: 2);
        await engine.Policies.UpsertTierAsync(tier);
        var customer = Ids.Customer("limit");
        var now = DateTime.UtcNow.AddHours(-1);

        var results = new List<V1.EventResult>();
        foreach (var id in new[] { "a", "b", "c" })
        {
            var evt = Registration(customer, id, now, TimeSpan.FromDays(5));
            evt.Tier = tier.Name;
            try
            {
                results.Add(await engine.Ingest.RecordEventAsync(evt));
            }
            catch (RpcException ex)
            {
                Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
                Assert.Equal("signals.promise.promise_id", Wire.Violation(ex).Field);
                Assert.Contains("max_open_promises", Wire.Violation(ex).Description);
            }
        }

        Assert.Equal(2, results.Count);
        Assert.Equal(2, (await engine.Scores.GetScoreAsync(new V1.GetScoreRequest { CustomerId = customer })).EventsApplied);
    }

    private static V1.TierPolicy ContractMapperTier(string name, int maxOpen)
    {
        var tier = CxEngine.Silo.Services.ContractMapper.ToTier(TierPolicy.Standard with { Name = name });
        tier.MaxOpenPromises = maxOpen;
        return tier;
    }
}
