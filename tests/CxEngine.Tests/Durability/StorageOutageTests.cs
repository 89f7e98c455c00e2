using CxEngine.Tests.Service;
using Grpc.Health.V1;
using V1 = CxEngine.Contracts.V1;

namespace CxEngine.Tests.Durability;

/// <summary>
/// PostgreSQL stopped under load: events are answered UNAVAILABLE, never APPLIED; the silo stays up;
/// once the database is back the retried events are applied exactly once, with nothing restarted.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class StorageOutageTests
{
    private const int Customers = 60;
    private const int EventsPerCustomer = 12;

    [Fact]
    public async Task PostgreSqlStopped_EventsAreUnavailableNotApplied_RetriesApplyOnceWhenItIsBack()
    {
        var database = await TestPostgres.CreateDatabaseAsync("outage");
        using var data = new TempDirectory("outage");
        await using var engine = await EngineHost.StartAsync(data.Path,
            "--CxEngine:Storage:Provider=PostgreSql",
            $"--CxEngine:Storage:ConnectionString={database}",
            $"--CxEngine:Cluster:ServiceId=outage-{Guid.NewGuid():N}");
        var workload = new Workload(Customers, EventsPerCustomer, seed: 5, prefix: "outage");
        var waves = new Waves(workload);
        V1.Ingest.IngestClient[] engines = [engine.Ingest];

        // Up: the first waves are applied.
        for (var n = 0; n < 4; n++)
        {
            Assert.All(await waves.SendAsync(engines, waves.Wave(n)), r => Assert.Equal(V1.EventStatus.Applied, r.Status));
        }

        // The database goes down while a wave is on its way.
        var during = waves.SendAsync(engines, waves.Wave(4));
        await TestPostgres.StopAsync();
        var duringResults = await during;
        try
        {
            Assert.All(duringResults, r => Assert.True(r.Status is V1.EventStatus.Applied or V1.EventStatus.Unavailable, $"{r.EventId}: {r.Status} {r.Error}"));

            // Down: nothing is acknowledged, everything is retryable, and the silo keeps answering.
            for (var n = 5; n < 8; n++)
            {
                var results = await waves.SendAsync(engines, waves.Wave(n));
                Assert.Equal(Customers, results.Count);
                Assert.All(results, r =>
                {
                    Assert.Equal(V1.EventStatus.Unavailable, r.Status);
                    Assert.Contains("retry", r.Error, StringComparison.Ordinal);
                });
            }

            // The writer cannot commit, so the host tells load balancers it cannot serve.
            var health = await new Health.HealthClient(engine.Channel).CheckAsync(new HealthCheckRequest());
            Assert.Equal(HealthCheckResponse.Types.ServingStatus.NotServing, health.Status);

            // ... and so do the REST listener's checks: alive, but not ready, naming the storage check.
            using var rest = Http.Rest.Client(engine);
            Assert.Equal(System.Net.HttpStatusCode.OK, (await rest.GetAsync("/healthz")).StatusCode);
            var ready = await rest.GetAsync("/readyz");
            Assert.Equal(System.Net.HttpStatusCode.ServiceUnavailable, ready.StatusCode);
            using var readiness = System.Text.Json.JsonDocument.Parse(await ready.Content.ReadAsStringAsync());
            Assert.Equal("Unhealthy", readiness.RootElement.GetProperty("checks").GetProperty("storage").GetProperty("status").GetString());
        }
        finally
        {
            await TestPostgres.ResumeAsync();
        }

        // Back: every customer's events from the first one not yet acknowledged are resent in order.
        var applied = duringResults.Where(r => r.Status == V1.EventStatus.Applied).Select(r => r.EventId).ToHashSet();
        var retry = Enumerable.Range(4, EventsPerCustomer - 4)
            .SelectMany(n => waves.Wave(n).Where(e => !applied.Contains(e.EventId)).Select(e => (n, e)))
            .ToArray();
        for (var n = 4; n < EventsPerCustomer; n++)
        {
            await waves.SendUntilAcceptedAsync(engines, [.. retry.Where(r => r.n == n).Select(r => r.e)], TimeSpan.FromSeconds(60));
        }

        Assert.Equal(0, waves.StreamFailures);
        await workload.VerifyAllAppliedOnceInOrderAsync(engine.Scores);
        var serving = await new Health.HealthClient(engine.Channel).CheckAsync(new HealthCheckRequest());
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, serving.Status);
    }
}
