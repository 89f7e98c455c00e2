using CxEngine.Scoring;
using static CxEngine.Tests.Scoring.Events;

namespace CxEngine.Tests.Scoring;

public sealed class SignalTests
{
    private static readonly TierPolicy Standard = TierPolicy.Standard;

    [Theory]
    [InlineData(1, 0)]
    [InlineData(2, 25)]
    [InlineData(3, 50)]
    [InlineData(4, 75)]
    [InlineData(5, 100)]
    public void Csat_MapsLinearlyFromOneToFive(int csat, double expected) =>
        Assert.Equal(expected, ScoringStep.Experience(Csat(csat), Standard));

    [Theory]
    [InlineData(1, 0)]
    [InlineData(4, 50)]
    [InlineData(7, 100)]
    public void Effort_SevenIsVeryEasy(int ces, double expected) =>
        Assert.Equal(expected, ScoringStep.Experience(At(T0, new Signals { Effort = ces }), Standard), 12);

    [Theory]
    [InlineData(true, 0, 100)]
    [InlineData(true, 1, 80)]
    [InlineData(true, 2, 60)]
    [InlineData(true, 3, 40)]
    [InlineData(true, 7, 40)]
    [InlineData(false, 0, 10)]
    [InlineData(false, 4, 10)]
    public void Resolution_TransfersCostTwentyEachDownToForty_UnresolvedIsTen(bool resolved, int transfers, double expected) =>
        Assert.Equal(expected, ScoringStep.Experience(At(T0, new Signals { Resolved = resolved, Transfers = transfers }), Standard));

    [Theory]
    [InlineData(1, 75)]
    [InlineData(2, 50)]
    [InlineData(4, 0)]
    [InlineData(6, 0)]
    public void ConductIssues_CostTwentyFiveEach(int count, double expected) =>
        Assert.Equal(expected, ScoringStep.Experience(At(T0, new Signals { ConductIssueCount = count }), Standard));

    [Fact]
    public void Complaint_IsItselfASignalWorthFifteen() =>
        Assert.Equal(15, ScoringStep.Experience(At(T0, new Signals(), EventKind.Complaint), Standard));

    [Theory]
    [InlineData(30, 90, 100)]
    [InlineData(90, 90, 100)]
    [InlineData(180, 90, 50)]
    [InlineData(900, 90, 10)]
    public void Wait_AtOrUnderTargetIsFull_AboveIsTargetOverWait(double wait, double target, double expected) =>
        Assert.Equal(expected, ScoringStep.WaitPerformance(wait, target), 12);

    [Fact]
    public void Wait_UsesTheTiersTarget()
    {
        var evt = At(T0, new Signals { WaitSeconds = 60 });
        Assert.Equal(100, ScoringStep.Experience(evt, TierPolicy.Basic));
        Assert.Equal(100, ScoringStep.Experience(evt, TierPolicy.Standard));
        Assert.Equal(50, ScoringStep.Experience(evt, TierPolicy.Premium), 12);
    }

    [Theory]
    [InlineData(-1, 0)]
    [InlineData(0, 50)]
    [InlineData(1, 100)]
    public void Sentiment_MapsMinusOneToOne(double sentiment, double expected) =>
        Assert.Equal(expected, ScoringStep.Experience(At(T0, new Signals { Sentiment = sentiment }), Standard), 12);

    [Fact]
    public void Promise_OnTimeOrEarly_IsFull()
    {
        Assert.Equal(100, ScoringStep.PromisePerformance(Promise(T0, T0), 30));
        Assert.Equal(100, ScoringStep.PromisePerformance(Promise(T0, T0.AddMinutes(-5)), 30));
    }

    [Theory]
    [InlineData(30, 75)]
    [InlineData(60, 50)]
    [InlineData(120, 0)]
    [InlineData(500, 0)]
    public void Promise_LateByL_LosesLOverFourTolerances(int lateMinutes, double expected) =>
        Assert.Equal(expected, ScoringStep.PromisePerformance(Promise(T0, T0.AddMinutes(lateMinutes)), 30), 12);

    [Fact]
    public void Promise_NeverFulfilled_IsZero() =>
        Assert.Equal(0, ScoringStep.PromisePerformance(Promise(T0, null), 30));

