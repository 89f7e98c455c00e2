using System.Net;
using CxEngine.Tests.Service;
using Google.Protobuf.WellKnownTypes;
using V1 = CxEngine.Contracts.V1;

namespace CxEngine.Tests.Http;

/// <summary>
/// Every route of API.md "REST/JSON" over real HTTP/1.1 on the REST listener, answered by the same services as gRPC:
/// what one protocol writes the other reads.
/// </summary>
[Collection(EngineCollection.Name)]
public sealed class RestRouteTests(EngineFixture fixture)
{
    private readonly EngineHost _engine = fixture.Host;

    [Fact]
    public async Task Ingest_OneEventAndABatch_AreAppliedInOrderWithOneResultEach_ABadEventIsRejectedNamingItsField()
    {
        using var http = Rest.Client(_engine);
        var customer = Ids.Customer("rest-ingest");

        var one = await Rest.ReadAsync<V1.EventResult>(await http.PostAsync("/v1/events", Rest.Json(Wire.Event(customer, 80, at: Wire.T0))));
        Assert.Equal((V1.EventStatus.Applied, 1L), (one.Status, one.Score.EventsApplied));

        var bad = Wire.Event(customer, 50, at: Wire.T0.AddMinutes(2));
        bad.OccurredAt = null;
        V1.InteractionEvent[] events =
        [
            Wire.Event(customer, 20, at: Wire.T0.AddMinutes(1)),
            bad,
            Wire.Event(customer, 90, at: Wire.T0.AddMinutes(3)),
            Wire.Event(customer, 80, at: Wire.T0, eventId: one.EventId),
        ];
        var request = new V1.RecordEventsRequest { Events = { events } };
        var batch = await Rest.ReadAsync<V1.RecordEventsResponse>(await http.PostAsync("/v1/events:batch", Rest.Json(request)));

        Assert.Equal(events.Select(e => e.EventId), batch.Results.Select(r => r.EventId));
        Assert.Equal([V1.EventStatus.Applied, V1.EventStatus.Rejected, V1.EventStatus.Applied, V1.EventStatus.Duplicate], batch.Results.Select(r => r.Status));
        Assert.StartsWith("occurred_at: ", batch.Results[1].Error, StringComparison.Ordinal);
        // Applied in request order: the second applied event saw the first.
        Assert.Equal([2L, 3L], [batch.Results[0].Score.EventsApplied, batch.Results[2].Score.EventsApplied]);

        // The same customer through gRPC: three events, the history newest first.
        var history = await _engine.Scores.GetHistoryAsync(new V1.GetHistoryRequest { CustomerId = customer });
        Assert.Equal([events[2].EventId, events[0].EventId, one.EventId], history.Changes.Select(c => c.EventId));
    }

    [Fact]
    public async Task Ingest_BadRequests_AreHttp400WithAStatusBodyNamingTheField()
    {
        using var http = Rest.Client(_engine);
        var noTime = Wire.Event(Ids.Customer("rest-bad"), 50);
        noTime.OccurredAt = null;
        Assert.Equal((3, "occurred_at"), Pick(await Rest.ErrorAsync(await http.PostAsync("/v1/events", Rest.Json(noTime)), HttpStatusCode.BadRequest)));

        var tooMany = new V1.RecordEventsRequest { Events = { Enumerable.Range(0, 1001).Select(_ => Wire.Event(Ids.Customer("many"), 50)) } };
        Assert.Equal((3, "events"), Pick(await Rest.ErrorAsync(await http.PostAsync("/v1/events:batch", Rest.Json(tooMany)), HttpStatusCode.BadRequest)));
        Assert.Equal((3, "events"), Pick(await Rest.ErrorAsync(await http.PostAsync("/v1/events:batch", Rest.Json("{\"events\": []}")), HttpStatusCode.BadRequest)));

        // JSON that is not JSON, and a field of the wrong type: 400 as well, nothing applied.
        var notJson = await Rest.ErrorAsync(await http.PostAsync("/v1/events", Rest.Json("{\"eventId\": ")), HttpStatusCode.BadRequest);
        Assert.Equal(3, notJson.Code);
        var wrongType = await Rest.ErrorAsync(await http.PostAsync("/v1/events", Rest.Json("{\"eventId\": \"x\", \"customerId\": \"c\", \"signals\": {\"csat\": \"five\"}}")), HttpStatusCode.BadRequest);
        Assert.Equal(3, wrongType.Code);

        static (int, string?) Pick((int Code, string Message, string? Field) e) => (e.Code, e.Field);
    }

