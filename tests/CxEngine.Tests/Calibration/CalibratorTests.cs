using Xunit.Abstractions;
using CxEngine.Calibration;
using CxEngine.Customers;
using CxEngine.Scoring;

namespace CxEngine.Tests.Calibration;

[Collection(CalibrationFits.Name)]
public sealed class CalibratorTests(ITestOutputHelper output)
{
    [Fact]
    public void Fit_OnSurveysDrivenByAKnownModel_MovesTowardsItAndBeatsTheDefaultOnTheJudgedPart()
    {
        var (events, _) = SyntheticHistory.Generate(customers: 1500, seed: 5, SyntheticHistory.Truth);
        var input = SyntheticHistory.Input(events, []);

        var result = Calibrator.Run(input, TierPolicy.Standard, new CalibrationOptions { Budget = 600, Seed = 3 });

        output.WriteLine(CalibrationReport.Format(result));
        var defaultRow = result.Judged[0].Judged;
        var fittedRow = result.Judged[1].Judged;
        Assert.True(fittedRow.Spearman > defaultRow.Spearman + 0.01, $"fitted ρ {fittedRow.Spearman} vs default {defaultRow.Spearman}");
        Assert.True(Math.Abs(result.Fitted.LossAversion - SyntheticHistory.Truth.LossAversion) < Math.Abs(TierPolicy.Standard.LossAversion - SyntheticHistory.Truth.LossAversion),
            $"λ {result.Fitted.LossAversion}");
        Assert.True(Math.Abs(result.Fitted.LearningRate - SyntheticHistory.Truth.LearningRate) < Math.Abs(TierPolicy.Standard.LearningRate - SyntheticHistory.Truth.LearningRate),
            $"η {result.Fitted.LearningRate}");
        Assert.True(Math.Abs(result.Fitted.GainSensitivity - SyntheticHistory.Truth.GainSensitivity) < Math.Abs(TierPolicy.Standard.GainSensitivity - SyntheticHistory.Truth.GainSensitivity),
            $"γ {result.Fitted.GainSensitivity}");
        Assert.True(result.FittedOnFit.Objective() >= result.DefaultOnFit.Objective());
        Assert.True(ParameterSpace.IsInside(result.Fitted));
        Assert.Null(result.Fitted.Validate());
    }
}

[Collection(CalibrationFits.Name)]
public sealed class PromiseCalibrationTests(ITestOutputHelper output)
{
    [Fact]
    public void Fit_OnOpenPromisesJudgedWithAShorterTolerance_MovesTheToleranceFractionTowardsIt()
    {
        var truth = SyntheticHistory.Truth with { PromiseToleranceFraction = 0.015 };
        var (events, _) = SyntheticHistory.Generate(customers: 1200, seed: 21, truth, openPromises: true);
        var input = SyntheticHistory.Input(events, []);

        var result = Calibrator.Run(input, TierPolicy.Standard, new CalibrationOptions { Budget = 500, Seed = 4 });

        output.WriteLine(CalibrationReport.Format(result));
        // Judged on a log scale, as it is searched: 0.015 is 4.7 times below the default 0.07.
        Assert.True(Math.Abs(Math.Log(result.Fitted.PromiseToleranceFraction / truth.PromiseToleranceFraction)) < Math.Log(TierPolicy.Standard.PromiseToleranceFraction / truth.PromiseToleranceFraction),
            $"fraction {result.Fitted.PromiseToleranceFraction}");
        Assert.True(result.Judged[1].Judged.Spearman > result.Judged[0].Judged.Spearman, $"fitted ρ {result.Judged[1].Judged.Spearman} vs default {result.Judged[0].Judged.Spearman}");
    }
}

public sealed class MeasurementTests
{
    private static readonly DateTime T0 = new(2025, 3, 1, 0, 0, 0, DateTimeKind.Utc);

    private static CustomerEvent Event(string id, DateTime at, Signals signals, EventKind kind) => new(id, Channel.Unspecified, new ScoringEvent(at.Ticks, kind, signals));

    [Fact]
    public void Survey_IsJudgedOnTheScoreBeforeIt_TheAnswerItselfWithheld_AndCountsForLaterSurveys()
    {
        var policy = TierPolicy.Standard;
        var input = CalibrationInput.FromEvents(
        [
            ("a", Event("s1", T0, new Signals { Csat = 1 }, EventKind.Survey)),
            ("a", Event("s2", T0.AddHours(1), new Signals { Csat = 5 }, EventKind.Survey)),
        ], []);
        var set = MeasurementSet.Build(input);
        var scores = Replayer.Scores(input, set, policy);

        Assert.Equal(2, set.Count);
        // The first survey's own answer (x = 0) is not in the score that judges it: S is still N.
        Assert.Equal(policy.NeutralSatisfaction, scores[0]);
        // The second is judged on S after the first answer, decayed over the hour between them.
        var afterFirst = ScoringStep.Apply(ScoreState.Initial(policy), input.Customers[0].Events[0].Event, policy, Severity.None).State;
        Assert.Equal(ScoringStep.Decay(afterFirst.Score, afterFirst.LastEventAtTicks, T0.AddHours(1).Ticks, policy), scores[1], 12);
        Assert.Equal(1, set.Items[1].Baselines.LastCsat);
        Assert.Null(set.Items[0].Baselines.LastCsat);
    }

