using V1 = CxEngine.Contracts.V1;

namespace CxEngine.Tests.Service;

/// <summary>
/// ListAtRisk holds customers to today's baseline of their tier: raising a tier's baseline puts its customers
/// under it on the list at once (furthest below first, pageable), lowering it takes them off again.
/// An engine of its own, so the tier changes stay out of the other tests.
/// </summary>
public sealed class AtRiskTests
{
    private const double RaisedBaseline = 72;

    [Fact]
    public async Task RaisingTheStandardBaseline_ListsItsCustomersBelowIt_ByGap_Paged_LoweringItTakesThemOff()
    {
        using var data = new TempDirectory("at-risk");
        await using var engine = await EngineHost.StartAsync(data.Path);

        // Standard customers between 55 (today's baseline) and 70; two of them with the same score.
        var near = new List<(string Id, double Score)>();
        foreach (var x in new[] { 40.0, 45, 45, 50, 55 })
        {
            var result = await engine.Ingest.RecordEventAsync(Wire.Event(Ids.Customer("near"), x, "standard"));
            Assert.Equal(V1.EventStatus.Applied, result.Status);
            Assert.InRange(result.Score.Score, 55.01, 69.99);
            Assert.Null(result.Action);
            near.Add((result.CustomerId, result.Score.Score));
        }

        // One standard customer already below 55, with an open action; one basic customer whose score is under
        // the raised standard baseline but above its own tier's.
        var fallen = await engine.Ingest.RecordEventAsync(Wire.Awful(Ids.Customer("fallen"), "standard"));
        Assert.NotNull(fallen.Action);
        Assert.True(fallen.Score.Score < 55);
        var basic = await engine.Ingest.RecordEventAsync(Wire.Event(Ids.Customer("basic"), 30, "basic"));
        Assert.InRange(basic.Score.Score, 45.01, RaisedBaseline - 0.01);

        // Today: only the fallen customer is below its baseline.
        var before = await ListAllAsync(engine, pageSize: 2);
        var onlyFallen = Assert.Single(before);
        Assert.Equal(fallen.CustomerId, onlyFallen.CustomerId);
        Assert.Equal(55, onlyFallen.Baseline);

        var standard = (await engine.Policies.ListTiersAsync(new V1.ListTiersRequest())).Tiers.Single(t => t.Name == "standard");
        var raised = standard.Clone();
        raised.Baseline = RaisedBaseline;
        await engine.Policies.UpsertTierAsync(raised);

        // Under the raised baseline: every standard customer, furthest below first (equal gaps by id), each once.
        var listed = await ListAllAsync(engine, pageSize: 2);
        var expected = near.Append((Id: fallen.CustomerId, Score: fallen.Score.Score))
            .OrderByDescending(c => RaisedBaseline - c.Score).ThenBy(c => c.Id, StringComparer.Ordinal)
            .Select(c => c.Id);
        Assert.Equal(expected, listed.Select(c => c.CustomerId));
        Assert.All(listed, c =>
        {
            Assert.Equal("standard", c.Tier);
            Assert.Equal(RaisedBaseline, c.Baseline);
            Assert.True(c.BelowBaseline);
            Assert.Equal(1, c.EventsApplied);
        });
        Assert.Equal(near.Select(c => c.Score).Order(), listed.Where(c => c.CustomerId != fallen.CustomerId).Select(c => c.Score).Order());
        Assert.Equal(listed.Select(c => RaisedBaseline - c.Score).OrderDescending(), listed.Select(c => RaisedBaseline - c.Score));
        Assert.DoesNotContain(listed, c => c.CustomerId == basic.CustomerId);

        // The customer with an open action comes with it; the others have none.
        var withAction = listed.Single(c => c.CustomerId == fallen.CustomerId);
        Assert.Equal(fallen.Action, withAction.OpenAction);
        Assert.Equal($"{fallen.CustomerId}#1", withAction.OpenAction.ActionId);
        Assert.Equal(V1.ActionStatus.Open, withAction.OpenAction.Status);
        Assert.All(listed.Where(c => c.CustomerId != fallen.CustomerId), c => Assert.Null(c.OpenAction));

        // The tier filter gives the same list.
        Assert.Equal(listed, await ListAllAsync(engine, pageSize: 2, tier: "standard"));

        // Back to 55: the near customers are off the list again, the fallen one stays.
        await engine.Policies.UpsertTierAsync(standard);
        var after = await ListAllAsync(engine, pageSize: 2);
        var stillFallen = Assert.Single(after);
        Assert.Equal(fallen.CustomerId, stillFallen.CustomerId);
        Assert.Equal(55, stillFallen.Baseline);
        Assert.Equal(fallen.Action, stillFallen.OpenAction);
    }

    /// <summary>Every page of ListAtRisk, asserting that no page is larger than asked and no customer comes twice.</summary>
    private static async Task<List<V1.CustomerScore>> ListAllAsync(EngineHost engine, int pageSize, string tier = "")
    {
        var all = new List<V1.CustomerScore>();
        var token = "";
        for (var pages = 1; ; pages++)
        {
            var page = await engine.Scores.ListAtRiskAsync(new V1.ListAtRiskRequest { PageSize = pageSize, PageToken = token, Tier = tier });
            Assert.True(page.Customers.Count <= pageSize, $"page {pages} holds {page.Customers.Count} customers, asked for {pageSize}");
            all.AddRange(page.Customers);
            token = page.NextPageToken;
            if (token.Length == 0)
            {
                break;
            }

            Assert.True(pages < 100, "ListAtRisk keeps handing out page tokens");
        }

        Assert.True(all.Count == all.Select(c => c.CustomerId).Distinct().Count(),
            $"a customer came twice: {string.Join(", ", all.Select(c => c.CustomerId))}");
        return all;
    }
}
