using System.Net;
using System.Text;
using CxEngine.Tests.Service;
using V1 = CxEngine.Contracts.V1;

namespace CxEngine.Tests.Http;

/// <summary>
/// A REST client's mistakes are answered in its words: the field's path or the byte position, the limit a body is
/// over, and nothing of the request is applied; the events around a bad request are not affected.
/// </summary>
[Collection(EngineCollection.Name)]
public sealed class RestErrorTests(EngineFixture fixture)
{
    private readonly EngineHost _engine = fixture.Host;

    private const string Good = "\"eventId\":\"e1\",\"occurredAt\":\"2026-11-30T08:00:00Z\",\"kind\":\"EVENT_KIND_SURVEY\"";

    public static TheoryData<string, string, string?, string> Mistakes => new()
    {
        { "wrong type", $"{{{Good},\"customerId\":\"c\",\"signals\":{{\"csat\":\"many\"}}}}", "signals.csat", "expected a whole number, got the string \"many\"" },
        { "truncated", "{\"eventId\":\"e1\",\"customerId\":\"c\",\"occ", null, "the request body is not valid JSON at line 1, byte" },
        { "unknown field", $"{{{Good},\"customerId\":\"c\",\"signals\":{{\"csat\":4}},\"csat\":4}}", "csat", "InteractionEvent has no field 'csat'" },
        { "bad time", "{\"eventId\":\"e1\",\"customerId\":\"c\",\"occurredAt\":\"yesterday\",\"signals\":{\"csat\":4}}", "occurred_at", "expected a time in RFC 3339" },
        { "bad enum", $"{{{Good},\"customerId\":\"c\",\"signals\":{{\"conductIssues\":[\"RUDE\"]}}}}", "signals.conduct_issues[0]", "got the string \"RUDE\"" },
        { "nested arrays", new string('[', 10_000) + new string(']', 10_000), null, "maximum configured depth of 64" },
        { "not an object", "[1,2]", "", "expected a JSON object (InteractionEvent), got an array" },
    };

    [Theory]
    [MemberData(nameof(Mistakes))]
    public async Task AMistake_Is400_NamingTheFieldOrThePosition_AndNothingIsApplied(string mistake, string body, string? field, string expected)
    {
        using var http = Rest.Client(_engine);
        var customer = Ids.Customer("rest-mistake");

        var response = await http.PostAsync("/v1/events", Rest.Json(body.Replace("\"c\"", $"\"{customer}\"", StringComparison.Ordinal)));

        var (code, message, named) = await Rest.ErrorAsync(response, HttpStatusCode.BadRequest);
        Assert.Equal(3, code);
        Assert.True(message.Contains(expected, StringComparison.Ordinal), $"{mistake}: {message}");
        Assert.Equal(string.IsNullOrEmpty(field) ? null : field, named);
        var score = await http.GetAsync($"/v1/customers/{customer}/score");
        Assert.Equal(HttpStatusCode.NotFound, score.StatusCode);
    }

    [Fact]
    public async Task InvalidUtf8_Is400_NamingTheByte()
    {
        using var http = Rest.Client(_engine);
        var body = new ByteArrayContent([.. Encoding.UTF8.GetBytes("{\"eventId\":\""), 0xff, 0xfe, .. Encoding.UTF8.GetBytes("\"}")]);
        body.Headers.ContentType = new("application/json");

        var (code, message, _) = await Rest.ErrorAsync(await http.PostAsync("/v1/events", body), HttpStatusCode.BadRequest);

        Assert.Equal((3, "the request body is not valid UTF-8 at byte 13 (JSON is UTF-8 text)"), (code, message));
    }

    [Fact]
    public async Task ABodyOverTheLimit_Is413_NamingTheLimit_AndTheNextRequestIsServed()
    {
        using var http = Rest.Client(_engine);
        var big = "{\"eventId\":\"" + new string('x', 2 * 1024 * 1024) + "\"}";
        // As a client sending a large body should: headers first (Expect: 100-continue), so the engine's 413 arrives
        // before the body is sent. A client that sends it anyway gets the 413 and a closed connection, which some
        // stacks (HttpClient among them) report as a broken pipe while still writing.
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/events") { Content = Rest.Json(big) };
        request.Headers.ExpectContinue = true;

        var (code, message, _) = await Rest.ErrorAsync(await http.SendAsync(request), HttpStatusCode.RequestEntityTooLarge);

        Assert.Equal(8, code);
        Assert.Contains("is larger than the limit of 1048576 bytes (CxEngine:Limits:MaxMessageBytes)", message);
        var customer = Ids.Customer("rest-after-413");
        var applied = await Rest.ReadAsync<V1.EventResult>(await http.PostAsync("/v1/events", Rest.Json(Wire.Event(customer, 70))));
        Assert.Equal(V1.EventStatus.Applied, applied.Status);
    }
}
