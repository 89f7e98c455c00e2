using CxEngine.Customers;
using CxEngine.Policies;
using CxEngine.Scoring;
using CxEngine.Tests.Scoring;
using static CxEngine.Tests.Scoring.Events;

namespace CxEngine.Tests.Grains;

[Collection(ClusterCollection.Name)]
public sealed class CustomerGrainTests(ClusterFixture fixture)
{
    private ICustomerGrain Customer(string id) => fixture.Grains.GetGrain<ICustomerGrain>(id);

    private static CustomerEvent Event(double x, string? tier = null, DateTime? when = null, string? id = null) =>
        new(id ?? Ids.Event(), Channel.Phone, WithExperience(x, when), tier);

    /// <summary>Applies <paramref name="count"/> events a minute apart, in batches of 250, each of them applied; returns them.</summary>
    private static async Task<CustomerEvent[]> ApplyManyAsync(ICustomerGrain grain, int count)
    {
        var events = Enumerable.Range(0, count).Select(i => Event(40 + (i % 50), "standard", T0.AddMinutes(i))).ToArray();
        for (var i = 0; i < events.Length; i += 250)
        {
            Assert.All(await grain.ApplyAsync(events[i..Math.Min(i + 250, count)]), o => Assert.Equal(EventStatus.Applied, o.Status));
        }

        return events;
    }

    private static CustomerEvent Awful(string? tier = null) =>
        new(Ids.Event(), Channel.Phone, At(T0, new Signals { Resolved = false, ConductIssueCount = 3, Effort = 1 }), tier);

    [Fact]
    public async Task RetriedEventId_IsDuplicate_AndChangesNothing()
    {
        var grain = Customer(Ids.Customer());
        var evt = Event(40, "standard");

        var first = await grain.ApplyAsync([evt]);
        var retry = await grain.ApplyAsync([evt with { Event = WithExperience(100) }]);
        var score = await grain.GetScoreAsync();

        Assert.Equal(EventStatus.Applied, first[0].Status);
        Assert.Equal(EventStatus.Duplicate, retry[0].Status);
        Assert.Null(retry[0].Change);
        Assert.Equal(1, score!.EventsApplied);
        Assert.Equal(first[0].Score!.Score, score.Score);
        Assert.Equal(first[0].Score!.Score, retry[0].Score!.Score);
    }

    [Fact]
    public async Task DuplicateWithinOneBatch_IsAppliedOnce()
    {
        var grain = Customer(Ids.Customer());
        var evt = Event(40);
        var outcomes = await grain.ApplyAsync([evt, evt]);
        Assert.Equal([EventStatus.Applied, EventStatus.Duplicate], outcomes.Select(o => o.Status));
        Assert.Equal(1, (await grain.GetScoreAsync())!.EventsApplied);
    }

    [Fact]
    public async Task Batch_IsAppliedInOrder_AsTheModelWould()
    {
        var grain = Customer(Ids.Customer());
        double[] xs = [50, 50, 50, 90, 20];
        var events = xs.Select((x, i) => Event(x, "standard", T0.AddHours(i))).ToArray();

        var outcomes = await grain.ApplyAsync(events);

        var steps = Model.Run(TierPolicy.Standard, events.Select(e => e.Event)).ToArray();
        for (var i = 0; i < events.Length; i++)
        {
            Assert.Equal(steps[i].State.Score, outcomes[i].Score!.Score);
            Assert.Equal(events[i].EventId, outcomes[i].EventId);
            Assert.Equal(i + 1, outcomes[i].Score!.EventsApplied);
        }

        var expected = steps[^1].State;
        var score = await grain.GetScoreAsync();
        Assert.Equal(expected.Score, score!.Score);
        Assert.Equal(expected.Expectation, score.Expectation);
    }

    [Fact]
    public async Task History_ExplainsEveryChange_NewestFirst_PagedBackThroughTheLog()
    {
        var grain = Customer(Ids.Customer());
        var events = Enumerable.Range(0, 10).Select(i => Event(30 + (i * 5), when: T0.AddMinutes(i))).ToArray();
        await grain.ApplyAsync(events);

        var changes = new List<ScoreChangeRecord>();
        long before = 0;
        var pages = 0;
        do
        {
            var page = await grain.GetHistoryAsync(4, before);
            changes.AddRange(page!.Changes);
            before = page.NextBeforePosition ?? -1;
            pages++;
        }
        while (before > 0);

        Assert.Equal(3, pages);
        Assert.Equal(events.Reverse().Select(e => e.EventId), changes.Select(c => c.EventId));
        for (var i = 0; i < changes.Count - 1; i++)
        {
            Assert.Equal(changes[i + 1].ScoreAfter, changes[i].ScoreBefore, 12);
        }

        var steps = Model.Run(TierPolicy.Standard, events.Select(e => e.Event)).ToArray();
        Assert.Equal(steps[^1].State.Score, changes[0].ScoreAfter);
    }

