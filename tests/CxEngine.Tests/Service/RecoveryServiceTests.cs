using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using V1 = CxEngine.Contracts.V1;

namespace CxEngine.Tests.Service;

public sealed class RecoveryServiceTests
{
    /// <summary>Pushes a premium customer far below its baseline: raises (or escalates) a HIGH action.</summary>
    private static async Task<V1.EventResult> FailAsync(EngineHost engine, string customer) =>
        await engine.Ingest.RecordEventAsync(Wire.Awful(customer, "premium"));

    private static async Task<V1.EventResult> DelightAsync(EngineHost engine, string customer, int times)
    {
        V1.EventResult last = null!;
        for (var i = 0; i < times; i++)
        {
            var evt = Wire.Event(customer, 100, at: Wire.T0.AddMinutes(1 + i));
            evt.Signals.Csat = 5;
            evt.Signals.Resolved = true;
            evt.Signals.Effort = 7;
            last = await engine.Ingest.RecordEventAsync(evt);
        }

        return last;
    }

    [Fact]
    public async Task Watcher_ResumesFromItsLastSequence_GetsExactlyWhatItMissed_AlsoAfterARestart()
    {
        using var data = new TempDirectory("watch");
        var customers = Enumerable.Range(0, 10).Select(i => Ids.Customer($"w{i}")).ToArray();
        long seen;
        List<V1.RecoveryAction> missed;
        await using (var engine = await EngineHost.StartAsync(data.Path))
        {
            await using (var watcher = new Watcher(engine.Recovery, new V1.WatchActionsRequest { AfterSequence = 0 }))
            {
                foreach (var customer in customers[..5])
                {
                    await FailAsync(engine, customer);
                }

                var live = await watcher.WaitForAsync(r => r.Count >= 5, "5 live raised actions");
                Assert.Equal(customers[..5].Select(c => $"{c}#1"), live.Select(a => a.ActionId));
                Assert.All(live, a => Assert.Equal(V1.ActionChange.Raised, a.Change));
                Assert.Equal(Enumerable.Range(1, 5).Select(i => (long)i), live.Select(a => a.Sequence));
                seen = watcher.LastSequence;
            }

            // While the watcher is away: five new actions, and a recovery of one it already saw.
            foreach (var customer in customers[5..])
            {
                await FailAsync(engine, customer);
            }

            await DelightAsync(engine, customers[0], 15);

            await using (var resumed = new Watcher(engine.Recovery, new V1.WatchActionsRequest { AfterSequence = seen }))
            {
                missed = [.. await resumed.WaitForAsync(r => r.Count >= 6, "the 6 missed entries")];
                // And it goes on live from there.
                await FailAsync(engine, Ids.Customer("late"));
                var withLive = await resumed.WaitForAsync(r => r.Count >= 7, "a live entry after the replay");
                Assert.Equal(Enumerable.Range((int)seen + 1, 7).Select(i => (long)i), withLive.Select(a => a.Sequence));
            }

            Assert.Equal(Enumerable.Range((int)seen + 1, 6).Select(i => (long)i), missed.Select(a => a.Sequence));
            Assert.Equal(customers[5..].Select(c => $"{c}#1"), missed.Take(5).Select(a => a.ActionId));
            Assert.Equal((V1.ActionChange.Recovered, $"{customers[0]}#1"), (missed[5].Change, missed[5].ActionId));
            Assert.Equal(V1.ActionStatus.Recovered, missed[5].Status);
        }

        // The same resume after the engine restarted gives the same entries.
        await using (var restarted = await EngineHost.StartAsync(data.Path))
        {
            await using var again = new Watcher(restarted.Recovery, new V1.WatchActionsRequest { AfterSequence = seen });
            var replayed = (await again.WaitForAsync(r => r.Count >= 7, "the replay after a restart")).Take(6).ToArray();
            Assert.Equal(missed.Select(a => (a.Sequence, a.ActionId, a.Revision, a.Change)), replayed.Select(a => (a.Sequence, a.ActionId, a.Revision, a.Change)));
        }
    }

