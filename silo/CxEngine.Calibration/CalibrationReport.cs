using System.Globalization;
using System.Text;

namespace CxEngine.Calibration;

/// <summary>The printed result: the settings before and after, and the judged part's table next to the baselines.</summary>
public static class CalibrationReport
{
    public static string Format(CalibrationResult r)
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        var judged = r.Judged[0].Judged;
        var fit = r.DefaultOnFit;
        sb.AppendLine(inv, $"split at {r.SplitAt:yyyy-MM-ddTHH:mm:ssZ}: fit on {fit.Surveys} surveys and {fit.Outcomes} outcomes before it, judged on {judged.Surveys} surveys and {judged.Outcomes} outcomes from it on");
        if (r.RefusedEvents > 0)
        {
            sb.AppendLine(inv, $"{r.RefusedEvents} events refused by the model, as the engine would refuse them (over max_open_promises, or kept before the promise was made): they change nothing");
        }

        sb.AppendLine(inv, $"search: {r.Evaluations} replays in {r.Elapsed.TotalSeconds:0.0} s; fit-part objective ({r.FitOn}) {r.DefaultOnFit.Objective(r.FitOn):0.0000} (default) -> {r.FittedOnFit.Objective(r.FitOn):0.0000} (fitted)");
        sb.AppendLine(inv, $"signal weights (--weights {r.Weights.Mode.ToString().ToLowerInvariant()}): {(r.Weights.Searched.Count == 0 ? "none searched" : string.Join(", ", r.Weights.Searched.Select(w => w.Weight.Field)) + " searched")}");
        foreach (var line in r.Weights.Describe())
        {
            sb.AppendLine(inv, $"  {line}");
        }

        sb.AppendLine();
        sb.AppendLine("| setting | default | fitted |");
        sb.AppendLine("|---|---:|---:|");
        foreach (var (name, get) in Settings)
        {
            sb.AppendLine(inv, $"| {name} | {get(r.Default):0.####} | {get(r.Fitted):0.####} |");
        }

        foreach (var w in r.Weights.Searched)
        {
            sb.AppendLine(inv, $"| {w.Weight.Field} | {w.Weight.Get(r.Default):0.####} | {w.Weight.Get(r.Fitted):0.####} |");
        }

        sb.AppendLine();
        sb.AppendLine(inv, $"Fit part: default ρ {Num(r.DefaultOnFit.Spearman)}, AUC 1-2 {Num(r.DefaultOnFit.AucLowCsat)}, AUC outcome {Num(r.DefaultOnFit.AucOutcome)}; fitted ρ {Num(r.FittedOnFit.Spearman)}, AUC 1-2 {Num(r.FittedOnFit.AucLowCsat)}, AUC outcome {Num(r.FittedOnFit.AucOutcome)}");
        sb.AppendLine();
        sb.AppendLine(inv, $"Judged part (from {r.SplitAt:yyyy-MM-dd}); ρ and AUC: higher is better, 0 and 0.5 are no information.");
        sb.AppendLine();
        sb.AppendLine(inv, $"| predictor | Spearman ρ with CSAT (n = {judged.Surveys}) | AUC for a 1-2 answer ({judged.LowSurveys} of {judged.Surveys}) | AUC for a good outcome ({judged.GoodOutcomes} of {judged.Outcomes}) |");
        sb.AppendLine("|---|---:|---:|---:|");
        foreach (var row in r.Judged)
        {
            sb.AppendLine(inv, $"| {row.Name} | {Num(row.Judged.Spearman)} | {Num(row.Judged.AucLowCsat)} | {Num(row.Judged.AucOutcome)} |");
        }

        return sb.ToString();
    }

    // Named by the TierPolicy field a tier file or UpsertTier sets, with the model's symbol where it has one.
    private static readonly (string Name, Func<Scoring.TierPolicy, double> Get)[] Settings =
    [
        ("gain_sensitivity (γ)", p => p.GainSensitivity),
        ("loss_aversion (λ)", p => p.LossAversion),
        ("learning_rate (η)", p => p.LearningRate),
        ("expectation_rise_rate (β up)", p => p.ExpectationRiseRate),
        ("expectation_fall_rate (β down)", p => p.ExpectationFallRate),
        ("promise_tolerance_fraction", p => p.PromiseToleranceFraction),
        ("good_memory_half_life_days (0: no fading)", p => p.GoodMemoryHalfLifeDays),
        ("bad_memory_half_life_days (0: no fading)", p => p.BadMemoryHalfLifeDays),
        ("promise_overdue_performance", p => p.PromiseOverduePerformance),
    ];

    private static string Num(double v) => double.IsFinite(v) ? v.ToString("0.000", CultureInfo.InvariantCulture) : "–";
}
