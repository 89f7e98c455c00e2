using CxEngine.Recovery;
using CxEngine.Storage;
using CxEngine.Tests.Durability;
using Microsoft.Extensions.Logging.Abstractions;

namespace CxEngine.Tests.Webhooks;

/// <summary>
/// The per-endpoint lease that lets one silo of a cluster deliver to an endpoint at a time, on the real schema
/// of both databases. Times are parameters, so expiry is tested without waiting.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class WebhookLeaseTests
{
    private static readonly DateTime T = new(2026, 3, 1, 9, 0, 0, DateTimeKind.Utc);

    [Theory]
    [InlineData(StorageProvider.Sqlite)]
    [InlineData(StorageProvider.PostgreSql)]
    public async Task OneOwnerAtATime_PositionSurvives_ExpiredOrReleasedLeasesPassOn_AndALoserCannotWrite(StorageProvider provider)
    {
        using var data = new TempDirectory("webhook-lease");
        var options = new StorageOptions
        {
            Provider = provider,
            DataDirectory = data.Path,
            ConnectionString = provider == StorageProvider.PostgreSql ? await TestPostgres.CreateDatabaseAsync("lease") : null,
        };
        await using var db = new CxDatabase(options, NullLoggerFactory.Instance);
        await new SchemaInstaller(options, db.ConnectionString, NullLogger<SchemaInstaller>.Instance).ApplyAsync(CancellationToken.None);
        var positions = new WebhookPositions(db);

        Assert.Equal(0, await positions.TryAcquireAsync("desk", "silo-a", T, T.AddSeconds(30)));
        Assert.Null(await positions.TryAcquireAsync("desk", "silo-b", T.AddSeconds(1), T.AddSeconds(31)));
        Assert.True(await positions.SaveAsync("desk", "silo-a", 42, T.AddSeconds(2), T.AddSeconds(2), T.AddSeconds(32)));
        Assert.True(await positions.FailedAsync("desk", "silo-a", 3, "HTTP 503 Service Unavailable", T.AddSeconds(3), T.AddSeconds(33)));

        // silo-a stops cleanly: silo-b takes over at once, from where silo-a got to.
        Assert.True(await positions.ReleaseAsync("desk", "silo-a"));
        Assert.Equal(42, await positions.TryAcquireAsync("desk", "silo-b", T.AddSeconds(4), T.AddSeconds(34)));
        Assert.False(await positions.SaveAsync("desk", "silo-a", 50, T.AddSeconds(5), T.AddSeconds(5), T.AddSeconds(35)));
        Assert.False(await positions.RenewAsync("desk", "silo-a", T.AddSeconds(5), T.AddSeconds(35)));

        // silo-b dies holding it: nobody else until the lease runs out, then silo-c.
        Assert.True(await positions.SaveAsync("desk", "silo-b", 60, T.AddSeconds(6), T.AddSeconds(6), T.AddSeconds(36)));
        Assert.Null(await positions.TryAcquireAsync("desk", "silo-c", T.AddSeconds(35), T.AddSeconds(65)));
        Assert.Equal(60, await positions.TryAcquireAsync("desk", "silo-c", T.AddSeconds(37), T.AddSeconds(67)));
        Assert.False(await positions.FailedAsync("desk", "silo-b", 1, "late", T.AddSeconds(38), T.AddSeconds(68)));

        var row = Assert.Single(await positions.ReadAllAsync());
        Assert.Equal(("desk", 60L, "silo-c", 0, "HTTP 503 Service Unavailable"), (row.Endpoint, row.Sequence, row.Owner, row.Attempts, row.LastError));
        Assert.Equal(T.AddSeconds(6), row.DeliveredAt);
        Assert.Equal(T.AddSeconds(3), row.LastErrorAt);

        // A second endpoint has its own row and lease.
        Assert.Equal(0, await positions.TryAcquireAsync("crm", "silo-a", T.AddSeconds(40), T.AddSeconds(70)));
    }
}
