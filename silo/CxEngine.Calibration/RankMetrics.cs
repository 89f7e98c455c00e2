using MathNet.Numerics.Statistics;

namespace CxEngine.Calibration;

/// <summary>Rank statistics, from Math.NET: Spearman's ρ and the AUC as a Mann-Whitney U on average ranks.</summary>
public static class RankMetrics
{
    /// <summary>Spearman's ρ with average ranks for ties; NaN when fewer than two values or one side is constant.</summary>
    public static double Spearman(IReadOnlyList<double> a, IReadOnlyList<double> b)
    {
        if (a.Count != b.Count)
        {
            throw new ArgumentException($"lengths differ: {a.Count} and {b.Count}", nameof(b));
        }

        return a.Count < 2 ? double.NaN : Correlation.Spearman(a, b);
    }

    /// <summary>
    /// The probability that a random positive scores above a random negative, ties counting one half:
    /// (R₊ − n₊(n₊+1)/2) / (n₊·n₋), R₊ the sum of the positives' average ranks. NaN when a class is empty.
    /// </summary>
    public static double Auc(IReadOnlyList<double> scores, IReadOnlyList<bool> positive)
    {
        if (scores.Count != positive.Count)
        {
            throw new ArgumentException($"lengths differ: {scores.Count} and {positive.Count}", nameof(positive));
        }

        var ranks = scores.Ranks(RankDefinition.Average);
        double rankSum = 0;
        long positives = 0;
        for (var i = 0; i < ranks.Length; i++)
        {
            if (positive[i])
            {
                rankSum += ranks[i];
                positives++;
            }
        }

        long negatives = scores.Count - positives;
        if (positives == 0 || negatives == 0)
        {
            return double.NaN;
        }

        return (rankSum - (positives * (positives + 1) / 2.0)) / (positives * (double)negatives);
    }
}

/// <summary>Which measurements the search fits on.</summary>
public enum FitTarget
{
    /// <summary>Survey answers and outcomes alike.</summary>
    All = 0,
    Surveys = 1,
    Outcomes = 2,
}

/// <summary>
/// How well one predictor (higher = a more satisfied customer) ranks the measurements of one part:
/// Spearman ρ with the CSAT answers, the AUC of telling a 1-2 answer from a 3-5 one, and the AUC of telling
/// a good outcome (label 1) from a bad one.
/// </summary>
public readonly record struct Judgement(
    int Surveys,
    int LowSurveys,
    double Spearman,
    double AucLowCsat,
    int Outcomes,
    int GoodOutcomes,
    double AucOutcome)
{
    /// <summary>
    /// What the search maximises: the mean of ρ and of 2·AUC − 1 (both on −1…1, 0 for no information) over the
    /// metrics this part has among those <paramref name="target"/> names.
    /// </summary>
    public double Objective(FitTarget target = FitTarget.All)
    {
        double sum = 0;
        var n = 0;
        var surveys = target != FitTarget.Outcomes;
        var outcomes = target != FitTarget.Surveys;
        foreach (var (use, v) in new[] { (surveys, Spearman), (surveys, (2 * AucLowCsat) - 1), (outcomes, (2 * AucOutcome) - 1) })
        {
            if (use && double.IsFinite(v))
            {
                sum += v;
                n++;
            }
        }

        return n == 0 ? double.NaN : sum / n;
    }

    public static Judgement Of(MeasurementSet set, IReadOnlyList<double> predictor, Func<int, bool> include)
    {
        var surveyPredictor = new List<double>();
        var csat = new List<double>();
        var surveyRisk = new List<double>();
        var low = new List<bool>();
        var outcomePredictor = new List<double>();
        var good = new List<bool>();
        for (var i = 0; i < set.Count; i++)
        {
            if (!include(i))
            {
                continue;
            }

            var m = set.Items[i];
            if (m.Kind == MeasureKind.Survey)
            {
                surveyPredictor.Add(predictor[i]);
                surveyRisk.Add(-predictor[i]);
                csat.Add(m.Csat);
                low.Add(m.Csat <= 2);
            }
            else
            {
                outcomePredictor.Add(predictor[i]);
                good.Add(m.Label);
            }
        }

        return new Judgement(
            surveyPredictor.Count,
            low.Count(l => l),
            RankMetrics.Spearman(surveyPredictor, csat),
            RankMetrics.Auc(surveyRisk, low),
            outcomePredictor.Count,
            good.Count(g => g),
            RankMetrics.Auc(outcomePredictor, good));
    }
}
