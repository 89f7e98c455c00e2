using CxEngine.Scoring;
using CxEngine.Tests.Scoring;
using Grpc.Core;
using Microsoft.Data.Sqlite;
using V1 = CxEngine.Contracts.V1;

namespace CxEngine.Tests.Service;

/// <summary>
/// A customer's order survives a storage outage: while another process holds the database's write lock,
/// every event comes back UNAVAILABLE (the first of each customer from its grain, those queued behind it
/// from the dispatcher, unsent), and resending them in order afterwards scores exactly as an unbroken run.
/// </summary>
public sealed class DispatchOrderTests
{
    private const int Customers = 5, PerCustomer = 6;
    private const string Tier = "standard";

    private const string EarlierFailed =
        "not applied: an earlier event of this customer failed; retry them in order with the same event_ids";

    // Varied on purpose: expectation follows experience, so the final score depends on the order.
    private static readonly double[] Experience = [88, 41, 95, 62, 30, 79];

    [Fact]
    public async Task StorageLocked_QueuedEventsAnsweredUnavailableUnsent_ResendInOrder_ScoresAsAnUnbrokenRun()
    {
        using var data = new TempDirectory("dispatch-order");
        // SQLite waits this long for the lock before the write fails: the outage is answered in about a second.
        await using var engine = await EngineHost.StartAsync(data.Path, "--CxEngine:Storage:BusyTimeout=00:00:01");

        var ids = Enumerable.Range(0, Customers).Select(i => Ids.Customer($"o{i}")).ToArray();
        var events = ids.ToDictionary(id => id, id => Sequence(id));

        // The control customer gets the same events with storage up. It also warms the engine (tier
        // catalog, storage writer), so the locked run below fails only at the customers' own writes.
        var control = Ids.Customer("control");
        foreach (var evt in Sequence(control))
        {
            Assert.Equal(V1.EventStatus.Applied, (await engine.Ingest.RecordEventAsync(evt)).Status);
        }

        var expected = await engine.Scores.GetScoreAsync(new V1.GetScoreRequest { CustomerId = control });
        var (model, _, _) = Model.Replay(TierPolicy.Defaults.Single(t => t.Name == Tier),
            Sequence(control).Select(Wire.Scoring));
        Assert.Equal(PerCustomer, expected.EventsApplied);
        Assert.Equal(model.Score, expected.Score);

        await using (var locker = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = Path.Combine(data.Path, "cxengine.db"),
            Pooling = false,
        }.ToString()))
        {
            await locker.OpenAsync();
            // In WAL mode readers go on (grains still load), only writers wait for the lock and then fail.
            Assert.Equal("wal", await ScalarAsync(locker, "PRAGMA journal_mode"));
            await ScalarAsync(locker, "BEGIN EXCLUSIVE");

            var outage = await StreamAsync(engine, ids.Select(id => events[id][0]), RestInOrder(ids, events));

            await ScalarAsync(locker, "ROLLBACK");

            Assert.Equal(Customers * PerCustomer, outage.Count);
            Assert.All(outage.Values, r => Assert.Equal(V1.EventStatus.Unavailable, r.Status));

            // The first event of each customer reached its grain and failed there. The later ones were queued
            // behind it while the grain waited for the lock, and the dispatcher answered them unsent. Not all of
            // them for certain: one that a starved thread pool delivers after the failure was answered is sent
            // normally (and fails in the grain), so only "at least one" is a timing-proof claim.
            var unsent = 0;
            foreach (var id in ids)
            {
                // The grain's wording is its own; it only has to say something other than the dispatcher.
                var first = outage[events[id][0].EventId].Error;
                Assert.False(string.IsNullOrEmpty(first));
                Assert.NotEqual(EarlierFailed, first);
                unsent += events[id].Skip(1).Count(e => outage[e.EventId].Error == EarlierFailed);
                Assert.All(events[id], e => Assert.False(string.IsNullOrEmpty(outage[e.EventId].Error)));
            }

            Assert.True(unsent > 0, "no event was answered by the dispatcher for an earlier failure");
        }

        // Nothing was applied while storage was locked: the customers are still unknown.
        foreach (var id in ids)
        {
            var unknown = await Assert.ThrowsAsync<RpcException>(
                () => engine.Scores.GetScoreAsync(new V1.GetScoreRequest { CustomerId = id }).ResponseAsync);
            Assert.Equal(StatusCode.NotFound, unknown.StatusCode);
        }

        var resent = await StreamAsync(engine, ids.Select(id => events[id][0]), RestInOrder(ids, events));

        Assert.Equal(Customers * PerCustomer, resent.Count);
        Assert.All(resent.Values, r => Assert.Equal(V1.EventStatus.Applied, r.Status));
        foreach (var id in ids)
        {
            // Applied in the order sent: the running count rises one by one along the customer's sequence.
            Assert.Equal(
                Enumerable.Range(1, PerCustomer).Select(n => (long)n),
                events[id].Select(e => resent[e.EventId].Score.EventsApplied));

            var score = await engine.Scores.GetScoreAsync(new V1.GetScoreRequest { CustomerId = id });
            Assert.Equal(PerCustomer, score.EventsApplied);
            Assert.Equal(expected.Score, score.Score);
            Assert.Equal(expected.Expectation, score.Expectation);
            Assert.Equal(expected.OpenAction is null, score.OpenAction is null);
        }
    }

    /// <summary>One customer's events, in time order; the first names the tier.</summary>
    private static V1.InteractionEvent[] Sequence(string customerId) =>
    [
        .. Experience.Select((x, n) => Wire.Event(customerId, x, n == 0 ? Tier : "", Wire.T0.AddMinutes(n * 30))),
    ];

    /// <summary>Every customer's events after the first, round-robin, each customer's in order.</summary>
    private static IEnumerable<V1.InteractionEvent> RestInOrder(
        string[] ids, Dictionary<string, V1.InteractionEvent[]> events) =>
        Enumerable.Range(1, PerCustomer - 1).SelectMany(n => ids.Select(id => events[id][n]));

    /// <summary>
    /// One StreamEvents call: the first wave, a pause long enough for it to reach the grains (which then wait
    /// a second for the lock), and the second wave, which therefore queues behind the first in the dispatcher.
    /// </summary>
    private static async Task<Dictionary<string, V1.EventResult>> StreamAsync(
        EngineHost engine, IEnumerable<V1.InteractionEvent> first, IEnumerable<V1.InteractionEvent> then)
    {
        using var call = engine.Ingest.StreamEvents();
        var reading = Task.Run(async () =>
        {
            var results = new Dictionary<string, V1.EventResult>();
            await foreach (var result in call.ResponseStream.ReadAllAsync())
            {
                Assert.True(results.TryAdd(result.EventId, result), $"{result.EventId} was answered twice");
            }

            return results;
        });

        foreach (var evt in first)
        {
            await call.RequestStream.WriteAsync(evt);
        }

        await Task.Delay(TimeSpan.FromMilliseconds(100));
        foreach (var evt in then)
        {
            await call.RequestStream.WriteAsync(evt);
        }

        await call.RequestStream.CompleteAsync();
        return await reading.WaitAsync(TimeSpan.FromSeconds(60));
    }

    private static async Task<string?> ScalarAsync(SqliteConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return (await command.ExecuteScalarAsync())?.ToString();
    }
}
