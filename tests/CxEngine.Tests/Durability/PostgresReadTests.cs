using CxEngine.Tests.Service;
using Grpc.Core;
using V1 = CxEngine.Contracts.V1;

namespace CxEngine.Tests.Durability;

/// <summary>
/// The event log's statements on PostgreSQL, not only on SQLite: a retry older than memory found by the
/// log's unique key, history paged back through the log, ListAtRisk's one query, and the export.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresReadTests
{
    [Fact]
    public async Task OnPostgres_ForgottenRetriesAreDuplicate_HistoryPages_AtRiskAndExportMatchGetScore()
    {
        var database = await TestPostgres.CreateDatabaseAsync("reads");
        using var data = new TempDirectory("pg-reads");
        await using var engine = await EngineHost.StartAsync(data.Path,
            "--CxEngine:Storage:Provider=PostgreSql", $"--CxEngine:Storage:ConnectionString={database}");

        // 600 events: more than the 512 ids a customer keeps in memory.
        var busy = Ids.Customer();
        var events = Enumerable.Range(0, 600).Select(i => Wire.Event(busy, 40 + (i % 40), "standard", Wire.T0.AddMinutes(i))).ToArray();
        var applied = await Workload.StreamAsync(engine.Ingest, events);
        Assert.All(applied.Results, r => Assert.Equal(V1.EventStatus.Applied, r.Status));
        var resent = await Workload.StreamAsync(engine.Ingest, events[..20].Append(Wire.Event(busy, 50, at: Wire.T0.AddDays(1))));
        Assert.All(resent.Results.Take(20), r => Assert.Equal(V1.EventStatus.Duplicate, r.Status));
        Assert.Equal(V1.EventStatus.Applied, resent.Results[^1].Status);

        var seen = new List<string>();
        var request = new V1.GetHistoryRequest { CustomerId = busy, PageSize = 250 };
        V1.ScoreHistory page;
        do
        {
            page = await engine.Scores.GetHistoryAsync(request);
            seen.AddRange(page.Changes.Select(c => c.EventId));
            request.PageToken = page.NextPageToken;
        }
        while (page.NextPageToken.Length > 0);
        Assert.Equal(601, seen.Count);
        Assert.Equal(events.Reverse().Select(e => e.EventId), seen.Skip(1));

        // Two premium customers fall hard and get actions; a basic one does not.
        var fallen = new[] { Ids.Customer("premium"), Ids.Customer("premium") };
        foreach (var id in fallen)
        {
            await engine.Ingest.RecordEventAsync(Wire.Awful(id, "premium"));
        }

        await engine.Ingest.RecordEventAsync(Wire.Awful(Ids.Customer("basic"), "basic"));

        var atRisk = new List<V1.CustomerScore>();
        var next = new V1.ListAtRiskRequest { PageSize = 1 };
        V1.ListAtRiskResponse riskPage;
        do
        {
            riskPage = await engine.Scores.ListAtRiskAsync(next);
            atRisk.AddRange(riskPage.Customers);
            next.PageToken = riskPage.NextPageToken;
        }
        while (riskPage.NextPageToken.Length > 0);
        Assert.Equal(fallen.Order(StringComparer.Ordinal), atRisk.Select(s => s.CustomerId).Order(StringComparer.Ordinal));
        Assert.All(atRisk, s => Assert.NotNull(s.OpenAction));

        using var export = engine.Scores.ExportScores(new V1.ExportScoresRequest());
        var exported = new List<V1.CustomerScore>();
        await foreach (var score in export.ResponseStream.ReadAllAsync())
        {
            exported.Add(score);
        }

        Assert.Equal(4, exported.Count);
        foreach (var score in exported)
        {
            Assert.Equal(await engine.Scores.GetScoreAsync(new V1.GetScoreRequest { CustomerId = score.CustomerId }), score);
        }
    }
}