    [Fact]
    public async Task Scores_ScoreBatchHistoryAtRiskAndExport_ReadWhatWasWritten()
    {
        using var http = Rest.Client(_engine);
        var tier = await NewTierAsync(http, "rest-reads");
        var customers = Enumerable.Range(0, 3).Select(i => Ids.Customer($"rest-read{i}")).ToArray();
        foreach (var customer in customers)
        {
            for (var i = 0; i < 3; i++)
            {
                await _engine.Ingest.RecordEventAsync(Wire.Event(customer, 10, tier, Wire.T0.AddMinutes(i)));
            }
        }

        var score = await Rest.ReadAsync<V1.CustomerScore>(await http.GetAsync($"/v1/customers/{customers[0]}/score"));
        Assert.Equal(await _engine.Scores.GetScoreAsync(new V1.GetScoreRequest { CustomerId = customers[0] }), score);

        var unknown = Ids.Customer("never");
        var batch = await Rest.ReadAsync<V1.BatchGetScoresResponse>(await http.PostAsync("/v1/scores:batchGet",
            Rest.Json(new V1.BatchGetScoresRequest { CustomerIds = { customers[1], unknown } })));
        Assert.Equal(customers[1], Assert.Single(batch.Scores).CustomerId);
        Assert.Equal(unknown, Assert.Single(batch.NotFound));

        // History pages newest to oldest through query parameters.
        var first = await Rest.ReadAsync<V1.ScoreHistory>(await http.GetAsync($"/v1/customers/{customers[0]}/history?pageSize=2"));
        Assert.Equal(2, first.Changes.Count);
        var second = await Rest.ReadAsync<V1.ScoreHistory>(await http.GetAsync(
            $"/v1/customers/{customers[0]}/history?pageSize=2&pageToken={Uri.EscapeDataString(first.NextPageToken)}"));
        Assert.Single(second.Changes);
        Assert.Equal("", second.NextPageToken);

        var atRisk = await Rest.ReadAsync<V1.ListAtRiskResponse>(await http.GetAsync($"/v1/at-risk?tier={tier}&pageSize=10"));
        Assert.Equal(customers.Order(), atRisk.Customers.Select(c => c.CustomerId).Order());

        // The export streams newline-delimited JSON, one score per line, in customer-id order.
        using var export = await http.GetAsync($"/v1/scores:export?tier={tier}", HttpCompletionOption.ResponseHeadersRead);
        var exported = await Rest.ReadLinesAsync<V1.CustomerScore>(export).ToListAsync();
        Assert.Equal(customers.Order(StringComparer.Ordinal), exported.Select(s => s.CustomerId));

        var missing = await Rest.ErrorAsync(await http.GetAsync($"/v1/customers/{unknown}/score"), HttpStatusCode.NotFound);
        Assert.Equal(5, missing.Code);
        var badSize = await Rest.ErrorAsync(await http.GetAsync($"/v1/customers/{customers[0]}/history?pageSize=5000"), HttpStatusCode.BadRequest);
        Assert.Equal("page_size", badSize.Field);
    }

