using CxEngine.Scoring;
using CxEngine.Silo.Services;
using CxEngine.Tests.Service;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime;
using V1 = CxEngine.Contracts.V1;

namespace CxEngine.Tests.Replay;

/// <summary>
/// A re-score with apply over customers that were not in memory leaves them out of memory afterwards, so re-scoring a
/// million customers does not hold a million activations; customers that are taking events stay.
/// </summary>
public sealed class RescoreMemoryTests
{
    private static async Task<int> CustomerActivationsAsync(EngineHost engine)
    {
        var statistics = await engine.Services.GetRequiredService<IGrainFactory>().GetGrain<IManagementGrain>(0).GetSimpleGrainStatistics();
        return statistics.Where(s => s.GrainType.Contains("CustomerGrain", StringComparison.Ordinal)).Sum(s => s.ActivationCount);
    }

    [Fact]
    public async Task Apply_OverCustomersNotInMemory_LeavesThemOutOfMemory_ButKeepsOnesTakingEvents()
    {
        using var data = new TempDirectory("rescore-memory");
        var tier = TierPolicy.Standard with { Name = "memo", Baseline = 50 };
        var customers = Enumerable.Range(0, 40).Select(i => Ids.Customer($"mem{i}")).ToArray();
        await using (var first = await EngineHost.StartAsync(data.Path))
        {
            await first.Policies.UpsertTierAsync(ContractMapper.ToTier(tier));
            foreach (var customer in customers)
            {
                Assert.Equal(V1.EventStatus.Applied, (await first.Ingest.RecordEventAsync(Wire.Event(customer, 40, tier.Name))).Status);
            }
        }

        await using var engine = await EngineHost.StartAsync(data.Path);
        // One customer takes an event after the restart: it is in memory for its traffic, and stays.
        Assert.Equal(V1.EventStatus.Applied, (await engine.Ingest.RecordEventAsync(Wire.Event(customers[0], 60, tier.Name, Wire.T0.AddHours(1)))).Status);
        Assert.Equal(1, await CustomerActivationsAsync(engine));

        using var call = engine.Policies.Rescore(new V1.RescoreRequest
        {
            Tiers = { tier.Name }, Policies = { ContractMapper.ToTier(tier with { Baseline = 70 }) }, Apply = true,
        });
        V1.RescoreProgress? last = null;
        await foreach (var progress in call.ResponseStream.ReadAllAsync())
        {
            last = progress;
        }

        Assert.Equal(customers.Length, last!.Report.Customers);
        Assert.Equal(customers.Length, last.Report.ActionsRaised);
        var deadline = DateTime.UtcNow.AddSeconds(20);
        int active;
        while ((active = await CustomerActivationsAsync(engine)) > 1 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        Assert.Equal(1, active);
        // Out of memory, not lost: every re-scored customer reads back from its snapshot.
        foreach (var customer in customers)
        {
            var score = await engine.Scores.GetScoreAsync(new V1.GetScoreRequest { CustomerId = customer });
            Assert.NotNull(score.OpenAction);
        }
    }
}
