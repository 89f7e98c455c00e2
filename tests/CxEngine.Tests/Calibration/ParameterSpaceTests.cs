using CxEngine.Calibration;
using CxEngine.Scoring;

namespace CxEngine.Tests.Calibration;

public sealed class ParameterSpaceTests
{
    [Fact]
    public void EveryPointOfTheSearch_IsAValidPolicyInsideTheAnalystsRanges()
    {
        var random = new Random(1);
        for (var i = 0; i < 5000; i++)
        {
            // Far outside the logistic's useful range too: the ends must stay inside.
            var z = Enumerable.Range(0, ParameterSpace.Dimension).Select(_ => (random.NextDouble() - 0.5) * 60).ToArray();

            var policy = ParameterSpace.Decode(z, TierPolicy.Premium);

            Assert.True(ParameterSpace.IsInside(policy), $"{policy}");
            Assert.True(policy.LossAversion >= policy.GainSensitivity);
            Assert.True(policy.LearningRate <= 0.6);
            Assert.True(policy.ExpectationFallRate <= policy.ExpectationRiseRate);
            Assert.Null(policy.Validate());
            Assert.Equal(TierPolicy.Premium with
            {
                GainSensitivity = policy.GainSensitivity,
                LossAversion = policy.LossAversion,
                LearningRate = policy.LearningRate,
                ExpectationRiseRate = policy.ExpectationRiseRate,
                ExpectationFallRate = policy.ExpectationFallRate,
                PromiseToleranceFraction = policy.PromiseToleranceFraction,
                GoodMemoryHalfLifeDays = policy.GoodMemoryHalfLifeDays,
                BadMemoryHalfLifeDays = policy.BadMemoryHalfLifeDays,
                PromiseOverduePerformance = policy.PromiseOverduePerformance,
            }, policy);
        }
    }

    [Theory]
    [InlineData("basic")]
    [InlineData("standard")]
    [InlineData("premium")]
    public void TheDefaultPolicy_IsAPointOfTheSearch(string tier)
    {
        var defaults = TierPolicy.Defaults.Single(t => t.Name == tier);

        var decoded = ParameterSpace.Decode(ParameterSpace.Encode(defaults), defaults);

        Assert.Equal(defaults.GainSensitivity, decoded.GainSensitivity, 9);
        Assert.Equal(defaults.LossAversion, decoded.LossAversion, 9);
        Assert.Equal(defaults.LearningRate, decoded.LearningRate, 9);
        Assert.Equal(defaults.ExpectationRiseRate, decoded.ExpectationRiseRate, 9);
        Assert.Equal(defaults.ExpectationFallRate, decoded.ExpectationFallRate, 9);
        Assert.Equal(defaults.PromiseToleranceFraction, decoded.PromiseToleranceFraction, 9);
        Assert.Equal(defaults.GoodMemoryHalfLifeDays, decoded.GoodMemoryHalfLifeDays, 6);
        Assert.Equal(defaults.BadMemoryHalfLifeDays, decoded.BadMemoryHalfLifeDays, 6);
        Assert.Equal(defaults.PromiseOverduePerformance, decoded.PromiseOverduePerformance, 9);
    }

    [Fact]
    public void NoFading_IsAPointOfTheSearch_OnARegionOfItsOwn()
    {
        var still = TierPolicy.Standard with { GoodMemoryHalfLifeDays = 0, BadMemoryHalfLifeDays = 0 };
        var z = ParameterSpace.Encode(still);

        var decoded = ParameterSpace.Decode(z, TierPolicy.Standard);
        Assert.Equal((0.0, 0.0), (decoded.GoodMemoryHalfLifeDays, decoded.BadMemoryHalfLifeDays));

        // A step of the search near that point stays there: no fading is not a single point the simplex must hit.
        z[6] += 0.3;
        z[7] -= 0.3;
        decoded = ParameterSpace.Decode(z, TierPolicy.Standard);
        Assert.Equal((0.0, 0.0), (decoded.GoodMemoryHalfLifeDays, decoded.BadMemoryHalfLifeDays));
        Assert.True(ParameterSpace.IsInside(decoded));
    }
}
