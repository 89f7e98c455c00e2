using CxEngine.Scoring;

namespace CxEngine.Calibration;

/// <summary>
/// The settings SCORING.md "Calibrating a tier" names, each inside a range a CX analyst accepts, searched
/// through an unconstrained vector: every coordinate goes through a logistic onto its range, and the ranges
/// that depend on another setting are taken after it (λ ≥ max(1, γ), β down ≤ β up). Whatever the
/// optimiser tries is therefore a valid policy; nothing is clipped after the fact. The half-lives (version 3) are
/// searched as fading rates (1 / half-life, per day) whose range starts below 0: the part of the line below 0 stands
/// for a half-life of 0 (no fading), so the search reaches "no fading" on a region of its own, not only at an end.
/// </summary>
public static class ParameterSpace
{
    public sealed record Range(string Name, string Field, double Min, double Max);

    /// <summary>γ: gains may count from a quarter to three times the gap.</summary>
    public static readonly Range Gain = new("γ", "gain_sensitivity", 0.25, 3);

    /// <summary>λ: losses weigh at least as much as gains (and at least 1, as the engine requires), at most 6 times.</summary>
    public static readonly Range Loss = new("λ", "loss_aversion", 1, 6);

    /// <summary>η: one event moves S by 2 % to 60 % of the way (SCORING.md: η ≤ 0.6).</summary>
    public static readonly Range Learning = new("η", "learning_rate", 0.02, 0.6);

    public static readonly Range Rise = new("β up", "expectation_rise_rate", 0.01, 0.5);

    /// <summary>β down: expectations come down no faster than they go up.</summary>
    public static readonly Range Fall = new("β down", "expectation_fall_rate", 0.002, 0.5);

    /// <summary>
    /// promise_tolerance_fraction: a promise made a week ahead tolerates from 50 minutes to 1.75 days of lateness
    /// (and is missed 4 tolerances after it was due, at most a lead time later). Searched on a log scale, so the
    /// small fractions (hours on a parcel) get as fair a look as the large ones.
    /// </summary>
    public static readonly Range ToleranceFraction = new("tolerance fraction", "promise_tolerance_fraction", 0.005, 0.25);

    /// <summary>good_memory_half_life_days as a fading rate: half-lives from 2 days up, or none (a rate at or below 0).</summary>
    public static readonly Range GoodFading = new("good fading rate", "good_memory_half_life_days", -0.1, 0.5);

    /// <summary>bad_memory_half_life_days as a fading rate, as <see cref="GoodFading"/>.</summary>
    public static readonly Range BadFading = new("bad fading rate", "bad_memory_half_life_days", -0.1, 0.5);

    /// <summary>promise_overdue_performance: what an overdue promise is worth, from a total failure to a good experience.</summary>
    public static readonly Range OverduePerformance = new("overdue p", "promise_overdue_performance", 0, 100);

    public static IReadOnlyList<Range> Ranges { get; } = [Gain, Loss, Learning, Rise, Fall, ToleranceFraction, GoodFading, BadFading, OverduePerformance];

    public static int Dimension => Ranges.Count;

    /// <summary>The coordinates of a search that also searches <paramref name="weights"/>' weights (after the searched settings).</summary>
    public static int DimensionWith(WeightPlan weights) => Ranges.Count + weights.Searched.Count;

    /// <summary>
    /// The policy a point of the search stands for: <paramref name="basis"/> with the searched settings and the
    /// planned weights replaced; each weight goes through a logistic onto (0, its maximum] on a linear scale.
    /// </summary>
    public static TierPolicy Decode(ReadOnlySpan<double> z, TierPolicy basis, WeightPlan weights)
    {
        var policy = Decode(z, basis);
        for (var i = 0; i < weights.Searched.Count; i++)
        {
            var w = weights.Searched[i];
            // Bounded below so an extreme coordinate still gives a weight above 0 (0 would switch the signal off).
            policy = w.Weight.With(policy, Lerp(0, w.Max, Math.Max(-30, z[Ranges.Count + i])));
        }

        return policy;
    }

    /// <summary>The point standing for <paramref name="policy"/>'s searched settings and planned weights, each pulled just inside its range.</summary>
    public static double[] Encode(TierPolicy policy, WeightPlan weights) =>
        [.. Encode(policy), .. weights.Searched.Select(w => Unlerp(0, w.Max, w.Weight.Get(policy)))];

    /// <summary>
    /// True when the searched settings lie inside their ranges, every planned weight inside (0, its maximum], and every
    /// other weight equals the basis tier's.
    /// </summary>
    public static bool IsInside(TierPolicy policy, TierPolicy basis, WeightPlan weights) =>
        IsInside(policy)
        && weights.Searched.All(w => w.Weight.Get(policy) > 0 && w.Weight.Get(policy) <= w.Max && w.Max <= WeightPlan.MaxWeight)
        && weights.Kept.All(k => k.Weight.Get(policy) == k.Weight.Get(basis));

