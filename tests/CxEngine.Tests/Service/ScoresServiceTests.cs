using Grpc.Core;
using V1 = CxEngine.Contracts.V1;

namespace CxEngine.Tests.Service;

[Collection(EngineCollection.Name)]
public sealed class ScoresServiceTests(EngineFixture fixture)
{
    private EngineHost Engine => fixture.Host;

    [Fact]
    public async Task UnknownCustomer_IsNotFound_OnEveryRead()
    {
        var id = Ids.Customer();
        var score = await Assert.ThrowsAsync<RpcException>(() => Engine.Scores.GetScoreAsync(new V1.GetScoreRequest { CustomerId = id }).ResponseAsync);
        var history = await Assert.ThrowsAsync<RpcException>(() => Engine.Scores.GetHistoryAsync(new V1.GetHistoryRequest { CustomerId = id }).ResponseAsync);

        Assert.Equal(StatusCode.NotFound, score.StatusCode);
        Assert.Contains(id, score.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(StatusCode.NotFound, history.StatusCode);
    }

    [Fact]
    public async Task GetScore_WithoutCustomerId_IsInvalidArgument()
    {
        var error = await Assert.ThrowsAsync<RpcException>(() => Engine.Scores.GetScoreAsync(new V1.GetScoreRequest()).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal("customer_id", Wire.Violation(error).Field);
    }

    [Fact]
    public async Task BatchGetScores_ReturnsTheKnown_AndListsTheUnknown()
    {
        var known = new[] { Ids.Customer(), Ids.Customer() };
        foreach (var id in known)
        {
            await Engine.Ingest.RecordEventAsync(Wire.Event(id, 70));
        }

        var unknown = Ids.Customer();
        var response = await Engine.Scores.BatchGetScoresAsync(new V1.BatchGetScoresRequest { CustomerIds = { known[0], unknown, known[1] } });

        Assert.Equal(known.Order(), response.Scores.Select(s => s.CustomerId).Order());
        Assert.Equal([unknown], response.NotFound);
    }

    [Fact]
    public async Task BatchGetScores_RejectsAnEmptyOrOversizedList()
    {
        var empty = await Assert.ThrowsAsync<RpcException>(() => Engine.Scores.BatchGetScoresAsync(new V1.BatchGetScoresRequest()).ResponseAsync);
        Assert.Equal("customer_ids", Wire.Violation(empty).Field);

        var tooMany = new V1.BatchGetScoresRequest();
        tooMany.CustomerIds.AddRange(Enumerable.Range(0, 1001).Select(i => $"c{i}"));
        var oversized = await Assert.ThrowsAsync<RpcException>(() => Engine.Scores.BatchGetScoresAsync(tooMany).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, oversized.StatusCode);
    }

    [Fact]
    public async Task GetHistory_ExplainsWhyTheScoreMoved_NewestFirst()
    {
        var id = Ids.Customer();
        var events = new[] { 90.0, 40, 20 }.Select((x, i) => Wire.Event(id, x, "standard", Wire.T0.AddDays(i))).ToArray();
        foreach (var evt in events)
        {
            await Engine.Ingest.RecordEventAsync(evt);
        }

        var history = await Engine.Scores.GetHistoryAsync(new V1.GetHistoryRequest { CustomerId = id });

        Assert.Equal(events.Reverse().Select(e => e.EventId), history.Changes.Select(c => c.EventId));
        Assert.Equal(history.Score.Score, history.Changes[0].ScoreAfter);
        Assert.All(history.Changes, c => Assert.Equal(c.ScoreAfter - c.ScoreBefore, c.Delta, 9));
        Assert.True(history.Changes[^1].Decay == 0);
        Assert.True(history.Changes[0].Decay != 0, "a day between events fades the score");
        Assert.Equal(V1.EventKind.Contact, history.Changes[0].Kind);

        var limited = await Engine.Scores.GetHistoryAsync(new V1.GetHistoryRequest { CustomerId = id, Limit = 1 });
        Assert.Single(limited.Changes);
    }

    [Fact]
    public async Task ExportScores_EqualsGetScore_ForEveryCustomer_WithTierFilter()
    {
        // Its own engine, so the export holds exactly the customers this test made.
        using var data = new TempDirectory("export");
        await using var engine = await EngineHost.StartAsync(data.Path);
        var premium = Enumerable.Range(0, 5).Select(_ => Ids.Customer("premium")).ToArray();
        var standard = Enumerable.Range(0, 7).Select(_ => Ids.Customer()).ToArray();
        foreach (var id in premium)
        {
            await engine.Ingest.RecordEventAsync(Wire.Awful(id, "premium"));
        }

        foreach (var (id, i) in standard.Select((id, i) => (id, i)))
        {
            await engine.Ingest.RecordEventAsync(Wire.Event(id, 20 + (i * 10), "standard"));
            await engine.Ingest.RecordEventAsync(Wire.Event(id, 90, at: Wire.T0.AddHours(1)));
        }

        var all = await ExportAsync(engine, "");
        Assert.Equal(premium.Concat(standard).Order(StringComparer.Ordinal), all.Select(s => s.CustomerId));
        foreach (var exported in all)
        {
            Assert.Equal(await engine.Scores.GetScoreAsync(new V1.GetScoreRequest { CustomerId = exported.CustomerId }), exported);
        }

        Assert.All(premium, id => Assert.NotNull(all.Single(s => s.CustomerId == id).OpenAction));
        Assert.Equal(premium.Order(StringComparer.Ordinal), (await ExportAsync(engine, "premium")).Select(s => s.CustomerId));

        var unknown = await Assert.ThrowsAsync<RpcException>(() => ExportAsync(engine, "gold"));
        Assert.Equal(StatusCode.InvalidArgument, unknown.StatusCode);
        Assert.Equal("tier", Wire.Violation(unknown).Field);

        static async Task<List<V1.CustomerScore>> ExportAsync(EngineHost engine, string tier)
        {
            using var call = engine.Scores.ExportScores(new V1.ExportScoresRequest { Tier = tier });
            var scores = new List<V1.CustomerScore>();
            await foreach (var score in call.ResponseStream.ReadAllAsync())
            {
                scores.Add(score);
            }

            return scores;
        }
    }
}