    [Fact]
    public async Task Watch_FiltersByTierAndSeverity()
    {
        using var data = new TempDirectory("watch-filter");
        await using var engine = await EngineHost.StartAsync(data.Path);
        await using var premiumHigh = new Watcher(engine.Recovery, new V1.WatchActionsRequest
        {
            AfterSequence = 0,
            Tiers = { "premium" },
            MinSeverity = V1.Severity.High,
        });

        var standard = Ids.Customer("std");
        foreach (var x in new[] { 50.0, 50, 50 })
        {
            await engine.Ingest.RecordEventAsync(Wire.Event(standard, x, "standard"));
        }

        var premium = Ids.Customer("prem");
        await FailAsync(engine, premium);

        var received = await premiumHigh.WaitForAsync(r => r.Count >= 1, "the premium HIGH action");
        await Task.Delay(300);
        Assert.Single(premiumHigh.Received);
        Assert.Equal($"{premium}#1", received[0].ActionId);
        Assert.Equal(2, received[0].Sequence); // the standard customer's LOW action was entry 1, filtered out
    }

    [Fact]
    public async Task AtRisk_SixtyPremiumBelowBaseline_AllListed_RecoveredOnesLeave_AndCloseAsRecovered()
    {
        using var data = new TempDirectory("atrisk");
        await using var engine = await EngineHost.StartAsync(data.Path);
        await using var watcher = new Watcher(engine.Recovery, new V1.WatchActionsRequest { AfterSequence = 0 });
        var customers = Enumerable.Range(0, 60).Select(i => Ids.Customer($"r{i:D2}")).ToArray();
        foreach (var customer in customers)
        {
            await FailAsync(engine, customer);
        }

        var listed = await ListAllAtRiskAsync(engine, "premium", pageSize: 7);
        Assert.Equal(customers.Order(), listed.Select(s => s.CustomerId).Order());
        Assert.All(listed, s => Assert.True(s.BelowBaseline && s.Score < s.Baseline));
        Assert.All(listed, s => Assert.NotNull(s.OpenAction));
        var gaps = listed.Select(s => s.Baseline - s.Score).ToArray();
        Assert.Equal(gaps.OrderDescending(), gaps);
        Assert.Empty(await ListAllAtRiskAsync(engine, "basic", pageSize: 100));

        var recovered = customers[..20];
        foreach (var customer in recovered)
        {
            var last = await DelightAsync(engine, customer, 15);
            Assert.True(last.Score.Score >= last.Score.Baseline + 5, $"{customer} only reached {last.Score.Score}");
        }

        var after = await ListAllAtRiskAsync(engine, "premium", pageSize: 50);
        Assert.Equal(customers[20..].Order(), after.Select(s => s.CustomerId).Order());

        var closed = await watcher.WaitForAsync(r => r.Count(a => a.Change == V1.ActionChange.Recovered) >= 20, "20 RECOVERED entries");
        Assert.Equal(recovered.Select(c => $"{c}#1").Order(), closed.Where(a => a.Change == V1.ActionChange.Recovered).Select(a => a.ActionId).Order());
        Assert.All(closed.Where(a => a.Change == V1.ActionChange.Recovered), a => Assert.Equal(V1.ActionStatus.Recovered, a.Status));
        Assert.Equal(Enumerable.Range(1, closed.Count).Select(i => (long)i), closed.Select(a => a.Sequence));
    }

