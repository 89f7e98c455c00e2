using CxEngine.Scoring;
using Grpc.Core;
using V1 = CxEngine.Contracts.V1;

namespace CxEngine.Tests.Service;

[Collection(EngineCollection.Name)]
public sealed class PoliciesServiceTests(EngineFixture fixture)
{
    private EngineHost Engine => fixture.Host;

    [Fact]
    public async Task ListTiers_HasTheDefaultsOfScoringMd()
    {
        var response = await Engine.Policies.ListTiersAsync(new V1.ListTiersRequest());

        Assert.Equal("standard", response.DefaultTier);
        foreach (var expected in TierPolicy.Defaults)
        {
            var tier = response.Tiers.Single(t => t.Name == expected.Name);
            Assert.Equal(expected.InitialExpectation, tier.InitialExpectation);
            Assert.Equal(expected.ExpectationFloor, tier.ExpectationFloor);
            Assert.Equal(expected.Baseline, tier.Baseline);
            Assert.Equal(expected.LossAversion, tier.LossAversion);
            Assert.Equal(expected.WaitTargetSeconds, tier.WaitTargetSeconds);
            Assert.Equal(expected.PromiseToleranceMinutes, tier.PromiseToleranceMinutes);
            Assert.Equal(expected.FrontLineCompensationLimit, tier.FrontLineCompensationLimit);
            Assert.Equal(expected.CompensationCap, tier.CompensationCap);
            Assert.Equal(0.3, tier.LearningRate);
        }
    }

    [Fact]
    public async Task UpsertTier_IsUsedFromTheNextEvent_AndListed()
    {
        var name = $"vip-{Guid.NewGuid():N}"[..16];
        var upserted = await Engine.Policies.UpsertTierAsync(new V1.TierPolicy
        {
            Name = name,
            InitialExpectation = 90,
            ExpectationFloor = 80,
            Baseline = 72,
            LossAversion = 3,
            WaitTargetSeconds = 15,
            PromiseToleranceMinutes = 5,
            FrontLineCompensationLimit = 100,
            CompensationCap = 1000,
            SeverityBoost = 1,
        });
        Assert.Equal(0.3, upserted.LearningRate); // model constants left at 0 take the defaults

        var result = await Engine.Ingest.RecordEventAsync(Wire.Event(Ids.Customer(), 80, name));
        Assert.Equal(72, result.Score.Baseline);
        Assert.Equal(90, result.Change.ExpectationBefore);
        Assert.Contains((await Engine.Policies.ListTiersAsync(new V1.ListTiersRequest())).Tiers, t => t.Name == name);

        // Changing the tier again changes the baseline customers are held to from their next event.
        upserted.Baseline = 50;
        await Engine.Policies.UpsertTierAsync(upserted);
        var next = await Engine.Ingest.RecordEventAsync(Wire.Event(result.CustomerId, 80));
        Assert.Equal(50, next.Score.Baseline);
    }

    [Fact]
    public async Task UpsertTier_RoundTripsEverySetting_ZerosIncluded()
    {
        var policy = new TierPolicy
        {
            Name = $"all-{Guid.NewGuid():N}"[..16],
            InitialExpectation = 70, ExpectationFloor = 0, Baseline = 60, LossAversion = 2.5, WaitTargetSeconds = 45,
            PromiseToleranceMinutes = 20, FrontLineCompensationLimit = 0, CompensationCap = 40, SeverityBoost = 0,
            NeutralSatisfaction = 70, GainSensitivity = 0, LearningRate = 0.25, ExpectationRiseRate = 0.2, ExpectationFallRate = 0.05,
            ExpectationCeiling = 90, GoodMemoryHalfLifeDays = 10, BadMemoryHalfLifeDays = 50, RecoveryHysteresis = 0,
            LowSeverityGap = 3, MediumSeverityGap = 12, HighSlaHours = 2, MediumSlaHours = 6, LowSlaHours = 48,
            PromiseToleranceFraction = 0, ReopenWindowDays = 0, MaxOpenPromises = 0,
            CsatWeight = 5, PromiseWeight = 4, EffortWeight = 0, ResolutionWeight = 1.5, ConductWeight = 3, ComplaintWeight = 0.5,
            WaitWeight = 2, SentimentWeight = 0,
        };
        Assert.Null(policy.Validate());

        var upserted = await Engine.Policies.UpsertTierAsync(CxEngine.Silo.Services.ContractMapper.ToTier(policy));
        var listed = (await Engine.Policies.ListTiersAsync(new V1.ListTiersRequest())).Tiers.Single(t => t.Name == policy.Name);

        Assert.Equal(policy, CxEngine.Silo.Services.ContractMapper.FromTier(upserted));
        Assert.Equal(policy, CxEngine.Silo.Services.ContractMapper.FromTier(listed));
        Assert.True(listed.HasRecoveryHysteresis && listed.RecoveryHysteresis == 0);
    }

    [Fact]
    public async Task UpsertTier_UnsetSettings_TakeTheTiersDefaults_ButASentZeroIsJudged()
    {
        var premium = CxEngine.Silo.Services.ContractMapper.ToTier(TierPolicy.Premium);
        premium.Name = $"p-{Guid.NewGuid():N}"[..16];
        premium.ClearPromiseToleranceFraction();
        premium.ClearReopenWindowDays();
        var upserted = await Engine.Policies.UpsertTierAsync(premium);
        Assert.Equal(new TierPolicy().ReopenWindowDays, upserted.ReopenWindowDays);
        Assert.Equal(new TierPolicy().PromiseToleranceFraction, upserted.PromiseToleranceFraction);

        premium.LearningRate = 0; // sent: a learning rate of 0 is wrong, not "the default"
        var error = await Assert.ThrowsAsync<RpcException>(() => Engine.Policies.UpsertTierAsync(premium).ResponseAsync);
        Assert.Equal("learning_rate", Wire.Violation(error).Field);
    }

    [Fact]
    public async Task UpsertTier_Invalid_NamesTheField()
    {
        var error = await Assert.ThrowsAsync<RpcException>(() => Engine.Policies.UpsertTierAsync(new V1.TierPolicy
        {
            Name = "broken",
            InitialExpectation = 60,
            ExpectationFloor = 50,
            Baseline = 55,
            LossAversion = 0.5,
            WaitTargetSeconds = 60,
            PromiseToleranceMinutes = 30,
            FrontLineCompensationLimit = 10,
            CompensationCap = 20,
        }).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal("loss_aversion", Wire.Violation(error).Field);

        var badName = await Assert.ThrowsAsync<RpcException>(() => Engine.Policies.UpsertTierAsync(new V1.TierPolicy { Name = "Not A Name" }).ResponseAsync);
        Assert.Equal("name", Wire.Violation(badName).Field);
    }

    [Fact]
    public async Task SetCustomerTier_MovesTheCustomer_UnknownTierIsInvalid()
    {
        var id = Ids.Customer();
        var created = await Engine.Policies.SetCustomerTierAsync(new V1.SetCustomerTierRequest { CustomerId = id, Tier = "premium" });
        Assert.Equal("premium", created.Tier);
        Assert.Equal(65, created.Baseline);

        var scored = await Engine.Ingest.RecordEventAsync(Wire.Event(id, 65));
        Assert.Equal(62.625, scored.Score.Score, 12); // the premium worked example

        var error = await Assert.ThrowsAsync<RpcException>(() =>
            Engine.Policies.SetCustomerTierAsync(new V1.SetCustomerTierRequest { CustomerId = id, Tier = "gold" }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal("tier", Wire.Violation(error).Field);
    }
}
