using CxEngine.Scoring;
using CxEngine.Tests.Scoring;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using V1 = CxEngine.Contracts.V1;

namespace CxEngine.Tests.Service;

[Collection(EngineCollection.Name)]
public sealed class IngestServiceTests(EngineFixture fixture)
{
    private EngineHost Engine => fixture.Host;

    [Fact]
    public async Task RecordEvent_ScoresExactlyAsTheModel()
    {
        var customer = Ids.Customer();
        var result = await Engine.Ingest.RecordEventAsync(Wire.Event(customer, 65, "premium"));

        Assert.Equal(V1.EventStatus.Applied, result.Status);
        Assert.Equal(customer, result.CustomerId);
        Assert.Equal(62.625, result.Score.Score, 12);
        Assert.Equal(65, result.Score.Baseline);
        Assert.True(result.Score.BelowBaseline);
        Assert.Equal(1, result.Score.EventsApplied);
        Assert.Equal(65, result.Change.Experience, 12);
        Assert.Equal(80, result.Change.ExpectationBefore);
        Assert.Equal(-15, result.Change.Disconfirmation, 12);
        Assert.Equal(-12.375, result.Change.Delta, 12);
        Assert.Equal(V1.ActionStatus.Open, result.Action.Status);
        Assert.Equal(result.Action.ActionId, result.Score.OpenAction.ActionId);

        // The result's action and the score's open action are the one the log holds, with its sequence.
        Assert.True(result.Action.Sequence > 0, $"the raised action came back with sequence {result.Action.Sequence}");
        Assert.Equal(result.Action, result.Score.OpenAction);
        Assert.Equal(result.Action, (await Engine.Scores.GetScoreAsync(new V1.GetScoreRequest { CustomerId = customer })).OpenAction);
    }

    [Fact]
    public async Task RetriedEventId_IsDuplicate_AndChangesNothing()
    {
        var customer = Ids.Customer();
        var evt = Wire.Event(customer, 30, "standard");
        var first = await Engine.Ingest.RecordEventAsync(evt);
        var retry = await Engine.Ingest.RecordEventAsync(evt);
        var score = await Engine.Scores.GetScoreAsync(new V1.GetScoreRequest { CustomerId = customer });

        Assert.Equal(V1.EventStatus.Applied, first.Status);
        Assert.Equal(V1.EventStatus.Duplicate, retry.Status);
        Assert.Null(retry.Change);
        Assert.Equal(first.Score.Score, retry.Score.Score);
        Assert.Equal(1, score.EventsApplied);
        Assert.Equal(first.Score.Score, score.Score);
    }

    [Fact]
    public async Task Premium_SingleBadContact_RaisesHighAction_BasicDoesNot()
    {
        var premium = await Engine.Ingest.RecordEventAsync(Wire.Awful(Ids.Customer(), "premium"));
        var basic = await Engine.Ingest.RecordEventAsync(Wire.Awful(Ids.Customer(), "basic"));

        Assert.Equal(V1.Severity.High, premium.Action.Severity);
        Assert.True(premium.Action.RequiresApproval);
        Assert.NotEmpty(premium.Action.Steps);
        Assert.Single(premium.Action.Reasons);
        Assert.True(premium.Action.DueBy.ToDateTime() > premium.Action.RaisedAt.ToDateTime());
        Assert.Null(basic.Action);
        Assert.False(basic.Score.BelowBaseline);
    }

    public static TheoryData<string, Action<V1.InteractionEvent>> BadEvents => new()
    {
        { "event_id", e => e.EventId = "" },
        { "event_id", e => e.EventId = new string('x', 129) },
        { "customer_id", e => e.CustomerId = "  " },
        { "customer_id", e => e.CustomerId = "bad\u0001id" },
        { "occurred_at", e => e.OccurredAt = null },
        { "occurred_at", e => e.OccurredAt = Timestamp.FromDateTime(new DateTime(1970, 1, 2, 0, 0, 0, DateTimeKind.Utc)) },
        { "occurred_at", e => e.OccurredAt = Timestamp.FromDateTime(DateTime.UtcNow.AddDays(30)) },
        { "kind", e => e.Kind = V1.EventKind.Unspecified },
        { "kind", e => e.Kind = (V1.EventKind)42 },
        { "channel", e => e.Channel = (V1.Channel)42 },
        { "tier", e => e.Tier = "gold" },
        { "signals", e => e.Signals = null },
        { "signals", e => e.Signals = new V1.Signals { Transfers = 2 } },
        { "signals.csat", e => e.Signals.Csat = 6 },
        { "signals.effort", e => e.Signals.Effort = 0 },
        { "signals.transfers", e => { e.Signals.Resolved = true; e.Signals.Transfers = -1; } },
        { "signals.wait_seconds", e => e.Signals.WaitSeconds = double.PositiveInfinity },
        { "signals.wait_seconds", e => e.Signals.WaitSeconds = -3 },
        { "signals.sentiment", e => e.Signals.Sentiment = double.NaN },
        { "signals.sentiment", e => e.Signals.Sentiment = 1.5 },
        { "signals.conduct_issues", e => e.Signals.ConductIssues.Add((V1.ConductIssue)99) },
        { "signals.promise.promised_at", e => e.Signals.Promise = new V1.Promise() },
    };