    [Fact]
    public async Task RebuiltFromSnapshotAndLog_EqualsACustomerThatNeverLeftMemory()
    {
        // The fixture snapshots every 5 events, so rebuilds replay log entries after a snapshot.
        var resident = Customer(Ids.Customer());
        var rebuilt = Customer(Ids.Customer());
        double[] xs = [60, 20, 10, 15, 5, 90, 95, 100, 100, 100, 100, 100, 30, 0, 0, 40, 70, 80, 20, 50, 60, 55, 45];
        var events = xs.Select((x, i) => Event(x, "premium", T0.AddHours(i))).ToArray();

        for (var i = 0; i < events.Length; i += 3)
        {
            var batch = events.Skip(i).Take(3).ToArray();
            await resident.ApplyAsync(batch);
            await rebuilt.ApplyAsync(batch.Select(e => e with { EventId = "r" + e.EventId }).ToArray());
            await fixture.Cluster.DeactivateAsync(rebuilt);
            await AssertSameCustomer(await resident.GetScoreAsync(), await rebuilt.GetScoreAsync());
        }

        // A tier policy changed since the snapshot does not change the past: the log carries what was computed.
        var catalog = fixture.Grains.GetGrain<ITierCatalogGrain>(ITierCatalogGrain.Key);
        var before = await rebuilt.GetScoreAsync();
        await catalog.UpsertAsync(TierPolicy.Premium with { LearningRate = 0.9 });
        try
        {
            await fixture.Cluster.DeactivateAsync(rebuilt);
            var after = await rebuilt.GetScoreAsync();
            Assert.Equal(before!.Score, after!.Score);
            Assert.Equal(before.Expectation, after.Expectation);
            Assert.Equal(before.EventsApplied, after.EventsApplied);
        }
        finally
        {
            await catalog.UpsertAsync(TierPolicy.Premium);
        }

        static Task AssertSameCustomer(CustomerSnapshot? expected, CustomerSnapshot? actual)
        {
            Assert.Equal(expected!.Score, actual!.Score);
            Assert.Equal(expected.Expectation, actual.Expectation);
            Assert.Equal(expected.EventsApplied, actual.EventsApplied);
            Assert.Equal(expected.LastEventAt, actual.LastEventAt);
            Assert.Equal(expected.Tier, actual.Tier);
            Assert.Equal(expected.OpenAction?.Severity, actual.OpenAction?.Severity);
            Assert.Equal(expected.OpenAction?.Status, actual.OpenAction?.Status);
            Assert.Equal(expected.OpenAction?.Revision, actual.OpenAction?.Revision);
            return Task.CompletedTask;
        }
    }

    [Fact]
    public async Task RetriesOlderThanMemory_AreDuplicate_ByTheLog_AlsoAfterDeactivation()
    {
        var grain = Customer(Ids.Customer());
        var events = await ApplyManyAsync(grain, 3000);

        var before = await grain.GetScoreAsync();
        Assert.Equal(3000, before!.EventsApplied);

        // The fixture remembers 64 ids in memory; the first 50 are long forgotten there, not in the log.
        var first50 = events[..50];
        Assert.All(await grain.ApplyAsync(first50), o => Assert.Equal(EventStatus.Duplicate, o.Status));
        Assert.Equivalent(before, await grain.GetScoreAsync(), strict: true);

        await fixture.Cluster.DeactivateAsync(grain);
        var mixed = first50.Append(Event(50, when: T0.AddMinutes(5000))).ToArray();
        var outcomes = await grain.ApplyAsync(mixed);
        Assert.All(outcomes.Take(50), o => Assert.Equal(EventStatus.Duplicate, o.Status));
        Assert.Equal(EventStatus.Applied, outcomes[^1].Status);
        Assert.Equal(3001, (await grain.GetScoreAsync())!.EventsApplied);
    }

    [Fact]
    public async Task ResentBatch_WithMoreForgottenIdsThanMemoryHolds_IsAllDuplicate()
    {
        var grain = Customer(Ids.Customer());
        var events = await ApplyManyAsync(grain, 500);

        var before = await grain.GetScoreAsync();

        // 200 ids the log holds and memory (64) does not: more than the memory can take in while the grain learns them
        // from the log, so the batch must not need them all in memory at once to be answered.
        var resent = events[..200].Append(Event(50, when: T0.AddMinutes(600))).ToArray();
        var outcomes = await grain.ApplyAsync(resent);

        Assert.All(outcomes.Take(200), o => Assert.Equal(EventStatus.Duplicate, o.Status));
        Assert.Equal(EventStatus.Applied, outcomes[^1].Status);
        Assert.Equal(before!.EventsApplied + 1, (await grain.GetScoreAsync())!.EventsApplied);
    }

