using CxEngine.Scoring;
using static CxEngine.Tests.Scoring.Events;

namespace CxEngine.Tests.Scoring;

public sealed class ScoringStepTests
{
    private static ScoreState Fresh(TierPolicy tier) => ScoreState.Initial(tier);

    [Fact]
    public void NewCustomer_StartsNeutralSatisfied_AtTheTiersInitialExpectation()
    {
        Assert.Equal(new ScoreState(75, 80, 0), Fresh(TierPolicy.Premium));
        Assert.Equal(new ScoreState(75, 55, 0), Fresh(TierPolicy.Basic));
    }

    [Fact]
    public void WorkedExample_Premium_OneClearFailureRaisesAnAction()
    {
        var outcome = ScoringStep.Apply(Fresh(TierPolicy.Premium), WithExperience(65), TierPolicy.Premium, Severity.None);

        Assert.Equal(-15, outcome.Explanation.Disconfirmation, 12);
        Assert.Equal(33.75, outcome.Explanation.EventSatisfaction, 12);
        Assert.Equal(62.625, outcome.State.Score, 12);
        Assert.Equal(RecoveryDecisionKind.Raise, outcome.Recovery.Kind);
    }

    [Fact]
    public void WorkedExample_Standard_TheThirdMediocreEventRaisesOne()
    {
        var policy = TierPolicy.Standard;
        var first = ScoringStep.Apply(Fresh(policy), WithExperience(50), policy, Severity.None);
        Assert.Equal(41.25, first.Explanation.EventSatisfaction, 12);
        Assert.Equal(64.875, first.State.Score, 12);
        Assert.Equal(64.55, first.State.Expectation, 12);
        Assert.Equal(RecoveryDecisionKind.None, first.Recovery.Kind);

        var second = ScoringStep.Apply(first.State, WithExperience(50), policy, Severity.None);
        Assert.Equal(58.1, second.State.Score, 1);
        Assert.Equal(RecoveryDecisionKind.None, second.Recovery.Kind);

        var third = ScoringStep.Apply(second.State, WithExperience(50), policy, Severity.None);
        Assert.Equal(53.6, third.State.Score, 1);
        Assert.True(third.State.Score < policy.Baseline);
        Assert.Equal(RecoveryDecisionKind.Raise, third.Recovery.Kind);
    }

    [Fact]
    public void WorkedExample_Basic_ToleratesIt()
    {
        var outcome = ScoringStep.Apply(Fresh(TierPolicy.Basic), WithExperience(50), TierPolicy.Basic, Severity.None);

        Assert.Equal(66, outcome.Explanation.EventSatisfaction, 12);
        Assert.Equal(72.3, outcome.State.Score, 12);
        Assert.Equal(RecoveryDecisionKind.None, outcome.Recovery.Kind);
    }

    [Theory]
    [InlineData("basic", 1.8)]
    [InlineData("standard", 2.25)]
    [InlineData("premium", 2.75)]
    public void Shortfall_WeighsLambdaTimes_ByTier(string tier, double lambda)
    {
        var policy = TierPolicy.Defaults.Single(t => t.Name == tier);
        var state = new ScoreState(75, 60, 0);

        var loss = ScoringStep.Apply(state, WithExperience(50), policy, Severity.None);
        var gain = ScoringStep.Apply(state, WithExperience(70), policy, Severity.None);

        Assert.Equal(75 - (lambda * 10), loss.Explanation.EventSatisfaction, 12);
        Assert.Equal(75 + 10, gain.Explanation.EventSatisfaction, 12);
    }

    [Fact]
    public void PremiumFallsHarder_ThanBasic_ForTheSameShortfall()
    {
        var state = new ScoreState(75, 70, 0);
        var premium = ScoringStep.Apply(state, WithExperience(50), TierPolicy.Premium, Severity.None);
        var basic = ScoringStep.Apply(state, WithExperience(50), TierPolicy.Basic, Severity.None);
        Assert.True(premium.State.Score < basic.State.Score);
    }

    [Fact]
    public void EventSatisfaction_IsClampedToZeroAndHundred()
    {
        var low = ScoringStep.Apply(new ScoreState(75, 90, 0), WithExperience(0), TierPolicy.Premium, Severity.None);
        var high = ScoringStep.Apply(new ScoreState(75, 10, 0), WithExperience(100), TierPolicy.Basic, Severity.None);
        Assert.Equal(0, low.Explanation.EventSatisfaction);
        Assert.Equal(100, high.Explanation.EventSatisfaction);
    }

