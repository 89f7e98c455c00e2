using CxEngine.Tests.Service;
using Xunit.Abstractions;
using V1 = CxEngine.Contracts.V1;

namespace CxEngine.Tests.Durability;

/// <summary>
/// A 3-silo PostgreSQL cluster loses one silo to SIGKILL under load: the other two keep answering,
/// and customers whose actors lived on the dead silo come back on another with every acknowledged event.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class FailoverTests(ITestOutputHelper output)
{
    private const int Customers = 150;
    private const int EventsPerCustomer = 16;
    private const int KillDuringWave = 6;

    [Fact]
    public async Task ThreeSiloCluster_OneKilledUnderLoad_OthersKeepServing_NoAcknowledgedEventLost()
    {
        var database = await TestPostgres.CreateDatabaseAsync("failover");
        var settings = new Dictionary<string, string>
        {
            ["CxEngine:Storage:Provider"] = "PostgreSql",
            ["CxEngine:Storage:ConnectionString"] = database,
            ["CxEngine:Cluster:ServiceId"] = "failover-test",
            ["CxEngine:Cluster:ClusterId"] = $"failover-{Guid.NewGuid():N}",
        }.Concat(ClusterSettings.FastFailureDetection).ToDictionary();

        await using var a = await SiloProcess.StartAsync("a", settings);
        await using var b = await SiloProcess.StartAsync("b", settings);
        await using var c = await SiloProcess.StartAsync("c", settings);
        // Each reported SERVING only once it was an active member that had reached the silos before it.

        var workload = new Workload(Customers, EventsPerCustomer, seed: 23, prefix: "failover");
        var waves = new Waves(workload);
        V1.Ingest.IngestClient[] all = [a.Ingest, b.Ingest, c.Ingest];
        V1.Ingest.IngestClient[] survivors = [b.Ingest, c.Ingest];

        // Any silo accepts any customer: spread the customers over all three.
        for (var n = 0; n < KillDuringWave; n++)
        {
            await waves.SendUntilAcceptedAsync(all, [.. waves.Wave(n)], TimeSpan.FromSeconds(30));
        }

        Assert.Equal(0, waves.StreamFailures);

        // Kill silo a while a wave is in flight through b and c.
        var inFlight = waves.SendAsync(survivors, waves.Wave(KillDuringWave));
        a.Kill();
        var results = await inFlight;
        var accepted = results.Where(r => r.Status is V1.EventStatus.Applied or V1.EventStatus.Duplicate).Select(r => r.EventId).ToHashSet();
        await waves.SendUntilAcceptedAsync(survivors, [.. waves.Wave(KillDuringWave).Where(e => !accepted.Contains(e.EventId))], TimeSpan.FromSeconds(90));

        for (var n = KillDuringWave + 1; n < EventsPerCustomer; n++)
        {
            await waves.SendUntilAcceptedAsync(survivors, [.. waves.Wave(n)], TimeSpan.FromSeconds(90));
        }

        output.WriteLine($"{waves.Unavailable} answers were UNAVAILABLE (and retried) while the cluster noticed the death");

        // The survivors' streams never broke; retryable answers are allowed while the cluster notices the death.
        Assert.Equal(0, waves.StreamFailures);
        await workload.VerifyAllAppliedOnceInOrderAsync(b.Scores);
        await workload.VerifyAllAppliedOnceInOrderAsync(c.Scores);
        await workload.VerifyActionsRaisedOnceAsync(c.Recovery);
    }
}
