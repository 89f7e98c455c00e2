using CxEngine.Silo.Security;
using CxEngine.Tests.Security;
using CxEngine.Tests.Service;
using Grpc.Core;
using V1 = CxEngine.Contracts.V1;

namespace CxEngine.Tests.Durability;

/// <summary>Tenant scoping in PostgreSQL's own statements (the key-prefix filters, the erasure), not only SQLite's.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresTenantTests
{
    [Fact]
    public async Task OnPostgres_TwoTenantsListTheirOwn_AndAnErasureRemovesOnlyItsTenantsCustomer()
    {
        var database = await TestPostgres.CreateDatabaseAsync("tenants");
        using var data = new TempDirectory("pg-tenants");
        string[] tenants = ["acme", "globex"];
        var args = new List<string> { "--CxEngine:Storage:Provider=PostgreSql", $"--CxEngine:Storage:ConnectionString={database}" };
        for (var i = 0; i < tenants.Length; i++)
        {
            args.AddRange(Credentials.KeyArgs(i, tenants[i], tenants[i], Roles.All));
        }

        await using var engine = await EngineHost.StartAsync(data.Path, [.. args]);
        var shared = Ids.Customer("shared");
        var acmeOnly = Ids.Customer("acme-only");
        foreach (var (tenant, customer) in new[] { ("acme", shared), ("globex", shared), ("acme", acmeOnly) })
        {
            var raised = await engine.Ingest.RecordEventAsync(Wire.Awful(customer, "premium"), TenantEngineFixture.As(tenant));
            Assert.Equal((V1.ActionChange.Raised, tenant), (raised.Action.Change, raised.Action.Tenant));
        }

        async Task<List<string>> AtRiskAsync(string tenant) =>
            [.. (await engine.Scores.ListAtRiskAsync(new V1.ListAtRiskRequest(), TenantEngineFixture.As(tenant))).Customers.Select(c => c.CustomerId)];
        Task<List<string>> ExportAsync(string tenant) => TenantEngineFixture.ExportedIdsAsync(engine, TenantEngineFixture.As(tenant));

        Assert.Equal([acmeOnly, shared], (await AtRiskAsync("acme")).Order());
        Assert.Equal([shared], await AtRiskAsync("globex"));
        Assert.Equal([acmeOnly, shared], (await ExportAsync("acme")).Order());
        Assert.Equal([shared], await ExportAsync("globex"));
        Assert.Single((await engine.Recovery.ListActionsAsync(new V1.ListActionsRequest(), TenantEngineFixture.As("globex"))).Actions);

        var erased = await engine.Scores.EraseCustomerAsync(new V1.EraseCustomerRequest { CustomerId = shared }, TenantEngineFixture.As("acme"));
        Assert.Equal((1L, 1L), (erased.EventsErased, erased.ActionsErased));
        Assert.Equal([acmeOnly], await ExportAsync("acme"));
        Assert.Equal([shared], await ExportAsync("globex"));
        var gone = await Assert.ThrowsAsync<RpcException>(() =>
            engine.Scores.GetScoreAsync(new V1.GetScoreRequest { CustomerId = shared }, TenantEngineFixture.As("acme")).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, gone.StatusCode);

        // The feed replays over the redacted entry: acme sees its remaining customer's entry only.
        await using var watcher = new Watcher(engine.Recovery, new V1.WatchActionsRequest { AfterSequence = 0 }, TenantEngineFixture.As("acme"));
        var replayed = await watcher.WaitForAsync(r => r.Any(a => a.CustomerId == acmeOnly), "acme's remaining entry");
        Assert.DoesNotContain(replayed, a => a.CustomerId == shared);
    }
}
