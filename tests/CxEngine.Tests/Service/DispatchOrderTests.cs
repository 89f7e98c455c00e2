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
        await using var engine = await StartAsync(data);
        var (ids, events) = NewCustomers("o");

        // The control customer gets the same events with storage up. It also warms the engine (tier
        // catalog, storage writer), so the locked run below fails only at the customers' own writes.
        var control = Ids.Customer("control");
        foreach (var evt in Sequence(control))
        {
            Assert.Equal(V1.EventStatus.Applied, (await engine.Ingest.RecordEventAsync(evt)).Status);
        }

        var expected = await engine.Scores.GetScoreAsync(new V1.GetScoreRequest { CustomerId = control });
        Assert.Equal(PerCustomer, expected.EventsApplied);
        Assert.Equal(ModelScore(control), expected.Score);

        await using (var locker = await LockStorageAsync(data))
        {
            var outage = await StreamAsync(engine, ids.Select(id => events[id][0]), RestInOrder(ids, events));

            await ScalarAsync(locker, "ROLLBACK");

            Assert.Equal(Customers * PerCustomer, outage.Count);
            Assert.All(outage.Values, r => Assert.Equal(V1.EventStatus.Unavailable, r.Status));

            // The first event of each customer reached its grain and failed there. Every later one was answered by
            // the dispatcher, unsent: queued behind the failed batch, or arriving after its failure on the same stream
            // (or, on a starved machine, it joined the first one's batch and failed with it in the grain).
            foreach (var id in ids)
            {
                // The grain's wording is its own; it only has to say something other than the dispatcher.
                var first = outage[events[id][0].EventId].Error;
                Assert.False(string.IsNullOrEmpty(first));
                Assert.NotEqual(EarlierFailed, first);
                Assert.All(events[id].Skip(1), e => Assert.Contains(outage[e.EventId].Error, new[] { EarlierFailed, first }));
            }
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
        AssertAllAppliedInOrder(resent, ids, events);
        foreach (var id in ids)
        {
            var score = await engine.Scores.GetScoreAsync(new V1.GetScoreRequest { CustomerId = id });
            Assert.Equal(PerCustomer, score.EventsApplied);
            Assert.Equal(expected.Score, score.Score);
            Assert.Equal(expected.Expectation, score.Expectation);
            Assert.Equal(expected.OpenAction is null, score.OpenAction is null);
        }
    }

    /// <summary>
    /// A client that breaks the retry rule cannot reorder a customer either: after its first events failed and storage
    /// came back, the later events it sends on the same stream are answered UNAVAILABLE unsent (applying them would put
    /// them ahead of the failed ones), until it sends the failed event again; from there on the stream scores as an
    /// unbroken run.
    /// </summary>
    [Fact]
    public async Task StorageBackMidStream_LaterEventsBeforeTheFailedOneIsResent_AreAnsweredUnavailableUnsent()
    {
        using var data = new TempDirectory("dispatch-fence");
        await using var engine = await StartAsync(data);
        var (ids, events) = NewCustomers("f");

        using var call = engine.Ingest.StreamEvents();
        var results = System.Threading.Channels.Channel.CreateUnbounded<V1.EventResult>();
        var reading = Task.Run(async () =>
        {
            await foreach (var result in call.ResponseStream.ReadAllAsync())
            {
                await results.Writer.WriteAsync(result);
            }

            results.Writer.Complete();
        });

        async Task<V1.EventResult[]> SendAsync(IEnumerable<V1.InteractionEvent> batch)
        {
            var sent = batch.ToArray();
            foreach (var evt in sent)
            {
                await call.RequestStream.WriteAsync(evt);
            }

            var answered = new List<V1.EventResult>();
            while (answered.Count < sent.Length)
            {
                answered.Add(await results.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30)));
            }

            return [.. answered];
        }

        await using (var locker = await LockStorageAsync(data))
        {
            var failed = await SendAsync(ids.Select(id => events[id][0]));
            Assert.All(failed, r => Assert.Equal(V1.EventStatus.Unavailable, r.Status));
            await ScalarAsync(locker, "ROLLBACK");
        }

        // Storage is back, but each customer's first event is still unapplied: its second may not overtake it.
        var early = await SendAsync(ids.Select(id => events[id][1]));
        Assert.All(early, r =>
        {
            Assert.Equal(V1.EventStatus.Unavailable, r.Status);
            Assert.Equal(EarlierFailed, r.Error);
        });

        // The failed event sent again lifts the fence; the rest follow in order.
        var resent = (await SendAsync(ids.Select(id => events[id][0]).Concat(RestInOrder(ids, events)))).ToDictionary(r => r.EventId);
        await call.RequestStream.CompleteAsync();
        await reading.WaitAsync(TimeSpan.FromSeconds(30));

        AssertAllAppliedInOrder(resent, ids, events);
        foreach (var id in ids)
        {
            var score = await engine.Scores.GetScoreAsync(new V1.GetScoreRequest { CustomerId = id });
            Assert.Equal(ModelScore(id), score.Score, 9);
        }
    }

    /// <summary>Every result APPLIED, each customer's in the order sent: the running count rises one by one along its sequence.</summary>
    private static void AssertAllAppliedInOrder(
        Dictionary<string, V1.EventResult> resent, string[] ids, Dictionary<string, V1.InteractionEvent[]> events)
    {
        Assert.All(resent.Values, r => Assert.Equal(V1.EventStatus.Applied, r.Status));
        foreach (var id in ids)
        {
            Assert.Equal(
                Enumerable.Range(1, PerCustomer).Select(n => (long)n),
                events[id].Select(e => resent[e.EventId].Score.EventsApplied));
        }
    }

    /// <summary>An engine on SQLite that waits a second for the database's lock before a write fails: an outage is answered in about a second.</summary>
    private static Task<EngineHost> StartAsync(TempDirectory data) =>
        EngineHost.StartAsync(data.Path, "--CxEngine:Storage:BusyTimeout=00:00:01");

    private static (string[] Ids, Dictionary<string, V1.InteractionEvent[]> Events) NewCustomers(string prefix)
    {
        var ids = Enumerable.Range(0, Customers).Select(i => Ids.Customer($"{prefix}{i}")).ToArray();
        return (ids, ids.ToDictionary(id => id, Sequence));
    }

    /// <summary>The score the pure model gives a customer's whole sequence, applied once in order.</summary>
    private static double ModelScore(string customerId) =>
        Model.Replay(TierPolicy.Defaults.Single(t => t.Name == Tier), Sequence(customerId).Select(Wire.Scoring)).State.Score;

    /// <summary>
    /// Another process's exclusive lock on the engine's database, until ROLLBACK. In WAL mode readers go on (grains still
    /// load); only writers wait for the lock and then fail.
    /// </summary>
    private static async Task<SqliteConnection> LockStorageAsync(TempDirectory data)
    {
        var locker = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = Path.Combine(data.Path, "cxengine.db"),
            Pooling = false,
        }.ToString());
        await locker.OpenAsync();
        Assert.Equal("wal", await ScalarAsync(locker, "PRAGMA journal_mode"));
        await ScalarAsync(locker, "BEGIN EXCLUSIVE");
        return locker;
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
