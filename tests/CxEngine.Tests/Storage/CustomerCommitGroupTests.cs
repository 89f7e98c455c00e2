using CxEngine.Customers;
using CxEngine.Recovery;
using CxEngine.Scoring;
using CxEngine.Storage;
using CxEngine.Tests.Durability;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Orleans.Serialization;
using Orleans.Storage;

namespace CxEngine.Tests.Storage;

/// <summary>
/// Customers' commits that wait together are written together (on PostgreSQL one statement for the group), and each
/// still gets its own answer: written, refused as duplicate, refused as another activation's, or written after the
/// same customer's earlier commit in the same group. On both databases, through the store the grains use.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class CustomerCommitGroupTests
{
    private static readonly DateTime Now = new(2026, 3, 2, 9, 0, 0, DateTimeKind.Utc);

    [Theory]
    [InlineData(StorageProvider.Sqlite)]
    [InlineData(StorageProvider.PostgreSql)]
    public async Task CommitsQueuedTogether_EachGetsItsOwnOutcome(StorageProvider provider)
    {
        using var data = new TempDirectory("commit-group");
        var options = new StorageOptions
        {
            Provider = provider,
            ConnectionString = provider == StorageProvider.PostgreSql
                ? await TestPostgres.CreateDatabaseAsync("group")
                : $"Data Source={Path.Combine(data.Path, "cx.db")}",
        };
        await new SchemaInstaller(options, options.EffectiveConnectionString, NullLogger<SchemaInstaller>.Instance).ApplyAsync(CancellationToken.None);
        await using var services = new ServiceCollection().AddSerializer().AddMetrics().BuildServiceProvider();
        await using var database = new CxDatabase(options, NullLoggerFactory.Instance);
        using var metrics = new EngineMetrics(services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>());
        var serializer = services.GetRequiredService<Serializer>();
        using var feed = new ActionFeed(new RecoveryStore(database, serializer), Options.Create(new EngineOptions()), metrics, NullLogger<ActionFeed>.Instance);
        await using var store = new CustomerStore(database, feed, metrics, serializer, NullLogger<CustomerStore>.Instance);

        // Before: B at version 1; C at version 1 with "c-1" logged.
        var (a, b, c, d) = ($"a-{Guid.NewGuid():N}", $"b-{Guid.NewGuid():N}", $"c-{Guid.NewGuid():N}", $"d-{Guid.NewGuid():N}");
        await store.CommitAsync(Commit(b, 0, 1, "b-1"), Now);
        await store.CommitAsync(Commit(c, 0, 1, "c-1"), Now);

        // Hold the writer so that everything below waits for the same group commit.
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var held = database.Writer.RunAsync(async (_, _, _) => { await gate.Task; return 0; });
        var raised = Action(a, 1);
        var pending = new[]
        {
            store.CommitAsync(Commit(a, 0, 1, "a-1", "a-2") with { Actions = [raised] }, Now),
            store.CommitAsync(Commit(b, 0, 1, "b-2"), Now),            // B is at version 1: another activation wrote it.
            store.CommitAsync(Commit(c, 1, 2, "c-1", "c-2"), Now), // "c-1" is logged already.
            store.CommitAsync(Commit(d, 0, 1, "d-1"), Now),
            store.CommitAsync(Commit(d, 1, 2, "d-2"), Now),  // D's second commit, after its first in the same group.
        };
        gate.SetResult();
        await held;

        var written = await pending[0];
        Assert.Equal(1, written.Version);
        var logged = Assert.Single(written.Actions);
        Assert.True(logged.Sequence > 0);
        Assert.Equal(raised.ActionId, logged.ActionId);
        await Assert.ThrowsAsync<InconsistentStateException>(() => pending[1]);
        var duplicate = await Assert.ThrowsAsync<DuplicateEventsException>(() => pending[2]);
        Assert.Equal(["c-1"], duplicate.EventIds);
        Assert.Equal(1, (await pending[3]).Version);
        Assert.Equal(2, (await pending[4]).Version);

        await AssertStored(store, a, version: 1, "a-1", "a-2");
        await AssertStored(store, b, version: 1, "b-1");
        await AssertStored(store, c, version: 1, "c-1");
        await AssertStored(store, d, version: 2, "d-1", "d-2");
    }

    private static async Task AssertStored(CustomerStore store, string customer, long version, params string[] eventIds)
    {
        var loaded = await store.LoadAsync(customer);
        Assert.Equal(version, loaded.Version);
        var log = await store.ReadForwardAsync(customer, 0, long.MaxValue, 100);
        Assert.Equal(eventIds, log.Select(e => e.EventId));
        Assert.Equal(eventIds.Length, loaded.Snapshot!.Position + loaded.After.Count(e => e.Position > loaded.Snapshot.Position));
    }

    /// <summary>A commit of the events <paramref name="ids"/> at positions from <paramref name="first"/>, with its snapshot.</summary>
    private static CustomerCommit Commit(string customer, long expectedVersion, long first, params string[] ids)
    {
        var events = ids.Select((id, i) => new EventLogEntry(first + i, id, Now,
            new LoggedEvent(new ScoringEvent(Now.Ticks, EventKind.Contact, new Signals { Sentiment = 0.2 }), Channel.Phone, "standard",
                new ScoreExplanation(60, 65, -5, 63.75, 70, -0.5, 66.1, 64.85)))).ToArray();
        var state = new CustomerState { Tier = "standard", Score = new ScoreState(66.1, 64.85, Now.Ticks), Position = first + ids.Length - 1 };
        return new CustomerCommit(customer, expectedVersion, state, events, [], WriteSnapshot: true);
    }

    private static RecoveryActionRecord Action(string customer, int number) => new()
    {
        ActionId = $"{customer}#{number}",
        CustomerId = customer,
        Tier = "standard",
        Severity = Severity.High,
        Status = ActionStatus.Open,
        TriggerEventId = "a-2",
        Change = ActionChange.Raised,
        Revision = 1,
        DueBy = Now.AddHours(4),
        RaisedAt = Now,
        UpdatedAt = Now,
    };
}
