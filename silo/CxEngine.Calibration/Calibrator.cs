using System.Diagnostics;
using CxEngine.Scoring;
using MathNet.Numerics;
using MathNet.Numerics.LinearAlgebra;
using MathNet.Numerics.Optimization;

namespace CxEngine.Calibration;

/// <summary>How to split and how much to search.</summary>
public sealed record CalibrationOptions
{
    /// <summary>Share of the measurements (by time) to fit on; the rest is judged. Ignored when <see cref="SplitAt"/> is set.</summary>
    public double SplitFraction { get; init; } = 0.7;

    /// <summary>Fit on measurements before this instant, judge on those at or after it.</summary>
    public DateTime? SplitAt { get; init; }

    /// <summary>Replays the search may spend (each replays every customer once).</summary>
    public int Budget { get; init; } = 1000;

    /// <summary>The measurements whose ranking the search improves.</summary>
    public FitTarget FitOn { get; init; } = FitTarget.All;

    /// <summary>Seed of the random start points, so a run can be repeated exactly.</summary>
    public int Seed { get; init; } = 11;

    /// <summary>Which signal weights are searched besides the six settings (<see cref="WeightPlan"/>).</summary>
    public WeightSearch Weights { get; init; } = WeightSearch.Auto;
}

/// <summary>One predictor's judgement on the judged part.</summary>
public sealed record PredictorRow(string Name, Judgement Judged);

public sealed record CalibrationResult(
    FitTarget FitOn,
    TierPolicy Default,
    TierPolicy Fitted,
    DateTime SplitAt,
    Judgement DefaultOnFit,
    Judgement FittedOnFit,
    IReadOnlyList<PredictorRow> Judged,
    MeasurementSet Measurements,
    double[] DefaultScores,
    double[] FittedScores,
    int Evaluations,
    TimeSpan Elapsed)
{
    /// <summary>Events the model refused in the default policy's replay (as the engine would have): they change nothing.</summary>
    public int RefusedEvents { get; init; }

    /// <summary>The signal weights searched, and those left at the basis value with the reason.</summary>
    public WeightPlan Weights { get; init; } = WeightPlan.None;

    public bool IsJudged(int measurement) => Measurements.Items[measurement].AtTicks >= SplitAt.Ticks;
}

/// <summary>
/// SCORING.md "Calibrating a tier": replay the history under candidate settings, fit on the earlier part,
/// judge on the later part next to the naive baselines. The search is a budgeted random start (the default
/// policy among the points) followed by Math.NET's Nelder-Mead simplex from the best few starts, in the
/// unconstrained coordinates of <see cref="ParameterSpace"/>.
/// </summary>
public static class Calibrator
{
    private const int LocalStarts = 3;