    [Fact]
    public void Decay_GoodMemoriesHalveInFourteenDays()
    {
        var policy = TierPolicy.Standard;
        Assert.Equal(75 + 10, ScoringStep.Decay(95, T0.Ticks, T0.AddDays(14).Ticks, policy), 12);
        Assert.Equal(75 + 5, ScoringStep.Decay(95, T0.Ticks, T0.AddDays(28).Ticks, policy), 12);
    }

    [Fact]
    public void Decay_BadMemoriesHalveInSixtyDays()
    {
        var policy = TierPolicy.Standard;
        Assert.Equal(75 - 20, ScoringStep.Decay(35, T0.Ticks, T0.AddDays(60).Ticks, policy), 12);
        Assert.Equal(75 - 40 * Math.Pow(2, -14.0 / 60), ScoringStep.Decay(35, T0.Ticks, T0.AddDays(14).Ticks, policy), 12);
    }

    [Fact]
    public void Decay_NeverRunsBackwards_AndNotBeforeTheFirstEvent()
    {
        var policy = TierPolicy.Standard;
        Assert.Equal(35, ScoringStep.Decay(35, T0.Ticks, T0.AddDays(-3).Ticks, policy));
        Assert.Equal(35, ScoringStep.Decay(35, 0, T0.Ticks, policy));

        // An out-of-order event does not move last_event_at back either.
        var state = new ScoreState(60, 65, T0.Ticks);
        var late = ScoringStep.Apply(state, WithExperience(65, T0.AddDays(-2)), policy, Severity.None);
        Assert.Equal(0, late.Explanation.Decay);
        Assert.Equal(T0.Ticks, late.State.LastEventAtTicks);
    }

    [Fact]
    public void Decay_IsPartOfTheExplainedDelta()
    {
        var policy = TierPolicy.Standard;
        var state = new ScoreState(95, 65, T0.Ticks);
        var outcome = ScoringStep.Apply(state, WithExperience(65, T0.AddDays(14)), policy, Severity.None);

        Assert.Equal(-10, outcome.Explanation.Decay, 12);
        Assert.Equal(95, outcome.Explanation.ScoreBefore);
        // S after decay is 85; s_e = 75 (d = 0); S = 85 + 0.3·(75 − 85) = 82.
        Assert.Equal(82, outcome.State.Score, 12);
        Assert.Equal(-13, outcome.Explanation.Delta, 12);
    }

    [Fact]
    public void Expectation_RatchetsUpFast_ComesDownSlowly()
    {
        var policy = TierPolicy.Standard;
        var up = ScoringStep.Apply(new ScoreState(75, 60, 0), WithExperience(100), policy, Severity.None);
        var down = ScoringStep.Apply(new ScoreState(75, 60, 0), WithExperience(20), policy, Severity.None);
        Assert.Equal(60 + (0.15 * 40), up.State.Expectation, 12);
        Assert.Equal(60 - (0.03 * 40), down.State.Expectation, 12);
    }

    [Fact]
    public void Expectation_StaysWithinTheTierFloorAndNinetyFive()
    {
        var premium = TierPolicy.Premium;
        var floored = ScoringStep.Apply(new ScoreState(75, 70.5, 0), WithExperience(0), premium, Severity.None);
        Assert.Equal(70, floored.State.Expectation);

        var ceiled = ScoringStep.Apply(new ScoreState(75, 94.5, 0), WithExperience(100), premium, Severity.None);
        Assert.Equal(95, ceiled.State.Expectation);
    }

    [Theory]
    [InlineData(62, Severity.Low)]
    [InlineData(55.5, Severity.Medium)]
    [InlineData(45, Severity.High)]
    public void Severity_FromTheGapBelowBaseline(double score, Severity expected) =>
        Assert.Equal(expected, ScoringStep.SeverityFor(score, TierPolicy.Standard with { Baseline = 65 }));

    [Theory]
    [InlineData(62, Severity.Medium)]
    [InlineData(55.5, Severity.High)]
    [InlineData(45, Severity.High)]
    public void Severity_PremiumIsRaisedOneLevel(double score, Severity expected) =>
        Assert.Equal(expected, ScoringStep.SeverityFor(score, TierPolicy.Premium));

    [Fact]
    public void Severity_NoneAtOrAboveBaseline() =>
        Assert.Equal(Severity.None, ScoringStep.SeverityFor(65, TierPolicy.Premium));

