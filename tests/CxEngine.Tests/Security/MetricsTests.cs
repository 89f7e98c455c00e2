using System.Text.RegularExpressions;
using CxEngine.Tests.Service;
using Google.Protobuf.WellKnownTypes;
using V1 = CxEngine.Contracts.V1;

namespace CxEngine.Tests.Security;

/// <summary>
/// Meters are process-wide: with other engines running in the same test process a scrape would count
/// their events too, so these tests run on their own.
/// </summary>
[Collection(MetricsCollection.Name)]
public sealed partial class MetricsTests
{
    [Fact]
    public async Task MetricsEndpoint_ShowsTheCountersMovingDuringAStream()
    {
        using var data = new TempDirectory("metrics");
        await using var engine = await EngineHost.StartAsync(data.Path);
        using var http = new HttpClient { BaseAddress = new Uri(engine.OperatorUrl) };

        await engine.Ingest.RecordEventAsync(Wire.Event(Ids.Customer(), 60));
        var before = await ScrapeAsync(http);

        var events = Enumerable.Range(0, 300).Select(i => Wire.Event(Ids.Customer("m"), i % 2 == 0 ? 60 : double.NaN)).ToList();
        var outcome = await Durability.Workload.StreamAsync(engine.Ingest, events);
        Assert.Equal(300, outcome.Results.Count);
        await engine.Ingest.RecordEventAsync(Wire.Awful(Ids.Customer("m"), "premium"));

        // A rejection by the model itself (not the edge's validation): kept before the registered promise was made.
        var promised = Ids.Customer("m");
        var register = Wire.Event(promised, 60, at: Wire.T0);
        register.Signals = new V1.Signals { Promise = new V1.Promise { PromiseId = "p", MadeAt = Timestamp.FromDateTime(Wire.T0), PromisedAt = Timestamp.FromDateTime(Wire.T0.AddDays(1)) } };
        await engine.Ingest.RecordEventAsync(register);
        var early = Wire.Event(promised, 60, at: Wire.T0.AddHours(2));
        early.Signals = new V1.Signals { Promise = new V1.Promise { PromiseId = "p", PromisedAt = Timestamp.FromDateTime(Wire.T0.AddDays(1)), FulfilledAt = Timestamp.FromDateTime(Wire.T0.AddHours(-1)) } };
        var refused = await Assert.ThrowsAsync<Grpc.Core.RpcException>(() => engine.Ingest.RecordEventAsync(early).ResponseAsync);
        Assert.StartsWith("signals.promise.fulfilled_at: must not be before the promise's made_at", refused.Status.Detail, StringComparison.Ordinal);

        var beforeApplied = Counter(before, "cx_events_total", "status=\"applied\"");
        bool Moved(string scrape) =>
            Counter(scrape, "cx_events_total", "status=\"applied\"") >= beforeApplied + 150
            && Counter(scrape, "cx_events_total", "status=\"rejected\"") >= 150
            && scrape.Contains("field=\"signals.sentiment\"", StringComparison.Ordinal)
            && scrape.Contains("field=\"signals.promise.fulfilled_at\"", StringComparison.Ordinal)
            && Regex.IsMatch(scrape, "cx_actions_total\\{[^}]*severity=\"high\"");

        // Metrics are collected on the exporter's schedule: look again until they have moved (or 15 s pass).
        var after = await ScrapeAsync(http);
        for (var i = 0; i < 30 && !Moved(after); i++)
        {
            await Task.Delay(500);
            after = await http.GetStringAsync("/metrics");
        }

        Assert.True(Counter(after, "cx_events_total", "status=\"applied\"") >= beforeApplied + 150, after);
        Assert.True(Counter(after, "cx_events_total", "status=\"rejected\"") >= 150, after);
        Assert.Contains("field=\"signals.sentiment\"", after, StringComparison.Ordinal);
        Assert.Contains("field=\"signals.promise.fulfilled_at\"", after, StringComparison.Ordinal); // typed to the edge, not parsed back
        Assert.Contains("cx_ack_duration", after, StringComparison.Ordinal);
        Assert.Contains("cx_apply_duration", after, StringComparison.Ordinal);
        Assert.Contains("cx_watchers", after, StringComparison.Ordinal);
        Assert.Contains("cx_storage_commits", after, StringComparison.Ordinal);
        Assert.Contains("cx_storage_writes", after, StringComparison.Ordinal);
        Assert.Matches("cx_actions_total\\{[^}]*severity=\"high\"", after);
        Assert.Contains("orleans_", after, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dashboard_IsMountedForTheAdminRole()
    {
        using var data = new TempDirectory("dashboard");
        await using var engine = await EngineHost.StartAsync(data.Path, Credentials.HostArgs("--CxEngine:Operator:Dashboard=true"));
        using var http = new HttpClient { BaseAddress = new Uri(engine.OperatorUrl) };

        var anonymous = await http.GetAsync("/dashboard/");
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, anonymous.StatusCode);

        using var reader = new HttpRequestMessage(HttpMethod.Get, "/dashboard/");
        reader.Headers.Add("x-api-key", Credentials.KeyFor("read"));
        Assert.Equal(System.Net.HttpStatusCode.Forbidden, (await http.SendAsync(reader)).StatusCode);

        using var admin = new HttpRequestMessage(HttpMethod.Get, "/dashboard/");
        admin.Headers.Add("x-api-key", Credentials.KeyFor("admin"));
        var page = await http.SendAsync(admin);
        Assert.True(page.IsSuccessStatusCode, $"admin got {page.StatusCode}");
    }

    private static async Task<string> ScrapeAsync(HttpClient http)
    {
        // The exporter caches a scrape briefly; ask until the numbers are fresh.
        await Task.Delay(1200);
        return await http.GetStringAsync("/metrics");
    }

    private static double Counter(string scrape, string name, string label)
    {
        var total = 0.0;
        foreach (Match m in MetricLine().Matches(scrape))
        {
            if (m.Groups["name"].Value == name && m.Groups["labels"].Value.Contains(label, StringComparison.Ordinal))
            {
                total += double.Parse(m.Groups["value"].Value, System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        return total;
    }

    [GeneratedRegex("^(?<name>[a-z_]+)\\{(?<labels>[^}]*)\\} (?<value>[0-9.eE+-]+)", RegexOptions.Multiline)]
    private static partial Regex MetricLine();
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MetricsCollection
{
    public const string Name = "metrics, alone";
}
