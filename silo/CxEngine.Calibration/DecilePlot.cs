using ScottPlot;

namespace CxEngine.Calibration;

/// <summary>
/// Mean outcome by decile of S on the judged part, the default policy against the fitted one: a policy that
/// ranks well draws a rising line. One panel for the CSAT answers and, when there are outcomes, one for the
/// share of good outcomes.
/// </summary>
public static class DecilePlot
{
    public const int Bins = 10;

    public static void Save(CalibrationResult r, string path)
    {
        var judged = Enumerable.Range(0, r.Measurements.Count).Where(r.IsJudged).ToList();
        var surveys = judged.Where(i => r.Measurements.Items[i].Kind == MeasureKind.Survey).ToList();
        var outcomes = judged.Where(i => r.Measurements.Items[i].Kind == MeasureKind.Outcome).ToList();
        var panels = new List<(string Title, string YLabel, List<int> Items, Func<Measurement, double> Value)>();
        if (surveys.Count >= Bins)
        {
            panels.Add(("CSAT by decile of S just before the survey", "mean CSAT (1-5)", surveys, m => m.Csat));
        }

        if (outcomes.Count >= Bins)
        {
            panels.Add(("good outcomes by decile of S", "share of good outcomes", outcomes, m => m.Label ? 1 : 0));
        }

        if (panels.Count == 0)
        {
            throw new CalibrationInputException($"plot: the judged part has fewer than {Bins} surveys and fewer than {Bins} outcomes");
        }

        var multiplot = new Multiplot();
        multiplot.RemovePlot(multiplot.GetPlot(0));
        foreach (var (title, yLabel, items, value) in panels)
        {
            var plot = new Plot();
            AddLine(plot, r, items, value, r.DefaultScores, $"default {r.Default.Name}", Colors.Gray);
            AddLine(plot, r, items, value, r.FittedScores, $"fitted {r.Fitted.Name}", Colors.Blue);
            plot.Title(title);
            plot.XLabel("decile of S (1 = lowest)");
            plot.YLabel(yLabel);
            plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericFixedInterval(1);
            plot.ShowLegend(Alignment.LowerRight);
            multiplot.AddPlot(plot);
        }

        multiplot.Layout = new ScottPlot.MultiplotLayouts.Rows();
        multiplot.SavePng(path, 900, 420 * panels.Count);
    }

    /// <summary>Mean of <paramref name="value"/> in each tenth of the items ordered by S (ties keep input order).</summary>
    public static double[] MeansByDecile(IReadOnlyList<int> items, Func<int, double> value, IReadOnlyList<double> scores)
    {
        var ordered = items.OrderBy(i => scores[i]).ToArray();
        var means = new double[Bins];
        for (var b = 0; b < Bins; b++)
        {
            var from = b * ordered.Length / Bins;
            var to = (b + 1) * ordered.Length / Bins;
            means[b] = to > from ? ordered[from..to].Average(value) : double.NaN;
        }

        return means;
    }

    private static void AddLine(Plot plot, CalibrationResult r, List<int> items, Func<Measurement, double> value, double[] scores, string label, Color color)
    {
        var xs = Enumerable.Range(1, Bins).Select(i => (double)i).ToArray();
        var ys = MeansByDecile(items, i => value(r.Measurements.Items[i]), scores);
        var line = plot.Add.Scatter(xs, ys, color);
        line.LegendText = label;
        line.LineWidth = 2;
        line.MarkerSize = 7;
    }
}