    [Theory]
    [MemberData(nameof(BadEvents))]
    public async Task BadEvent_IsInvalidArgument_NamingTheField_AndChangesNothing(string field, Action<V1.InteractionEvent> spoil)
    {
        var customer = Ids.Customer();
        var good = await Engine.Ingest.RecordEventAsync(Wire.Event(customer, 80, "standard"));
        var bad = Wire.Event(customer, 10);
        spoil(bad);

        var error = await Assert.ThrowsAsync<RpcException>(() => Engine.Ingest.RecordEventAsync(bad).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal(field, Wire.Violation(error).Field);
        Assert.StartsWith(field + ":", error.Status.Detail, StringComparison.Ordinal);
        var after = await Engine.Scores.GetScoreAsync(new V1.GetScoreRequest { CustomerId = customer });
        Assert.Equal(good.Score.Score, after.Score);
        Assert.Equal(1, after.EventsApplied);
    }

    [Fact]
    public async Task Stream_2000EventsOver200Customers_WithBadOnesMixedIn_AnswersEachOnce_AppliesTheGoodInOrder()
    {
        const int customers = 200, perCustomer = 10;
        var random = new Random(7);
        string[] tiers = ["basic", "standard", "premium"];
        var ids = Enumerable.Range(0, customers).Select(i => Ids.Customer($"s{i}")).ToArray();
        var tierOf = ids.ToDictionary(id => id, _ => tiers[random.Next(3)]);

        // Per customer, a sequence in time order; interleave customers at random but keep each one's order.
        var queues = ids.ToDictionary(id => id, id => new Queue<V1.InteractionEvent>(Enumerable.Range(0, perCustomer).Select(n =>
            Wire.Event(id, random.Next(0, 101), n == 0 ? tierOf[id] : "", Wire.T0.AddMinutes(n * 30)))));
        var sent = new List<V1.InteractionEvent>();
        var rejectedIds = new Dictionary<string, string>();
        // Every kind of bad event but a missing or oversized event_id: results are matched by event_id.
        var badKinds = BadEvents.Select(row => ((string)row[0], (Action<V1.InteractionEvent>)row[1])).Where(b => b.Item1 != "event_id").ToArray();
        while (queues.Values.Any(q => q.Count > 0))
        {
            var id = ids[random.Next(customers)];
            if (queues[id].Count == 0)
            {
                continue;
            }

            var evt = queues[id].Dequeue();
            if (sent.Count % 13 == 5 && evt.Tier.Length == 0)
            {
                var (field, spoil) = badKinds[rejectedIds.Count % badKinds.Length];
                spoil(evt);
                rejectedIds[evt.EventId] = field;
            }

            sent.Add(evt);
        }

        using var call = Engine.Ingest.StreamEvents();
        var reading = Task.Run(async () =>
        {
            var results = new List<V1.EventResult>();
            await foreach (var result in call.ResponseStream.ReadAllAsync())
            {
                results.Add(result);
            }

            return results;
        });
        foreach (var evt in sent)
        {
            await call.RequestStream.WriteAsync(evt);
        }

        await call.RequestStream.CompleteAsync();
        var results = await reading;

        Assert.Equal(sent.Count, results.Count);
        Assert.Equal(sent.Select(e => e.EventId).Order(), results.Select(r => r.EventId).Order());
        Assert.True(rejectedIds.Count > 100, $"only {rejectedIds.Count} bad events were mixed in");
        foreach (var result in results)
        {
            if (rejectedIds.TryGetValue(result.EventId, out var field))
            {
                Assert.Equal(V1.EventStatus.Rejected, result.Status);
                Assert.StartsWith(field + ":", result.Error, StringComparison.Ordinal);
            }
            else
            {
                Assert.Equal(V1.EventStatus.Applied, result.Status);
            }
        }

        var appliedOrder = results.Where(r => r.Status == V1.EventStatus.Applied).GroupBy(r => r.CustomerId)
            .ToDictionary(g => g.Key, g => g.Select(r => r.EventId).ToArray());
        foreach (var id in ids)
        {
            var good = sent.Where(e => e.CustomerId == id && !rejectedIds.ContainsKey(e.EventId)).ToArray();
            Assert.Equal(good.Select(e => e.EventId), appliedOrder.GetValueOrDefault(id, []));

            var policy = TierPolicy.Defaults.Single(t => t.Name == tierOf[id]);
            var (expected, open, _) = Model.Replay(policy, good.Select(Wire.Scoring));

            var score = await Engine.Scores.GetScoreAsync(new V1.GetScoreRequest { CustomerId = id });
            Assert.Equal(good.Length, score.EventsApplied);
            Assert.Equal(expected.Score, score.Score);
            Assert.Equal(expected.Expectation, score.Expectation);
            Assert.Equal(open != Severity.None, score.OpenAction is not null);
        }
    }

    [Fact]
    public async Task Stream_RetriedEvents_AreDuplicates()
    {
        var customer = Ids.Customer();
        var events = Enumerable.Range(0, 20).Select(i => Wire.Event(customer, 60 + i, at: Wire.T0.AddMinutes(i))).ToArray();

        async Task<List<V1.EventResult>> SendAsync()
        {
            using var call = Engine.Ingest.StreamEvents();
            foreach (var evt in events)
            {
                await call.RequestStream.WriteAsync(evt);
            }

            await call.RequestStream.CompleteAsync();
            var results = new List<V1.EventResult>();
            await foreach (var r in call.ResponseStream.ReadAllAsync())
            {
                results.Add(r);
            }

            return results;
        }

        Assert.All(await SendAsync(), r => Assert.Equal(V1.EventStatus.Applied, r.Status));
        Assert.All(await SendAsync(), r => Assert.Equal(V1.EventStatus.Duplicate, r.Status));
        var score = await Engine.Scores.GetScoreAsync(new V1.GetScoreRequest { CustomerId = customer });
        Assert.Equal(20, score.EventsApplied);
    }
}
