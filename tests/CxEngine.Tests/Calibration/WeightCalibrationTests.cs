using Xunit.Abstractions;
using CxEngine.Calibration;
using CxEngine.Customers;
using CxEngine.Scoring;
using V1 = CxEngine.Contracts.V1;

namespace CxEngine.Tests.Calibration;

/// <summary>Which signal weights the data can tell apart, and a fit that finds a weight ratio it was generated with.</summary>
public sealed class WeightPlanTests
{
    private static readonly DateTime T0 = new(2025, 3, 1, 0, 0, 0, DateTimeKind.Utc);

    private static (string, CustomerEvent) Event(string customer, int i, Signals signals, EventKind kind = EventKind.Contact) =>
        (customer, new CustomerEvent($"{customer}-{i}", Channel.Unspecified, new ScoringEvent(T0.AddHours(i).Ticks, kind, signals)));

    private static CalibrationInput Input(params (string, CustomerEvent)[] events) => CalibrationInput.FromEvents(events, []);

    [Fact]
    public void Auto_OnOlistLikeData_PromiseOnlyDeliveriesAndCsatOnlySurveys_SearchesNoWeight_AndSaysWhy()
    {
        var input = Input(
            Event("a", 0, new Signals { Promise = new PromiseSignal(T0.Ticks, T0.AddDays(1).Ticks, 0) }, EventKind.Delivery),
            Event("a", 1, new Signals { Csat = 2 }, EventKind.Survey),
            // A registration scores nothing, so it shares nothing with the CSAT beside it.
            Event("b", 2, new Signals { Csat = 4, Promise = new PromiseSignal(T0.AddDays(9).Ticks, 0, 0) { PromiseId = "p", MadeAtTicks = T0.Ticks } }, EventKind.Survey));

        var plan = WeightPlan.For(input, TierPolicy.Standard, WeightSearch.Auto);

        Assert.Empty(plan.Searched);
        Assert.Equal(8, plan.Kept.Count);
        Assert.Contains("never in an event with another weighted signal", plan.Kept.Single(k => k.Weight.Field == "csat_weight").Reason);
        Assert.Contains("never in an event with another weighted signal", plan.Kept.Single(k => k.Weight.Field == "promise_weight").Reason);
        Assert.Equal(ParameterSpace.Dimension, ParameterSpace.DimensionWith(plan));
    }

    [Fact]
    public void Auto_SearchesEachGroupOfSignalsThatShareEvents_RelativeToItsAnchor_CsatFirst()
    {
        var input = Input(
            Event("a", 0, new Signals { Csat = 2, Effort = 3 }, EventKind.Survey),
            Event("a", 1, new Signals { Effort = 5, Resolved = true }),
            Event("b", 2, new Signals { WaitSeconds = 300, Sentiment = -0.5 }),
            Event("b", 3, new Signals { ConductIssueCount = 1 }),
            Event("b", 4, new Signals { Promise = new PromiseSignal(T0.Ticks, T0.AddDays(1).Ticks, 0) }, EventKind.Delivery));

        var plan = WeightPlan.For(input, TierPolicy.Standard, WeightSearch.Auto);

        // csat + effort + resolution are one group (effort links them), anchored on CSAT; wait + sentiment another.
        Assert.Equal(["effort_weight", "resolution_weight", "sentiment_weight"], plan.Searched.Select(s => s.Weight.Field));
        Assert.Equal(["csat_weight", "csat_weight", "wait_weight"], plan.Searched.Select(s => s.Anchor.Field));
        Assert.Equal([30.0, 30.0, 10.0], plan.Searched.Select(s => s.Max));
        Assert.Contains("anchor of csat + effort + resolution", plan.Kept.Single(k => k.Weight.Field == "csat_weight").Reason);
        Assert.Contains("anchor of wait + sentiment", plan.Kept.Single(k => k.Weight.Field == "wait_weight").Reason);
        Assert.Contains("never in an event", plan.Kept.Single(k => k.Weight.Field == "conduct_weight").Reason);
        Assert.Contains("never in an event", plan.Kept.Single(k => k.Weight.Field == "complaint_weight").Reason);
    }

    [Fact]
    public void AWeightTheBasisSwitchesOff_IsNeverSearched_AndDoesNotPairTheSignalsBesideIt()
    {
        var input = Input(Event("a", 0, new Signals { Csat = 2, Effort = 3 }, EventKind.Survey));
        var basis = TierPolicy.Standard with { EffortWeight = 0 };

        var auto = WeightPlan.For(input, basis, WeightSearch.Auto);
        var all = WeightPlan.For(input, basis, WeightSearch.All);

        Assert.Empty(auto.Searched);
        Assert.Contains("switched off", auto.Kept.Single(k => k.Weight.Field == "effort_weight").Reason);
        Assert.DoesNotContain(all.Searched, s => s.Weight.Field == "effort_weight");
        Assert.Equal(6, all.Searched.Count);
    }

