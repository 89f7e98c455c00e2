using CxEngine.Calibration;
using CxEngine.Customers;
using CxEngine.Scoring;

namespace CxEngine.Tests.Calibration;

public sealed class RankMetricsTests
{
    [Fact]
    public void Spearman_WithoutTies_Is1Minus6SumD2OverNN2Minus1()
    {
        // d = 0, 1, 1, 0: ρ = 1 − 6·2 / (4·15) = 0.8.
        Assert.Equal(0.8, RankMetrics.Spearman([1, 2, 3, 4], [10, 30, 20, 40]), 12);
    }

    [Fact]
    public void Spearman_WithTies_IsPearsonOfAverageRanks()
    {
        // Ranks 1, 2.5, 2.5, 4 against 1, 2, 3, 4: cov 4.5, variances 4.5 and 5 → 4.5 / √22.5.
        Assert.Equal(4.5 / Math.Sqrt(22.5), RankMetrics.Spearman([1, 2, 2, 3], [1, 2, 3, 4]), 12);
    }

    [Fact]
    public void Spearman_OfAConstantPredictor_IsNaN_NotAFakeZero()
    {
        Assert.True(double.IsNaN(RankMetrics.Spearman([1, 1, 1], [1, 2, 3])));
    }

    [Fact]
    public void Auc_IsTheShareOfPositiveNegativePairsRankedRight()
    {
        // Positives 0.35 and 0.8 against negatives 0.1 and 0.4: 0.35 beats 0.1, loses to 0.4; 0.8 beats both → 3/4.
        Assert.Equal(0.75, RankMetrics.Auc([0.1, 0.4, 0.35, 0.8], [false, false, true, true]), 12);
    }

    [Fact]
    public void Auc_CountsATieAsHalf()
    {
        // The positive ties one negative (½) and loses to the other (0) → ¼.
        Assert.Equal(0.25, RankMetrics.Auc([1, 1, 2], [true, false, false]), 12);
    }

    [Fact]
    public void Auc_WithOneClassEmpty_IsNaN()
    {
        Assert.True(double.IsNaN(RankMetrics.Auc([1, 2], [true, true])));
    }

    [Fact]
    public void Judgement_OrientsEveryMetricSoHigherScoresForHappierCustomersScoreAbove05()
    {
        var set = MeasurementSetFor([1, 2, 4, 5], [true, false]);
        // S rises with the answer, and the good outcome has the higher S.
        var judgement = Judgement.Of(set, [10, 20, 40, 50, 70, 30], _ => true);

        Assert.Equal(1, judgement.Spearman, 12);
        Assert.Equal(1, judgement.AucLowCsat, 12);
        Assert.Equal(1, judgement.AucOutcome, 12);
        Assert.Equal(2, judgement.LowSurveys);
        Assert.Equal(1, judgement.GoodOutcomes);
        Assert.Equal(1, judgement.Objective(), 12);
    }

    /// <summary>One customer per survey ("a…"), then one per outcome ("b…"): customers sort by id, so the measurements come in that order.</summary>
    private static MeasurementSet MeasurementSetFor(int[] answers, bool[] outcomes)
    {
        var t0 = new DateTime(2025, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        var events = answers.Select((csat, i) => ($"a{i}", new CustomerEvent($"e{i}", Channel.Unspecified,
            new ScoringEvent(t0.AddHours(i).Ticks, EventKind.Survey, new Signals { Csat = csat }))));
        // An outcome is judged for a customer the events know: each "b" customer has one contact before it.
        var contacts = outcomes.Select((_, i) => ($"b{i}", new CustomerEvent($"c{i}", Channel.Unspecified,
            new ScoringEvent(t0.Ticks, EventKind.Contact, new Signals { Effort = 4 }))));
        var labels = outcomes.Select((label, i) => new Outcome($"b{i}", t0.AddDays(1), label)).ToList();
        var set = MeasurementSet.Build(CalibrationInput.FromEvents(events.Concat(contacts), labels));
        Assert.Equal(answers.Length + outcomes.Length, set.Count);
        return set;
    }
}
