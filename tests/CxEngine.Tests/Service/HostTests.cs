using CxEngine.Scoring;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Reflection.V1Alpha;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using V1 = CxEngine.Contracts.V1;

namespace CxEngine.Tests.Service;

public sealed class HostTests
{
    [Fact]
    public async Task Restart_KeepsEveryScore_AndRecognisesRetries()
    {
        using var data = new TempDirectory("restart");
        var id = Ids.Customer();
        var events = Enumerable.Range(0, 5).Select(i => Wire.Event(id, 20 + (i * 5), i == 0 ? "premium" : "", Wire.T0.AddHours(i))).ToArray();
        V1.CustomerScore before;
        V1.ScoreHistory historyBefore;
        await using (var first = await EngineHost.StartAsync(data.Path))
        {
            foreach (var evt in events)
            {
                await first.Ingest.RecordEventAsync(evt);
            }

            await first.Policies.SetCustomerTierAsync(new V1.SetCustomerTierRequest { CustomerId = id, Tier = "basic" });
            before = await first.Scores.GetScoreAsync(new V1.GetScoreRequest { CustomerId = id });
            historyBefore = await first.Scores.GetHistoryAsync(new V1.GetHistoryRequest { CustomerId = id });
        }

        await using var second = await EngineHost.StartAsync(data.Path);
        var after = await second.Scores.GetScoreAsync(new V1.GetScoreRequest { CustomerId = id });
        var historyAfter = await second.Scores.GetHistoryAsync(new V1.GetHistoryRequest { CustomerId = id });
        var retry = await second.Ingest.RecordEventAsync(events[2]);

        Assert.Equal(before, after);
        Assert.Equal("basic", after.Tier);
        Assert.Equal(historyBefore, historyAfter);
        Assert.Equal(V1.EventStatus.Duplicate, retry.Status);
    }

    [Fact]
    public async Task ThreeThousandEvents_HistoryPagesBackThroughAll_RetriesAreDuplicate_AlsoAfterRestart()
    {
        using var data = new TempDirectory("log");
        var id = Ids.Customer();
        var events = Enumerable.Range(0, 3000).Select(i => Wire.Event(id, 30 + (i % 60), "standard", Wire.T0.AddMinutes(i))).ToArray();
        var first50 = events[..50];
        await using (var first = await EngineHost.StartAsync(data.Path))
        {
            var applied = await Durability.Workload.StreamAsync(first.Ingest, events);
            Assert.All(applied.Results, r => Assert.Equal(V1.EventStatus.Applied, r.Status));

            var retried = await Durability.Workload.StreamAsync(first.Ingest, first50);
            Assert.All(retried.Results, r => Assert.Equal(V1.EventStatus.Duplicate, r.Status));

            // Every retained change, newest first, a page at a time.
            var seen = new List<string>();
            var request = new V1.GetHistoryRequest { CustomerId = id, PageSize = 1000 };
            V1.ScoreHistory page;
            do
            {
                page = await first.Scores.GetHistoryAsync(request);
                seen.AddRange(page.Changes.Select(c => c.EventId));
                request.PageToken = page.NextPageToken;
            }
            while (page.NextPageToken.Length > 0);
            Assert.Equal(events.Reverse().Select(e => e.EventId), seen);
        }

        await using var second = await EngineHost.StartAsync(data.Path);
        var afterRestart = await Durability.Workload.StreamAsync(second.Ingest, first50);
        Assert.All(afterRestart.Results, r => Assert.Equal(V1.EventStatus.Duplicate, r.Status));
        var score = await second.Scores.GetScoreAsync(new V1.GetScoreRequest { CustomerId = id });
        Assert.Equal(3000, score.EventsApplied);

        var foreign = await Assert.ThrowsAsync<RpcException>(() => second.Scores.GetHistoryAsync(new V1.GetHistoryRequest
        {
            CustomerId = Ids.Customer(),
            PageToken = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"{id}\n10")),
        }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, foreign.StatusCode);
    }

    [Fact]
    public async Task Host_ServesHealthAndReflection()
    {
        using var data = new TempDirectory("health");
        await using var engine = await EngineHost.StartAsync(data.Path);

        var health = await new Health.HealthClient(engine.Channel).CheckAsync(new HealthCheckRequest());
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, health.Status);

        using var reflection = new ServerReflection.ServerReflectionClient(engine.Channel).ServerReflectionInfo();
        await reflection.RequestStream.WriteAsync(new ServerReflectionRequest { ListServices = "" });
        await reflection.RequestStream.CompleteAsync();
        Assert.True(await reflection.ResponseStream.MoveNext(CancellationToken.None));
        var services = reflection.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name).ToArray();
        Assert.Contains("cx.v1.Ingest", services);
        Assert.Contains("cx.v1.Scores", services);
        Assert.Contains("cx.v1.Policies", services);
    }

    [Theory]
    [InlineData("--CxEngine:Customers:SnapshotEvery=0", "SnapshotEvery")]
    [InlineData("--CxEngine:Customers:EventRetention=1.00:00:00", "EventRetention")]
    [InlineData("--CxEngine:DefaultTier=gold", "CxEngine:DefaultTier")]
    [InlineData("--CxEngine:Tiers:premium:Baseline=140", "CxEngine:Tiers:premium: baseline")]
    [InlineData("--CxEngine:Ingest:MaxInFlightPerStream=0", "MaxInFlightPerStream")]
    [InlineData("--CxEngine:Cluster:SiloPort=70000", "SiloPort")]
    public async Task BadSetting_StopsTheHostAtStart_NamingIt(string setting, string named)
    {
        using var data = new TempDirectory("badconfig");
        var error = await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await using var app = EngineHost.Build(data.Path, setting);
            await app.StartAsync();
        });

        var messages = error is OptionsValidationException o ? string.Join("; ", o.Failures) : error.Message;
        Assert.Contains(named, messages, StringComparison.Ordinal);
    }

    [Fact]
    public void SiloConfiguration_CarriesTheDefaultsOfScoringMd()
    {
        var configuration = new ConfigurationBuilder().AddJsonFile("silo.appsettings.json").Build();
        var options = configuration.GetSection(EngineOptions.SectionName).Get<EngineOptions>()!;

        Assert.Equal(TierPolicy.Defaults.Count, options.Tiers.Count);
        foreach (var tier in TierPolicy.Defaults)
        {
            Assert.Equal(tier, options.Tiers[tier.Name] with { Name = tier.Name });
        }
    }

    /// <summary>
    /// The shipped file states the per-customer limits the code documents, so what a user runs is what the README
    /// measured: it once kept 512 recent event ids per customer after the default became 64, and a soak's memory grew
    /// with every customer's ring.
    /// </summary>
    [Fact]
    public void SiloConfiguration_CarriesTheDefaultCustomerLimits()
    {
        var configuration = new ConfigurationBuilder().AddJsonFile("silo.appsettings.json").Build();
        var shipped = configuration.GetSection(EngineOptions.SectionName).Get<EngineOptions>()!.Customers;

        Assert.Equal(
            System.Text.Json.JsonSerializer.Serialize(new CustomerLimits()),
            System.Text.Json.JsonSerializer.Serialize(shipped));
    }
}
