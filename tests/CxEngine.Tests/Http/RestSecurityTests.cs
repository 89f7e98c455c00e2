using System.Net;
using CxEngine.Silo.Security;
using CxEngine.Tests.Security;
using CxEngine.Tests.Service;
using V1 = CxEngine.Contracts.V1;

namespace CxEngine.Tests.Http;

/// <summary>The REST listener asks for the same credentials and roles as gRPC, and applies the same per-caller limits.</summary>
public sealed class RestSecurityTests
{
    [Fact]
    public async Task Credentials_NoneIs401_TheWrongRoleIs403_KeysAndTokensWork_TheCallerIsRecordedOnActions()
    {
        using var data = new TempDirectory("rest-auth");
        await using var engine = await EngineHost.StartAsync(data.Path, Credentials.HostArgs());
        var customer = Ids.Customer("rest-auth");
        var evt = Wire.Awful(customer, "premium");

        using (var anonymous = Rest.Client(engine))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.PostAsync("/v1/events", Rest.Json(evt))).StatusCode);
            Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/v1/tiers")).StatusCode);
            // Health and the API's description need no credentials.
            Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/healthz")).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/readyz")).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/openapi.json")).StatusCode);
        }

        using (var wrongKey = Rest.Client(engine, apiKey: "not-a-key"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await wrongKey.PostAsync("/v1/events", Rest.Json(evt))).StatusCode);
        }

        using (var reader = Rest.Client(engine, apiKey: Credentials.KeyFor(Roles.Read)))
        {
            Assert.Equal(HttpStatusCode.Forbidden, (await reader.PostAsync("/v1/events", Rest.Json(evt))).StatusCode);
            Assert.Equal(HttpStatusCode.Forbidden, (await reader.PutAsync($"/v1/customers/{customer}/tier", Rest.Json("{\"tier\": \"basic\"}"))).StatusCode);
        }

        using var ingest = Rest.Client(engine, apiKey: Credentials.KeyFor(Roles.Ingest));
        var raised = (await Rest.ReadAsync<V1.EventResult>(await ingest.PostAsync("/v1/events", Rest.Json(evt)))).Action;
        Assert.NotNull(raised);

        using var token = Rest.Client(engine, bearer: Credentials.Token(Roles.Read));
        Assert.Equal(customer, (await Rest.ReadAsync<V1.CustomerScore>(await token.GetAsync($"/v1/customers/{customer}/score"))).CustomerId);

        // The key's name is the caller; "by" is the person acting through it.
        using var desk = Rest.Client(engine, apiKey: Credentials.KeyFor(Roles.Recovery));
        var path = $"/v1/actions/{Uri.EscapeDataString(raised.ActionId)}";
        var acknowledged = await Rest.ReadAsync<V1.RecoveryAction>(await desk.PostAsync($"{path}:acknowledge", Rest.Json("{\"by\": \"alice\"}")));
        Assert.Equal(("alice", Roles.Recovery), (acknowledged.AcknowledgedBy, acknowledged.AcknowledgedVia));

        // A token's subject is the caller; without "by" it is also the person.
        using var deskToken = Rest.Client(engine, bearer: Credentials.Token(Roles.Recovery));
        var resolved = await Rest.ReadAsync<V1.RecoveryAction>(await deskToken.PostAsync($"{path}:resolve", Rest.Json("{\"outcome\": \"called back\"}")));
        Assert.Equal(($"svc-{Roles.Recovery}", $"svc-{Roles.Recovery}"), (resolved.ResolvedBy, resolved.ResolvedVia));
    }

    [Fact]
    public async Task CallerOverItsRate_Gets429WithRetryAfter_AndNothingOfTheRefusedBatchIsApplied()
    {
        using var data = new TempDirectory("rest-rate");
        await using var engine = await EngineHost.StartAsync(data.Path, Credentials.HostArgs(
            "--CxEngine:Limits:EventsPerSecondPerCaller=5",
            "--CxEngine:Limits:EventBurstPerCaller=5"));
        using var http = Rest.Client(engine, apiKey: Credentials.KeyFor(Roles.Ingest));
        var customer = Ids.Customer("rest-rate");

        // More than the bucket holds in one batch: refused whole, with the time to wait.
        var tooBig = new V1.RecordEventsRequest { Events = { Enumerable.Range(0, 6).Select(i => Wire.Event(customer, 50, at: Wire.T0.AddSeconds(i))) } };
        var refused = await http.PostAsync("/v1/events:batch", Rest.Json(tooBig));
        Assert.Equal(8, (await Rest.ErrorAsync(refused, HttpStatusCode.TooManyRequests)).Code);
        Assert.True(refused.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1), $"Retry-After: {refused.Headers.RetryAfter}");

        // One at a time, faster than 5/s: the burst goes through, then 429 with Retry-After.
        HttpResponseMessage? limited = null;
        var applied = 0;
        for (var i = 0; i < 50 && limited is null; i++)
        {
            var response = await http.PostAsync("/v1/events", Rest.Json(Wire.Event(customer, 50, at: Wire.T0.AddMinutes(i))));
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                limited = response;
            }
            else
            {
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                applied++;
            }
        }

        Assert.NotNull(limited);
        Assert.NotNull(limited.Headers.RetryAfter?.Delta);
        Assert.Contains("EventsPerSecondPerCaller", (await Rest.ErrorAsync(limited, HttpStatusCode.TooManyRequests)).Message, StringComparison.Ordinal);

        // Only the events answered 200 were applied; none of the refused batch.
        var score = await engine.Scores.GetScoreAsync(new V1.GetScoreRequest { CustomerId = customer }, Credentials.ApiKey(Credentials.KeyFor(Roles.Read)));
        Assert.Equal(applied, score.EventsApplied);
    }
}