    /// <summary>The policy a point of the search stands for: <paramref name="basis"/> with the searched settings replaced.</summary>
    public static TierPolicy Decode(ReadOnlySpan<double> z, TierPolicy basis)
    {
        var gain = Lerp(Gain.Min, Gain.Max, z[0]);
        var loss = Lerp(Math.Max(Loss.Min, gain), Loss.Max, z[1]);
        var learning = Lerp(Learning.Min, Learning.Max, z[2]);
        var rise = Lerp(Rise.Min, Rise.Max, z[3]);
        var fall = Lerp(Fall.Min, Math.Min(Fall.Max, rise), z[4]);
        var fraction = Math.Exp(Lerp(Math.Log(ToleranceFraction.Min), Math.Log(ToleranceFraction.Max), z[5]));
        return basis with
        {
            GoodMemoryHalfLifeDays = HalfLife(Lerp(GoodFading.Min, GoodFading.Max, z[6])),
            BadMemoryHalfLifeDays = HalfLife(Lerp(BadFading.Min, BadFading.Max, z[7])),
            PromiseOverduePerformance = Lerp(OverduePerformance.Min, OverduePerformance.Max, z[8]),
            PromiseToleranceFraction = fraction,
            GainSensitivity = gain,
            LossAversion = loss,
            LearningRate = learning,
            ExpectationRiseRate = rise,
            ExpectationFallRate = fall,
        };
    }

    /// <summary>The point standing for <paramref name="policy"/>'s settings, each pulled just inside its range.</summary>
    public static double[] Encode(TierPolicy policy)
    {
        var gain = Math.Clamp(policy.GainSensitivity, Gain.Min, Gain.Max);
        var rise = Math.Clamp(policy.ExpectationRiseRate, Rise.Min, Rise.Max);
        return
        [
            Unlerp(Gain.Min, Gain.Max, gain),
            Unlerp(Math.Max(Loss.Min, gain), Loss.Max, policy.LossAversion),
            Unlerp(Learning.Min, Learning.Max, policy.LearningRate),
            Unlerp(Rise.Min, Rise.Max, rise),
            Unlerp(Fall.Min, Math.Min(Fall.Max, rise), policy.ExpectationFallRate),
            Unlerp(Math.Log(ToleranceFraction.Min), Math.Log(ToleranceFraction.Max), Math.Log(Math.Max(policy.PromiseToleranceFraction, ToleranceFraction.Min))),
            Unlerp(GoodFading.Min, GoodFading.Max, FadingRate(policy.GoodMemoryHalfLifeDays, GoodFading)),
            Unlerp(BadFading.Min, BadFading.Max, FadingRate(policy.BadMemoryHalfLifeDays, BadFading)),
            Unlerp(OverduePerformance.Min, OverduePerformance.Max, policy.PromiseOverduePerformance),
        ];
    }

    /// <summary>A fading rate's half-life in days: 0 (no fading) for a rate at or below 0.</summary>
    private static double HalfLife(double rate) => rate <= 0 ? 0 : 1 / rate;

    /// <summary>A half-life's fading rate; no fading sits in the middle of the range's part below 0.</summary>
    private static double FadingRate(double halfLifeDays, Range range) =>
        halfLifeDays <= 0 ? range.Min / 2 : Math.Clamp(1 / halfLifeDays, 0, range.Max);

    /// <summary>True when every searched setting of <paramref name="policy"/> lies inside its range.</summary>
    public static bool IsInside(TierPolicy policy) =>
        policy.GainSensitivity >= Gain.Min && policy.GainSensitivity <= Gain.Max
        && policy.LossAversion >= Math.Max(Loss.Min, policy.GainSensitivity) && policy.LossAversion <= Loss.Max
        && policy.LearningRate >= Learning.Min && policy.LearningRate <= Learning.Max
        && policy.ExpectationRiseRate >= Rise.Min && policy.ExpectationRiseRate <= Rise.Max
        && policy.ExpectationFallRate >= Fall.Min && policy.ExpectationFallRate <= Math.Min(Fall.Max, policy.ExpectationRiseRate)
        && policy.PromiseToleranceFraction >= ToleranceFraction.Min && policy.PromiseToleranceFraction <= ToleranceFraction.Max
        && IsSearchedHalfLife(policy.GoodMemoryHalfLifeDays, GoodFading) && IsSearchedHalfLife(policy.BadMemoryHalfLifeDays, BadFading)
        && policy.PromiseOverduePerformance >= OverduePerformance.Min && policy.PromiseOverduePerformance <= OverduePerformance.Max;

    private static bool IsSearchedHalfLife(double days, Range range) => days == 0 || days >= 1 / range.Max;

    private static double Lerp(double min, double max, double z) => min + ((max - min) / (1 + Math.Exp(-z)));

    private static double Unlerp(double min, double max, double value)
    {
        if (max <= min)
        {
            return 0;
        }

        // Kept off the very ends so the logit stays finite and the optimiser can move both ways.
        var t = Math.Clamp((value - min) / (max - min), 1e-3, 1 - 1e-3);
        return Math.Log(t / (1 - t));
    }
}