    [Fact]
    public async Task Premium_SingleBadContact_RaisesHighAction()
    {
        var id = Ids.Customer("premium");
        var outcome = (await Customer(id).ApplyAsync([Awful("premium")]))[0];

        Assert.NotNull(outcome.Action);
        Assert.Equal(Severity.High, outcome.Action.Severity);
        Assert.Equal(ActionStatus.Open, outcome.Action.Status);
        Assert.Equal(id, outcome.Action.CustomerId);
        Assert.Equal("premium", outcome.Action.Tier);
        Assert.Equal(outcome.EventId, outcome.Action.TriggerEventId);
        Assert.Equal(500, outcome.Action.SuggestedCompensation);
        Assert.True(outcome.Action.RequiresApproval);
        Assert.Equal(5, outcome.Action.Steps.Count);
        Assert.Single(outcome.Action.Reasons);
        Assert.Equal(fixture.Clock.GetUtcNow().UtcDateTime.AddHours(1), outcome.Action.DueBy);
        Assert.Equivalent(outcome.Action, (await Customer(id).GetScoreAsync())!.OpenAction, strict: true);
    }

    [Fact]
    public async Task Basic_SameBadContact_RaisesNothing()
    {
        var outcome = (await Customer(Ids.Customer("basic")).ApplyAsync([Awful("basic")]))[0];
        Assert.Null(outcome.Action);
        Assert.False(outcome.Score!.BelowBaseline);
    }

    [Fact]
    public async Task OpenAction_EscalatesInPlace_ThenClosesAsRecovered()
    {
        var grain = Customer(Ids.Customer());
        var raised = (await grain.ApplyAsync([Event(50, "standard"), Event(50), Event(50)]))[2].Action;
        Assert.NotNull(raised);
        Assert.Equal(Severity.Low, raised.Severity);

        var escalated = (await grain.ApplyAsync([Event(0), Event(0)])).Select(o => o.Action).Last(a => a is not null);
        Assert.Equal(raised.ActionId, escalated!.ActionId);
        Assert.Equal(ActionStatus.Escalated, escalated.Status);
        Assert.True(escalated.Severity > Severity.Low);
        Assert.True(escalated.Reasons.Count is > 0 and <= 3);
        Assert.All(escalated.Reasons, r => Assert.True(r.Delta < 0));

        var recoveries = await grain.ApplyAsync(Enumerable.Range(0, 12).Select(_ => Event(100)).ToArray());
        var closed = recoveries.Select(o => o.Action).Single(a => a is not null);
        Assert.Equal(raised.ActionId, closed!.ActionId);
        Assert.Equal(ActionStatus.Recovered, closed.Status);
        Assert.True(closed.Score >= TierPolicy.Standard.Baseline + 5);
        Assert.Null((await grain.GetScoreAsync())!.OpenAction);
    }

    [Fact]
    public async Task UnknownCustomer_ReadsNothing()
    {
        Assert.Null(await Customer(Ids.Customer()).GetScoreAsync());
        Assert.Null(await Customer(Ids.Customer()).GetHistoryAsync(10, 0));
    }

    [Fact]
    public async Task State_SurvivesDeactivation()
    {
        var grain = Customer(Ids.Customer());
        var evt = Event(35, "premium");
        await grain.ApplyAsync([evt, Event(70)]);
        var before = await grain.GetScoreAsync();

        await fixture.Cluster.DeactivateAsync(grain);

        var after = await grain.GetScoreAsync();
        Assert.Equivalent(before, after, strict: true);
        Assert.Equal(EventStatus.Duplicate, (await grain.ApplyAsync([evt]))[0].Status);
        Assert.Equal(2, (await grain.GetHistoryAsync(10, 0))!.Changes.Count);
    }

    [Fact]
    public async Task SetTier_CreatesOrMovesTheCustomer_UnknownTierIsRefused()
    {
        var grain = Customer(Ids.Customer());
        var created = await grain.SetTierAsync("premium");
        Assert.Equal("premium", created.Tier);
        Assert.Equal(80, created.Expectation);
        Assert.Equal(0, created.EventsApplied);

        var moved = await grain.SetTierAsync("basic");
        Assert.Equal(45, moved.Baseline);
        Assert.Equal(80, moved.Expectation);

        await Assert.ThrowsAsync<UnknownTierException>(() => grain.SetTierAsync("gold"));
    }

    [Fact]
    public async Task UpsertedTier_AppliesFromTheNextEvent()
    {
        var catalog = fixture.Grains.GetGrain<ITierCatalogGrain>(ITierCatalogGrain.Key);
        var name = $"t{Guid.NewGuid():N}"[..20];
        var updated = await catalog.UpsertAsync(TierPolicy.Standard with { Name = name, Baseline = 74 });
        Assert.NotNull(updated.Find(name));

        // The silo's cache hears of the new version from the catalog grain.
        var outcome = (await Customer(Ids.Customer()).ApplyAsync([Event(60, name)]))[0];
        Assert.Equal(EventStatus.Applied, outcome.Status);
        Assert.Equal(74, outcome.Score!.Baseline);
        Assert.NotNull(outcome.Action);
    }
}
