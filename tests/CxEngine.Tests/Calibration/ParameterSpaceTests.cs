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
    }
}