    [Fact]
    public async Task AcknowledgeAndResolve_ShowInTheFeedAndTheList_BadTransitionsAndIdsAreRefused()
    {
        using var data = new TempDirectory("lifecycle");
        await using var engine = await EngineHost.StartAsync(data.Path);
        await using var watcher = new Watcher(engine.Recovery, new V1.WatchActionsRequest { AfterSequence = 0 });
        var customer = Ids.Customer("life");
        var actionId = (await FailAsync(engine, customer)).Action.ActionId;

        var acknowledged = await engine.Recovery.AcknowledgeActionAsync(new V1.ActionRef { ActionId = actionId, By = "desk-7", Note = "calling now" });
        Assert.Equal(V1.ActionStatus.Acknowledged, acknowledged.Status);
        Assert.Equal("desk-7", acknowledged.AcknowledgedBy);
        Assert.Equal(2, acknowledged.Revision);
        Assert.True(acknowledged.Sequence > 0);

        var again = await Assert.ThrowsAsync<RpcException>(() => engine.Recovery.AcknowledgeActionAsync(new V1.ActionRef { ActionId = actionId, By = "desk-8" }).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, again.StatusCode);

        var open = await engine.Recovery.ListActionsAsync(new V1.ListActionsRequest { CustomerId = customer, Statuses = { V1.ActionStatus.Acknowledged } });
        Assert.Equal(actionId, Assert.Single(open.Actions).ActionId);

        var resolved = await engine.Recovery.ResolveActionAsync(new V1.ResolveActionRequest
        {
            ActionId = actionId,
            By = "desk-7",
            Note = "apologised",
            Outcome = "refunded the delivery fee",
        });
        Assert.Equal(V1.ActionStatus.Resolved, resolved.Status);
        Assert.Equal("refunded the delivery fee", resolved.ResolutionOutcome);
        Assert.Null((await engine.Scores.GetScoreAsync(new V1.GetScoreRequest { CustomerId = customer })).OpenAction);

        // A retry of the stored resolve (same person, same caller) gets the resolved action back; anyone else is refused.
        var retried = await engine.Recovery.ResolveActionAsync(new V1.ResolveActionRequest { ActionId = actionId, By = "desk-7", Outcome = "refunded the delivery fee" });
        Assert.Equal((resolved.Revision, resolved.Sequence, V1.ActionStatus.Resolved), (retried.Revision, retried.Sequence, retried.Status));
        var resolvedTwice = await Assert.ThrowsAsync<RpcException>(() =>
            engine.Recovery.ResolveActionAsync(new V1.ResolveActionRequest { ActionId = actionId, By = "desk-9" }).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, resolvedTwice.StatusCode);

        foreach (var unknown in new[] { $"{customer}#9", "nobody#1", "not-an-action-id" })
        {
            var missing = await Assert.ThrowsAsync<RpcException>(() => engine.Recovery.AcknowledgeActionAsync(new V1.ActionRef { ActionId = unknown, By = "desk-7" }).ResponseAsync);
            Assert.Equal(StatusCode.NotFound, missing.StatusCode);
        }

        // Unknown is NOT_FOUND whatever else is wrong with the request; the same bad field on a known action names the field.
        var unknownAndBad = await Assert.ThrowsAsync<RpcException>(() =>
            engine.Recovery.AcknowledgeActionAsync(new V1.ActionRef { ActionId = $"{customer}#9", By = new string('b', 500), Note = new string('n', 5000) }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, unknownAndBad.StatusCode);
        var knownAndBad = await Assert.ThrowsAsync<RpcException>(() =>
            engine.Recovery.AcknowledgeActionAsync(new V1.ActionRef { ActionId = actionId, By = new string('b', 500) }).ResponseAsync);
        Assert.Equal("by", Wire.Violation(knownAndBad).Field);

        var feed = await watcher.WaitForAsync(r => r.Count >= 3, "raised, acknowledged and resolved entries");
        Assert.Equal([V1.ActionChange.Raised, V1.ActionChange.Acknowledged, V1.ActionChange.Resolved], feed.Select(a => a.Change));

        var listed = await engine.Recovery.ListActionsAsync(new V1.ListActionsRequest { CustomerId = customer });
        var only = Assert.Single(listed.Actions);
        Assert.Equal((V1.ActionStatus.Resolved, 3), (only.Status, only.Revision));

        // Still below the line after a resolve: the episode is handled; a further fall of the same severity raises nothing new.
        var next = await FailAsync(engine, customer);
        Assert.Null(next.Action);
    }

    [Fact]
    public async Task ListActions_FiltersAndPages()
    {
        using var data = new TempDirectory("list");
        await using var engine = await EngineHost.StartAsync(data.Path);
        var premium = Enumerable.Range(0, 5).Select(i => Ids.Customer($"p{i}")).ToArray();
        foreach (var customer in premium)
        {
            await FailAsync(engine, customer);
        }

        var basic = Ids.Customer("b");
        foreach (var x in new[] { 0.0, 0, 0, 0 })
        {
            await engine.Ingest.RecordEventAsync(Wire.Event(basic, x, "basic"));
        }

        var pages = new List<V1.RecoveryAction>();
        var request = new V1.ListActionsRequest { Tier = "premium", PageSize = 2 };
        do
        {
            var page = await engine.Recovery.ListActionsAsync(request);
            Assert.True(page.Actions.Count <= 2);
            pages.AddRange(page.Actions);
            request.PageToken = page.NextPageToken;
        }
        while (request.PageToken.Length > 0);

        Assert.Equal(premium.Select(c => $"{c}#1").Reverse(), pages.Select(a => a.ActionId));
        var basicOnly = await engine.Recovery.ListActionsAsync(new V1.ListActionsRequest { Tier = "basic", MinSeverity = V1.Severity.Medium });
        Assert.Equal($"{basic}#1", Assert.Single(basicOnly.Actions).ActionId);

        var badToken = await Assert.ThrowsAsync<RpcException>(() => engine.Recovery.ListActionsAsync(new V1.ListActionsRequest { PageToken = "garbage!" }).ResponseAsync);
        Assert.Equal("page_token", Wire.Violation(badToken).Field);
        var badSize = await Assert.ThrowsAsync<RpcException>(() => engine.Scores.ListAtRiskAsync(new V1.ListAtRiskRequest { PageSize = 5000 }).ResponseAsync);
        Assert.Equal("page_size", Wire.Violation(badSize).Field);
    }

    [Fact]
    public async Task UnacknowledgedAction_PastItsDueBy_IsEscalatedAsOverdue()
    {
        using var data = new TempDirectory("overdue");
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var engine = await EngineHost.StartAsync(data.Path,
            builder => builder.Services.AddKeyedSingleton<TimeProvider>(EngineClock.Key, clock),
            "--CxEngine:Recovery:OverdueSweepInterval=00:00:10");
        await using var watcher = new Watcher(engine.Recovery, new V1.WatchActionsRequest { AfterSequence = 0 });

        var customer = Ids.Customer("late");
        V1.EventResult raised = null!;
        foreach (var x in new[] { 50.0, 50, 50 })
        {
            raised = await engine.Ingest.RecordEventAsync(Wire.Event(customer, x, "standard"));
        }

        Assert.Equal(V1.Severity.Low, raised.Action.Severity);
        Assert.Equal(clock.GetUtcNow().UtcDateTime.AddHours(24), raised.Action.DueBy.ToDateTime());

        // Acknowledged actions are never overdue; this one is not acknowledged. A day passes.
        clock.Advance(TimeSpan.FromHours(24) + TimeSpan.FromSeconds(10));

        var entries = await watcher.WaitForAsync(r => r.Any(a => a.Change == V1.ActionChange.Overdue), "an OVERDUE entry");
        var overdue = entries.Single(a => a.Change == V1.ActionChange.Overdue);
        Assert.Equal(raised.Action.ActionId, overdue.ActionId);
        Assert.True(overdue.Overdue);
        Assert.Equal(V1.ActionStatus.Escalated, overdue.Status);
        Assert.Equal(V1.Severity.Medium, overdue.Severity);
        Assert.Equal(clock.GetUtcNow().UtcDateTime.AddHours(4), overdue.DueBy.ToDateTime());

        var listed = Assert.Single((await engine.Recovery.ListActionsAsync(new V1.ListActionsRequest { CustomerId = customer })).Actions);
        Assert.True(listed.Overdue);
        Assert.Equal(V1.Severity.Medium, listed.Severity);
    }

    private static async Task<List<V1.CustomerScore>> ListAllAtRiskAsync(EngineHost engine, string tier, int pageSize)
    {
        var all = new List<V1.CustomerScore>();
        var request = new V1.ListAtRiskRequest { Tier = tier, PageSize = pageSize };
        do
        {
            var page = await engine.Scores.ListAtRiskAsync(request);
            all.AddRange(page.Customers);
            request.PageToken = page.NextPageToken;
        }
        while (request.PageToken.Length > 0);

        return all;
    }
}