    [Fact]
    public void Recovery_RaisesOnlyWhenNothingIsOpen()
    {
        var policy = TierPolicy.Standard;
        Assert.Equal(new RecoveryDecision(RecoveryDecisionKind.Raise, Severity.Low), ScoringStep.DecideRecovery(53, policy, Severity.None));
        Assert.Equal(RecoveryDecision.Nothing, ScoringStep.DecideRecovery(53, policy, Severity.Low));
    }

    [Fact]
    public void Recovery_EscalatesTheOpenActionWhenSeverityRises()
    {
        var policy = TierPolicy.Standard;
        Assert.Equal(new RecoveryDecision(RecoveryDecisionKind.Escalate, Severity.High), ScoringStep.DecideRecovery(30, policy, Severity.Low));
        // Severity falling back does not de-escalate.
        Assert.Equal(RecoveryDecision.Nothing, ScoringStep.DecideRecovery(53, policy, Severity.High));
    }

    [Fact]
    public void Recovery_ClosesOnlyAtBaselinePlusHysteresis()
    {
        var policy = TierPolicy.Standard;
        Assert.Equal(RecoveryDecision.Nothing, ScoringStep.DecideRecovery(55, policy, Severity.Low));
        Assert.Equal(RecoveryDecision.Nothing, ScoringStep.DecideRecovery(59.9, policy, Severity.Low));
        Assert.Equal(RecoveryDecisionKind.Recover, ScoringStep.DecideRecovery(60, policy, Severity.Low).Kind);
    }

    [Fact]
    public void Premium_SingleVeryBadContact_IsHigh_WhileBasicTakesItWithoutAction()
    {
        var awful = At(T0, new Signals { Resolved = false, ConductIssueCount = 3, Effort = 1 });
        var premium = ScoringStep.Apply(Fresh(TierPolicy.Premium), awful, TierPolicy.Premium, Severity.None);
        var basic = ScoringStep.Apply(Fresh(TierPolicy.Basic), awful, TierPolicy.Basic, Severity.None);

        Assert.Equal(new RecoveryDecision(RecoveryDecisionKind.Raise, Severity.High), premium.Recovery);
        Assert.Equal(RecoveryDecision.Nothing, basic.Recovery);
    }

    [Fact]
    public void GoodRecoveryContact_LiftsTheScore()
    {
        var policy = TierPolicy.Premium;
        var state = new ScoreState(55, 78, T0.Ticks);
        var recovery = At(T0.AddHours(1), new Signals { Resolved = true, Effort = 7, Csat = 5 }, EventKind.Recovery);
        var outcome = ScoringStep.Apply(state, recovery, policy, Severity.High);
        Assert.True(outcome.State.Score > state.Score);
        Assert.True(outcome.Explanation.Disconfirmation > 0);
    }

    [Fact]
    public void Step_IsDeterministic_SameEventsSameStateBitForBit()
    {
        static ScoreState Run()
        {
            var random = new Random(42);
            var events = Enumerable.Range(0, 10_000).Select(i => At(T0.AddMinutes(i * 37), new Signals
            {
                Csat = random.Next(1, 6),
                WaitSeconds = random.NextDouble() * 300,
                Sentiment = (random.NextDouble() * 2) - 1,
            })).ToArray();
            return Model.Replay(TierPolicy.Premium, events).State;
        }

        var first = Run();
        var second = Run();
        Assert.Equal(BitConverter.DoubleToInt64Bits(first.Score), BitConverter.DoubleToInt64Bits(second.Score));
        Assert.Equal(BitConverter.DoubleToInt64Bits(first.Expectation), BitConverter.DoubleToInt64Bits(second.Expectation));
        Assert.Equal(first.LastEventAtTicks, second.LastEventAtTicks);
    }

    [Fact]
    public void Step_AllocatesNothing()
    {
        var policy = TierPolicy.Premium;
        var state = ScoreState.Initial(policy);
        var evt = At(T0, new Signals
        {
            Csat = 2,
            Promise = new PromiseSignal(T0.Ticks, T0.AddMinutes(25).Ticks, T0.AddMinutes(-5).Ticks),
            Effort = 3,
            Resolved = true,
            Transfers = 2,
            ConductIssueCount = 1,
            WaitSeconds = 45,
            Sentiment = -0.2,
        });
        ScoringStep.Apply(state, evt, policy, Severity.None); // warm up (JIT)

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            state = ScoringStep.Apply(state, evt, policy, Severity.None).State;
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