    [Fact]
    public void All_SearchesEveryWeightButCsat_None_SearchesNone()
    {
        var input = Input(Event("a", 0, new Signals { Csat = 2 }, EventKind.Survey));

        var all = WeightPlan.For(input, TierPolicy.Premium, WeightSearch.All);
        var none = WeightPlan.For(input, TierPolicy.Premium, WeightSearch.None);

        Assert.Equal(SignalWeight.All.Skip(1), all.Searched.Select(s => s.Weight));
        Assert.All(all.Searched, s => Assert.Equal("csat_weight", s.Anchor.Field));
        Assert.Equal("csat_weight", Assert.Single(all.Kept).Weight.Field);
        Assert.Empty(none.Searched);
        Assert.Equal(8, none.Kept.Count);
    }

    [Fact]
    public void EveryPointOfTheLargerSearch_IsAValidPolicy_WeightsAboveZeroAndInRange_TheRestAsTheBasis()
    {
        var basis = TierPolicy.Premium with { CsatWeight = 12 };
        var plan = WeightPlan.For(Input(), basis, WeightSearch.All);
        Assert.All(plan.Searched, s => Assert.Equal(WeightPlan.MaxWeight, s.Max));
        var random = new Random(2);
        for (var i = 0; i < 5000; i++)
        {
            var z = Enumerable.Range(0, ParameterSpace.DimensionWith(plan)).Select(_ => (random.NextDouble() - 0.5) * 2000).ToArray();

            var policy = ParameterSpace.Decode(z, basis, plan);

            Assert.Null(policy.Validate());
            Assert.True(ParameterSpace.IsInside(policy, basis, plan), $"{policy}");
            Assert.All(plan.Searched, s => Assert.InRange(s.Weight.Get(policy), double.Epsilon, 100));
            Assert.Equal(basis.CsatWeight, policy.CsatWeight);
            Assert.Equal(basis with
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
                PromiseWeight = policy.PromiseWeight,
                EffortWeight = policy.EffortWeight,
                ResolutionWeight = policy.ResolutionWeight,
                ConductWeight = policy.ConductWeight,
                ComplaintWeight = policy.ComplaintWeight,
                WaitWeight = policy.WaitWeight,
                SentimentWeight = policy.SentimentWeight,
            }, policy);
        }
    }

    [Theory]
    [InlineData("basic")]
    [InlineData("standard")]
    [InlineData("premium")]
    public void TheDefaultPolicy_IsAPointOfTheLargerSearch(string tier)
    {
        var defaults = TierPolicy.Defaults.Single(t => t.Name == tier);
        var plan = WeightPlan.For(Input(), defaults, WeightSearch.All);

        var decoded = ParameterSpace.Decode(ParameterSpace.Encode(defaults, plan), defaults, plan);

        Assert.All(SignalWeight.All, w => Assert.Equal(w.Get(defaults), w.Get(decoded), 9));
        Assert.Equal(defaults.LossAversion, decoded.LossAversion, 9);
    }
}

[Collection(CalibrationFits.Name)]
public sealed class WeightCalibrationTests(ITestOutputHelper output)
{
    /// <summary>Contacts with a wait and a sentiment, both spread over their whole range, so their weights matter.</summary>
    private static V1.Signals WaitAndSentiment(Random random) =>
        new() { WaitSeconds = random.Next(0, 600), Sentiment = Math.Round((random.NextDouble() * 2) - 1, 2) };

    [Fact]
    public void Fit_OnContactsCarryingWaitAndSentiment_MovesTheSentimentToWaitRatioTowardsTheTruth_AndBeatsTheDefault()
    {
        // The truth weighs sentiment four times the wait (the default weighs them alike); everything else is the default.
        var truth = TierPolicy.Standard with { SentimentWeight = 4 };
        var (events, _) = SyntheticHistory.Generate(customers: 900, seed: 34, truth, noise: 0.3, contact: WaitAndSentiment);
        var input = SyntheticHistory.Input(events, []);

        var result = Calibrator.Run(input, TierPolicy.Standard, new CalibrationOptions { Budget = 300, Seed = 8 });

        output.WriteLine(CalibrationReport.Format(result));
        Assert.Equal(["sentiment_weight"], result.Weights.Searched.Select(s => s.Weight.Field));
        Assert.Equal(TierPolicy.Standard.WaitWeight, result.Fitted.WaitWeight);
        static double Ratio(TierPolicy p) => p.SentimentWeight / p.WaitWeight;
        Assert.True(Math.Abs(Math.Log(Ratio(result.Fitted) / Ratio(truth))) < Math.Abs(Math.Log(Ratio(TierPolicy.Standard) / Ratio(truth))) / 2,
            $"sentiment/wait {Ratio(result.Fitted)}, truth {Ratio(truth)}");
        Assert.True(result.Judged[1].Judged.Spearman > result.Judged[0].Judged.Spearman, $"fitted ρ {result.Judged[1].Judged.Spearman} vs default {result.Judged[0].Judged.Spearman}");
        Assert.True(ParameterSpace.IsInside(result.Fitted, TierPolicy.Standard, result.Weights));
        Assert.Null(result.Fitted.Validate());
    }
}
