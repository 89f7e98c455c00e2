using CxEngine.Scoring;
using Grpc.Health.V1;
using Grpc.Reflection.V1Alpha;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using V1 = CxEngine.Contracts.V1;

namespace CxEngine.Tests.Service;

public sealed class HostTests
{
    [Fact]
    public async Task Restart_KeepsEveryScore_AndTheIdempotencyWindow()
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
    [InlineData("--CxEngine:Customers:IdempotencyWindow=3", "IdempotencyWindow")]
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
}