    [Fact]
    public async Task Recovery_WatchListAcknowledgeResolve_TheCallerIsRecorded_UnknownIsNotFound_ABadTransitionIs400()
    {
        using var http = Rest.Client(_engine);
        var customer = Ids.Customer("rest-life");
        var raised = (await _engine.Ingest.RecordEventAsync(Wire.Awful(customer, "premium"))).Action;
        Assert.NotNull(raised);

        // The watch route streams every change from the caller's position as newline-delimited JSON.
        using var watching = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        using var watch = await http.GetAsync($"/v1/actions:watch?afterSequence={raised.Sequence - 1}", HttpCompletionOption.ResponseHeadersRead, watching.Token);
        var seen = new List<V1.RecoveryAction>();
        var reading = Task.Run(async () =>
        {
            await foreach (var entry in Rest.ReadLinesAsync<V1.RecoveryAction>(watch, watching.Token))
            {
                if (entry.CustomerId == customer)
                {
                    seen.Add(entry);
                    if (entry.Change == V1.ActionChange.Resolved)
                    {
                        return;
                    }
                }
            }
        });

        var listed = await Rest.ReadAsync<V1.ListActionsResponse>(await http.GetAsync($"/v1/actions?customerId={customer}&statuses=ACTION_STATUS_OPEN"));
        Assert.Equal(raised.ActionId, Assert.Single(listed.Actions).ActionId);

        var path = Uri.EscapeDataString(raised.ActionId);
        var acknowledged = await Rest.ReadAsync<V1.RecoveryAction>(await http.PostAsync($"/v1/actions/{path}:acknowledge", Rest.Json("{}")));
        Assert.Equal((V1.ActionStatus.Acknowledged, "local-operator", "local-operator"), (acknowledged.Status, acknowledged.AcknowledgedBy, acknowledged.AcknowledgedVia));

        // Retried (the answer was lost): the stored action comes back, nothing new is logged.
        var retried = await Rest.ReadAsync<V1.RecoveryAction>(await http.PostAsync($"/v1/actions/{path}:acknowledge", Rest.Json("{}")));
        Assert.Equal((acknowledged.Revision, acknowledged.Sequence), (retried.Revision, retried.Sequence));

        var someoneElse = await Rest.ErrorAsync(await http.PostAsync($"/v1/actions/{path}:acknowledge", Rest.Json("{\"by\": \"desk-2\"}")), HttpStatusCode.BadRequest);
        Assert.Equal(9, someoneElse.Code);

        var resolved = await Rest.ReadAsync<V1.RecoveryAction>(await http.PostAsync($"/v1/actions/{path}:resolve",
            Rest.Json("{\"by\": \"alice\", \"note\": \"called\", \"outcome\": \"refunded\"}")));
        Assert.Equal((V1.ActionStatus.Resolved, "alice", "local-operator", "refunded"), (resolved.Status, resolved.ResolvedBy, resolved.ResolvedVia, resolved.ResolutionOutcome));

        await reading.WaitAsync(watching.Token);
        Assert.Equal([V1.ActionChange.Raised, V1.ActionChange.Acknowledged, V1.ActionChange.Resolved], seen.Select(a => a.Change));
        Assert.Equal(resolved.Sequence, seen[^1].Sequence);
        await watching.CancelAsync();

        // Unknown is 404 whatever else the body lacks or gets wrong.
        foreach (var unknown in new[] { $"{customer}#7", "nobody#1", "not-an-action" })
        {
            var missing = await Rest.ErrorAsync(await http.PostAsync($"/v1/actions/{Uri.EscapeDataString(unknown)}:resolve",
                Rest.Json($"{{\"note\": \"{new string('n', 3000)}\"}}")), HttpStatusCode.NotFound);
            Assert.Equal(5, missing.Code);
        }

        var badFilter = await Rest.ErrorAsync(await http.GetAsync("/v1/actions?pageSize=-1"), HttpStatusCode.BadRequest);
        Assert.Equal("page_size", badFilter.Field);
    }

    [Fact]
    public async Task Policies_ListUpsertAndSetCustomerTier_UnknownTierNamesTheField()
    {
        using var http = Rest.Client(_engine);
        var tiers = await Rest.ReadAsync<V1.ListTiersResponse>(await http.GetAsync("/v1/tiers"));
        Assert.Contains(tiers.Tiers, t => t.Name == "premium");

        var name = await NewTierAsync(http, "rest-tier");
        Assert.Contains((await _engine.Policies.ListTiersAsync(new V1.ListTiersRequest())).Tiers, t => t.Name == name);

        var customer = Ids.Customer("rest-move");
        var moved = await Rest.ReadAsync<V1.CustomerScore>(await http.PutAsync($"/v1/customers/{customer}/tier", Rest.Json($"{{\"tier\": \"{name}\"}}")));
        Assert.Equal((customer, name), (moved.CustomerId, moved.Tier));

        var unknownTier = await Rest.ErrorAsync(await http.PutAsync($"/v1/customers/{customer}/tier", Rest.Json("{\"tier\": \"no-such-tier\"}")), HttpStatusCode.BadRequest);
        Assert.Equal("tier", unknownTier.Field);

        var bad = tiers.Tiers.Single(t => t.Name == "premium").Clone();
        bad.Baseline = 250;
        var refused = await Rest.ErrorAsync(await http.PutAsync("/v1/tiers/rest-bad", Rest.Json(bad)), HttpStatusCode.BadRequest);
        Assert.Equal("baseline", refused.Field);
    }