    [Fact]
    public void Events_AreReplayedInEventTimeOrder_WhateverTheOrderOfTheFile()
    {
        var late = Event("late", T0.AddDays(2), new Signals { Promise = new PromiseSignal(T0.AddDays(1).Ticks, T0.AddDays(2).Ticks, 0) }, EventKind.Delivery);
        var survey = Event("survey", T0.AddDays(3), new Signals { Csat = 2 }, EventKind.Survey);
        var input = CalibrationInput.FromEvents([("a", survey), ("a", late)], []);

        Assert.Equal(["late", "survey"], input.Customers[0].Events.Select(e => e.EventId));
        var set = MeasurementSet.Build(input);
        Assert.True(Replayer.Scores(input, set, TierPolicy.Standard)[0] < TierPolicy.Standard.NeutralSatisfaction);
        Assert.True(set.Items[0].Baselines.PromiseBroken);
        Assert.Equal(1, set.Items[0].Baselines.DaysLate, 9);
    }

    [Fact]
    public void Survey_AfterAnOpenPromisesDeadline_IsJudgedWithThePromiseAppliedAsMissed_ThoughNoEventReportedIt()
    {
        // Version 2's rules (no overdue step); the overdue step in calibration: OverdueTests.
        var policy = TierPolicy.Standard with { PromiseOverdueStep = false };
        var registered = new PromiseSignal(T0.AddDays(10).Ticks, 0, 0) { PromiseId = "parcel", MadeAtTicks = T0.Ticks };
        var register = Event("register", T0, new Signals { Promise = registered }, EventKind.Delivery);
        // Lead 10 days, tolerance 0.07 · 10 days = 16.8 h, deadline 4 tolerances after the promised time.
        var deadline = T0.AddDays(10).AddHours(4 * 16.8);
        var input = CalibrationInput.FromEvents(
        [
            ("a", register),
            ("a", Event("before", deadline.AddHours(-1), new Signals { Csat = 4 }, EventKind.Survey)),
            ("b", register with { EventId = "register-b" }),
            ("b", Event("after", deadline.AddHours(1), new Signals { Csat = 1 }, EventKind.Survey)),
        ], []);
        var set = MeasurementSet.Build(input);

        var scores = Replayer.Scores(input, set, policy);

        // Before the deadline nothing was scored: S is N. After it, the engine's own missed step (p = 0) is in S.
        Assert.Equal(policy.NeutralSatisfaction, scores[0]);
        var missed = ScoringStep.Apply(ScoreState.Initial(policy) with { LastEventAtTicks = T0.Ticks },
            new ScoringEvent(deadline.Ticks, EventKind.Delivery, new Signals { Promise = registered with { Broken = true } }), policy, Severity.None).State;
        Assert.Equal(ScoringStep.Decay(missed.Score, missed.LastEventAtTicks, deadline.AddHours(1).Ticks, policy), scores[1], 9);
        Assert.True(scores[1] < 60);
        // The naive baseline sees the same promise as late since it was due.
        Assert.True(set.Items[1].Baselines.PromiseBroken);
        Assert.Equal((4 * 16.8 + 1) / 24, set.Items[1].Baselines.DaysLate, 9);
        Assert.False(set.Items[0].Baselines.PromiseBroken && set.Items[0].Baselines.DaysLate == 0);
    }

    [Fact]
    public void AnEventTheModelRefuses_ChangesNothing_AndIsCounted()
    {
        var policy = TierPolicy.Standard with { MaxOpenPromises = 1 };
        PromiseSignal Open(string id) => new(T0.AddDays(30).Ticks, 0, 0) { PromiseId = id, MadeAtTicks = T0.Ticks };
        var input = CalibrationInput.FromEvents(
        [
            ("a", Event("p1", T0, new Signals { Promise = Open("p1") }, EventKind.Delivery)),
            ("a", Event("p2", T0.AddHours(1), new Signals { Promise = Open("p2") }, EventKind.Delivery)),
            // Judged on the state before it: registrations score nothing, the refused one changes nothing either.
            ("a", Event("survey", T0.AddHours(2), new Signals { Csat = 3 }, EventKind.Survey)),
        ], []);
        var set = MeasurementSet.Build(input);
        var scores = new double[set.Count];

        var refused = Replayer.Scores(input, set, policy, scores);

        Assert.Equal(1, refused);
        Assert.Equal(policy.NeutralSatisfaction, scores[0]);
    }

    [Fact]
    public void Outcome_ReadsTheScoreAfterEveryEventAtOrBeforeItsTime_AndNoLaterOne()
    {
        var bad = Event("bad", T0, new Signals { Csat = 1 }, EventKind.Survey);
        var good = Event("good", T0.AddDays(10), new Signals { Csat = 5 }, EventKind.Survey);
        var policy = TierPolicy.Standard;
        var input = CalibrationInput.FromEvents([("a", bad), ("a", good)], [new Outcome("a", T0.AddDays(1), false)]);
        var set = MeasurementSet.Build(input);
        var outcome = Array.FindIndex(set.Items, m => m.Kind == MeasureKind.Outcome);
        var afterBad = ScoringStep.Apply(ScoreState.Initial(policy), bad.Event, policy, Severity.None).State;

        Assert.Equal(1, set.Items[outcome].Position);
        Assert.Equal(ScoringStep.Decay(afterBad.Score, afterBad.LastEventAtTicks, T0.AddDays(1).Ticks, policy), Replayer.Scores(input, set, policy)[outcome], 12);
    }
}