    [Fact]
    public void Promise_CustomerWarnedBeforeThePromisedTime_FeelsHalfTheShortfall()
    {
        Assert.Equal(75, ScoringStep.PromisePerformance(Promise(T0, T0.AddMinutes(60), notified: T0.AddMinutes(-30)), 30), 12);
        Assert.Equal(50, ScoringStep.PromisePerformance(Promise(T0, null, notified: T0.AddHours(-2)), 30), 12);
        // A warning after the promised time is no warning.
        Assert.Equal(50, ScoringStep.PromisePerformance(Promise(T0, T0.AddMinutes(60), notified: T0.AddMinutes(10)), 30), 12);
    }

    [Fact]
    public void Promise_UsesTheTiersTolerance()
    {
        var late = At(T0, new Signals { Promise = Promise(T0, T0.AddMinutes(20)) }, EventKind.Delivery);
        Assert.Equal(100 * (1 - (20.0 / 240)), ScoringStep.Experience(late, TierPolicy.Basic), 12);
        Assert.Equal(50, ScoringStep.Experience(late, TierPolicy.Premium), 12);
    }

    [Fact]
    public void Experience_IsTheWeightedMeanOfThePresentSignals()
    {
        // csat 4 → 75 (w3), promise on time → 100 (w3), effort 7 → 100 (w2), resolved after 1 transfer → 80 (w2),
        // 1 conduct issue → 75 (w2), wait 180 s vs 90 → 50 (w1), sentiment 0 → 50 (w1).
        var evt = At(T0, new Signals
        {
            Csat = 4,
            Promise = Promise(T0, T0),
            Effort = 7,
            Resolved = true,
            Transfers = 1,
            ConductIssueCount = 1,
            WaitSeconds = 180,
            Sentiment = 0,
        });
        var expected = ((75 * 3) + (100 * 3) + (100 * 2) + (80 * 2) + (75 * 2) + (50 * 1) + (50 * 1)) / 14.0;
        Assert.Equal(expected, ScoringStep.Experience(evt, Standard), 12);
    }

    [Fact]
    public void Weights_AreTierSettings_AndAZeroWeightIgnoresTheSignal()
    {
        var evt = At(T0, new Signals { Csat = 4, Sentiment = 0 });
        Assert.Equal(((75 * 3) + (50 * 1)) / 4.0, ScoringStep.Experience(evt, Standard), 12);
        Assert.Equal(((75 * 1) + (50 * 3)) / 4.0, ScoringStep.Experience(evt, Standard with { CsatWeight = 1, SentimentWeight = 3 }), 12);
        Assert.Equal(75, ScoringStep.Experience(evt, Standard with { SentimentWeight = 0 }), 12);

        // An event whose only signal weighs 0 is recorded and scores nothing.
        var onlySentiment = new CxEngine.Customers.CustomerEvent("e1", Channel.Chat, At(T0, new Signals { Sentiment = -1 }));
        var result = CustomerModel.Apply(new CxEngine.Customers.CustomerState(), "c", onlySentiment, Standard with { SentimentWeight = 0 }, T0);
        Assert.True(Assert.Single(result.Steps).Body.Explanation.Unscored);
        Assert.Equal(ScoreState.Initial(Standard), result.State.Score);
    }

    [Fact]
    public void Complaint_WeighsTwoAgainstTheOtherSignals()
    {
        var evt = At(T0, new Signals { Csat = 5 }, EventKind.Complaint);
        Assert.Equal(((100 * 3) + (15 * 2)) / 5.0, ScoringStep.Experience(evt, Standard), 12);
    }

    [Fact]
    public void NoSignal_IsDetected()
    {
        var empty = At(T0, new Signals { Transfers = 2 });
        Assert.False(ScoringStep.HasSignal(empty));
        Assert.True(double.IsNaN(ScoringStep.Experience(empty, Standard)));
        Assert.True(ScoringStep.HasSignal(At(T0, new Signals(), EventKind.Complaint)));
    }

    private static PromiseSignal Promise(DateTime promised, DateTime? fulfilled, DateTime? notified = null) =>
        new(promised.Ticks, fulfilled?.Ticks ?? 0, notified?.Ticks ?? 0);
}