    public static CalibrationResult Run(CalibrationInput input, TierPolicy defaults, CalibrationOptions options)
    {
        if (options.Budget < 10)
        {
            throw new ArgumentOutOfRangeException(nameof(options), $"budget: must be at least 10 replays, got {options.Budget}");
        }

        var clock = Stopwatch.StartNew();
        var measurements = MeasurementSet.Build(input);
        if (measurements.Count == 0)
        {
            throw new CalibrationInputException("nothing to judge: the events hold no survey (an event with csat) and no outcome matches a customer of the events");
        }

        var splitAt = options.SplitAt ?? SplitTime(measurements, options.SplitFraction);
        bool IsFit(int i) => measurements.Items[i].AtTicks < splitAt.Ticks;
        bool IsJudged(int i) => !IsFit(i);
        var fitCount = Enumerable.Range(0, measurements.Count).Count(IsFit);
        if (fitCount == 0 || fitCount == measurements.Count)
        {
            throw new CalibrationInputException(
                $"split: {splitAt:yyyy-MM-ddTHH:mm:ssZ} leaves {(fitCount == 0 ? "nothing to fit on" : "nothing to judge")} ({measurements.Count} measurements from {Time(measurements.Items.Min(m => m.AtTicks))} to {Time(measurements.Items.Max(m => m.AtTicks))})");
        }

        var weights = WeightPlan.For(input, defaults, options.Weights);
        var dimension = ParameterSpace.DimensionWith(weights);
        var scores = new double[measurements.Count];
        var evaluations = 0;
        var best = (Value: double.PositiveInfinity, Point: ParameterSpace.Encode(defaults, weights));

        // Minimised: minus the fit part's objective; a policy that ranks nothing scores as badly as possible.
        double Loss(double[] z)
        {
            evaluations++;
            Replayer.Scores(input, measurements, ParameterSpace.Decode(z, defaults, weights), scores);
            var objective = Judgement.Of(measurements, scores, IsFit).Objective(options.FitOn);
            var loss = double.IsFinite(objective) ? -objective : 2;
            if (loss < best.Value)
            {
                best = (loss, (double[])z.Clone());
            }

            return loss;
        }

        // 1. Coarse: the default and random points spread uniformly over each range.
        var random = new Random(options.Seed);
        var coarseBudget = Math.Max(LocalStarts, options.Budget / 4);
        var starts = new List<(double Value, double[] Point)>();
        var origin = ParameterSpace.Encode(defaults, weights);
        starts.Add((Loss(origin), origin));
        while (evaluations < coarseBudget)
        {
            var point = new double[dimension];
            for (var d = 0; d < point.Length; d++)
            {
                var u = 0.02 + (0.96 * random.NextDouble());
                point[d] = Math.Log(u / (1 - u));
            }

            starts.Add((Loss(point), point));
        }

        // 2. Local: Nelder-Mead from the best starts, sharing what is left of the budget.
        var perStart = Math.Max(5, (options.Budget - evaluations) / LocalStarts);
        foreach (var start in starts.OrderBy(s => s.Value).Take(LocalStarts).ToList())
        {
            var limit = evaluations + perStart;
            var simplex = new NelderMeadSimplex(convergenceTolerance: 1e-5, maximumIterations: perStart);
            var objective = ObjectiveFunction.Value(v => evaluations >= limit ? 2 : Loss(v.ToArray()));
            try
            {
                simplex.FindMinimum(objective, Vector<double>.Build.DenseOfArray(start.Point), Vector<double>.Build.Dense(dimension, 0.6));
            }
            catch (MaximumIterationsException)
            {
                // The budget ran out before the simplex converged; the best point seen is kept below.
            }
        }

        var fitted = ParameterSpace.Decode(best.Point, defaults, weights);
        var defaultScores = new double[measurements.Count];
        var refused = Replayer.Scores(input, measurements, defaults, defaultScores);
        var fittedScores = Replayer.Scores(input, measurements, fitted);
        var rows = new List<PredictorRow>
        {
            new($"default {defaults.Name} policy (S)", Judgement.Of(measurements, defaultScores, IsJudged)),
            new($"fitted {defaults.Name} policy (S)", Judgement.Of(measurements, fittedScores, IsJudged)),
        };
        rows.AddRange(Baselines(measurements, IsFit, IsJudged));
        return new CalibrationResult(
            options.FitOn,
            defaults,
            fitted,
            splitAt,
            Judgement.Of(measurements, defaultScores, IsFit),
            Judgement.Of(measurements, fittedScores, IsFit),
            rows,
            measurements,
            defaultScores,
            fittedScores,
            evaluations + 2,
            clock.Elapsed)
        {
            RefusedEvents = refused,
            Weights = weights,
        };
    }

    /// <summary>The naive predictors, oriented like S (higher = more satisfied).</summary>
    private static IEnumerable<PredictorRow> Baselines(MeasurementSet set, Func<int, bool> isFit, Func<int, bool> isJudged)
    {
        var items = set.Items;
        var fitSurveys = Enumerable.Range(0, set.Count).Where(i => isFit(i) && items[i].Kind == MeasureKind.Survey).ToList();
        var meanAnswer = fitSurveys.Count > 0 ? fitSurveys.Average(i => items[i].Csat) : 3;
        yield return new("promise broken, yes/no", Judgement.Of(set, [.. items.Select(m => m.Baselines.PromiseBroken ? 0.0 : 1.0)], isJudged));
        yield return new("days late", Judgement.Of(set, [.. items.Select(m => -m.Baselines.DaysLate)], isJudged));
        yield return new($"last survey answer (none: {meanAnswer:0.00})", Judgement.Of(set, [.. items.Select(m => (double)(m.Baselines.LastCsat ?? meanAnswer))], isJudged));
    }

    private static DateTime SplitTime(MeasurementSet set, double fraction)
    {
        if (!(fraction > 0 && fraction < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(fraction), $"split: must lie strictly between 0 and 1, got {fraction}");
        }

        var times = set.Items.Select(m => m.AtTicks).Order().ToArray();
        return new DateTime(times[(int)Math.Floor(fraction * (times.Length - 1))], DateTimeKind.Utc);
    }

    private static string Time(long ticks) => new DateTime(ticks, DateTimeKind.Utc).ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture);
}