    [Fact]
    public async Task Rescore_StreamsProgressAsLines_TheLastCarriesTheReport_AndWebhookDeliveriesAreListed()
    {
        using var http = Rest.Client(_engine);
        var tier = await NewTierAsync(http, "rest-rescore");
        var customers = Enumerable.Range(0, 3).Select(i => Ids.Customer($"rest-rescore{i}")).ToArray();
        foreach (var customer in customers)
        {
            await _engine.Ingest.RecordEventAsync(Wire.Event(customer, 30, tier));
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/rescore") { Content = Rest.Json($"{{\"tiers\": [\"{tier}\"]}}") };
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        var progress = await Rest.ReadLinesAsync<V1.RescoreProgress>(response).ToListAsync();
        Assert.Equal(3, progress[^1].CustomersTotal);
        Assert.Equal(3, progress[^1].Report.Customers);
        Assert.All(progress[..^1], p => Assert.Null(p.Report));

        var deliveries = await Rest.ReadAsync<V1.ListWebhookDeliveriesResponse>(await http.GetAsync("/v1/webhook-deliveries"));
        Assert.Empty(deliveries.Deliveries); // none configured on this engine
    }

    [Fact]
    public async Task EachListener_ServesOnlyItsOwnRoutes()
    {
        using var http = Rest.Client(_engine);

        // A gRPC method path on the REST listener is not found there ...
        using var grpcOnRest = new HttpRequestMessage(HttpMethod.Post, "/cx.v1.Scores/GetScore") { Content = new ByteArrayContent([0, 0, 0, 0, 0]) };
        grpcOnRest.Content.Headers.ContentType = new("application/grpc");
        Assert.Equal(HttpStatusCode.NotFound, (await http.SendAsync(grpcOnRest)).StatusCode);
        using var unknownMethod = new HttpRequestMessage(HttpMethod.Post, "/cx.v1.Scores/NoSuchMethod") { Content = new ByteArrayContent([0, 0, 0, 0, 0]) };
        unknownMethod.Content.Headers.ContentType = new("application/grpc");
        Assert.Equal(HttpStatusCode.NotFound, (await http.SendAsync(unknownMethod)).StatusCode);

        // ... and a REST route on the gRPC port (HTTP/2 only) is not found either.
        using var h2 = new HttpClient { DefaultRequestVersion = HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };
        Assert.Equal(HttpStatusCode.NotFound, (await h2.GetAsync($"{_engine.Url}/v1/tiers")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await h2.GetAsync($"{_engine.Url}/healthz")).StatusCode);
    }

    [Fact]
    public async Task Health_LivenessAndReadiness_AnswerOnTheRestListener()
    {
        using var http = Rest.Client(_engine);
        var live = await http.GetAsync("/healthz");
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        var ready = await http.GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        using var body = System.Text.Json.JsonDocument.Parse(await ready.Content.ReadAsStringAsync());
        Assert.Equal("Healthy", body.RootElement.GetProperty("status").GetString());
        var checks = body.RootElement.GetProperty("checks");
        Assert.Equal(["silo", "storage"], checks.EnumerateObject().Select(c => c.Name).Order());
        Assert.All(checks.EnumerateObject(), c => Assert.Equal("Healthy", c.Value.GetProperty("status").GetString()));
    }

    /// <summary>A copy of premium under a new name, through PUT /v1/tiers/{name}.</summary>
    private async Task<string> NewTierAsync(HttpClient http, string prefix)
    {
        var name = $"{prefix}-{Guid.NewGuid():N}"[..24];
        var premium = (await _engine.Policies.ListTiersAsync(new V1.ListTiersRequest())).Tiers.Single(t => t.Name == "premium").Clone();
        premium.Name = name;
        var stored = await Rest.ReadAsync<V1.TierPolicy>(await http.PutAsync($"/v1/tiers/{name}", Rest.Json(premium)));
        Assert.Equal(premium, stored);
        return name;
    }
}
