using System.Numerics;
using CxEngine.Scoring;

namespace CxEngine.Calibration;

/// <summary>Which signal weights <c>calibrate</c> searches: those the data can tell apart (auto), every one but the anchor, or none.</summary>
public enum WeightSearch
{
    Auto,
    All,
    None,
}

/// <summary>One signal weight of the experience value x (SCORING.md step 4), as a tier setting.</summary>
public sealed record SignalWeight(int Bit, string Signal, string Field, Func<TierPolicy, double> Get, Func<TierPolicy, double, TierPolicy> With)
{
    /// <summary>The eight weights in the order of ScoringStep.Experience.</summary>
    public static IReadOnlyList<SignalWeight> All { get; } =
    [
        new(0, "csat", "csat_weight", p => p.CsatWeight, (p, w) => p with { CsatWeight = w }),
        new(1, "promise", "promise_weight", p => p.PromiseWeight, (p, w) => p with { PromiseWeight = w }),
        new(2, "effort", "effort_weight", p => p.EffortWeight, (p, w) => p with { EffortWeight = w }),
        new(3, "resolution", "resolution_weight", p => p.ResolutionWeight, (p, w) => p with { ResolutionWeight = w }),
        new(4, "conduct", "conduct_weight", p => p.ConductWeight, (p, w) => p with { ConductWeight = w }),
        new(5, "complaint", "complaint_weight", p => p.ComplaintWeight, (p, w) => p with { ComplaintWeight = w }),
        new(6, "wait", "wait_weight", p => p.WaitWeight, (p, w) => p with { WaitWeight = w }),
        new(7, "sentiment", "sentiment_weight", p => p.SentimentWeight, (p, w) => p with { SentimentWeight = w }),
    ];

    /// <summary>The signals an event carries that enter x (one bit per weight), exactly as ScoringStep.Experience reads them.</summary>
    public static int Present(in ScoringEvent evt)
    {
        var s = evt.Signals;
        return (s.Csat.HasValue ? 1 << 0 : 0)
            | (s.Promise is { IsRegistration: false } ? 1 << 1 : 0)
            | (s.Effort.HasValue ? 1 << 2 : 0)
            | (s.Resolved.HasValue ? 1 << 3 : 0)
            | (s.ConductIssueCount > 0 ? 1 << 4 : 0)
            | (evt.Kind == EventKind.Complaint ? 1 << 5 : 0)
            | (s.WaitSeconds.HasValue ? 1 << 6 : 0)
            | (s.Sentiment.HasValue ? 1 << 7 : 0);
    }
}

/// <summary>A searched weight: from 0 (not reached: see <see cref="WeightPlan"/>) up to <paramref name="Max"/>.</summary>
public sealed record SearchedWeight(SignalWeight Weight, SignalWeight Anchor, double Max);

/// <summary>A weight left at the basis tier's value, and why.</summary>
public sealed record KeptWeight(SignalWeight Weight, string Reason);

/// <summary>
/// Which signal weights a calibration searches. x is a weighted mean, so only ratios of weights matter, and only
/// inside events that carry two or more weighted signals (a lone signal's x is its performance whatever its weight).
/// The signals that occur together form groups (connected through shared events); scaling one group's weights
/// changes nothing, so each group keeps one weight at the basis value as its anchor (CSAT when it is in the group,
/// else the first in ScoringStep's order) and the others are searched from 0 to <see cref="MaxRatio"/> times the
/// anchor. A weight that never shares an event, or one the basis tier sets to 0, is a flat direction and is left.
/// 0 itself is approached but not reached: a weight of 0 also drops the signal from the events that carry it
/// alone (they then score nothing), a different model from "weighs little next to the others"; an analyst who
/// wants a signal off sets its weight to 0 in <c>--from</c>, and it stays off.
/// </summary>
public sealed record WeightPlan(WeightSearch Mode, IReadOnlyList<SearchedWeight> Searched, IReadOnlyList<KeptWeight> Kept)
{
    /// <summary>A searched weight ranges over 0 to this many times its anchor (and never above the engine's 100).</summary>
    public const double MaxRatio = 10;

    public const double MaxWeight = 100;

    /// <summary>No weight searched (<c>--weights none</c>).</summary>
    public static WeightPlan None { get; } =
        new(WeightSearch.None, [], [.. SignalWeight.All.Select(w => new KeptWeight(w, "--weights none"))]);

    public static WeightPlan For(CalibrationInput input, TierPolicy basis, WeightSearch mode)
    {
        if (mode == WeightSearch.None)
        {
            return None;
        }

        var weighted = SignalWeight.All.Where(w => w.Get(basis) > 0).Aggregate(0, (m, w) => m | (1 << w.Bit));
        var searched = new List<SearchedWeight>();
        var kept = new List<KeptWeight>();
        if (mode == WeightSearch.All)
        {
            // Forced: every weighted signal against the first weighted one (CSAT unless the basis switched it off).
            var anchor = SignalWeight.All.FirstOrDefault(w => (weighted & (1 << w.Bit)) != 0);
            foreach (var w in SignalWeight.All)
            {
                if ((weighted & (1 << w.Bit)) == 0)
                {
                    kept.Add(new(w, "0 in the basis tier: the signal is switched off"));
                }
                else if (w == anchor)
                {
                    kept.Add(new(w, "anchor: x is a weighted mean, the others are searched relative to it"));
                }
                else
                {
                    searched.Add(new(w, anchor!, Max(w, anchor!, basis)));
                }
            }

            return new WeightPlan(mode, searched, kept);
        }

        // Auto: group the weighted signals that share events (union-find over 8 bits), counting mixed events.
        var parent = Enumerable.Range(0, SignalWeight.All.Count).ToArray();
        int Find(int i) => parent[i] == i ? i : parent[i] = Find(parent[i]);
        var mixed = new int[SignalWeight.All.Count];
        foreach (var customer in input.Customers)
        {
            foreach (var evt in customer.Events)
            {
                var present = SignalWeight.Present(evt.Event) & weighted;
                if (BitOperations.PopCount((uint)present) < 2)
                {
                    continue;
                }

                var first = BitOperations.TrailingZeroCount(present);
                for (var bit = first; bit < SignalWeight.All.Count; bit++)
                {
                    if ((present & (1 << bit)) != 0)
                    {
                        mixed[bit]++;
                        parent[Find(bit)] = Find(first);
                    }
                }
            }
        }

        foreach (var w in SignalWeight.All)
        {
            if ((weighted & (1 << w.Bit)) == 0)
            {
                kept.Add(new(w, "0 in the basis tier: the signal is switched off"));
                continue;
            }

            if (mixed[w.Bit] == 0)
            {
                kept.Add(new(w, "never in an event with another weighted signal: its weight changes no x"));
                continue;
            }

            // The group's anchor: the first weighted signal of the group in ScoringStep's order (CSAT comes first).
            var anchor = SignalWeight.All.First(a => mixed[a.Bit] > 0 && Find(a.Bit) == Find(w.Bit));
            if (anchor == w)
            {
                kept.Add(new(w, $"anchor of {Group(w)}: only ratios inside a mixed event matter ({mixed[w.Bit]} events)"));
            }
            else
            {
                searched.Add(new(w, anchor, Max(w, anchor, basis)));
            }
        }

        return new WeightPlan(mode, searched, kept);

        string Group(SignalWeight of) =>
            string.Join(" + ", SignalWeight.All.Where(a => mixed[a.Bit] > 0 && Find(a.Bit) == Find(of.Bit)).Select(a => a.Signal));
    }

    /// <summary>One line per weight, for the printed report.</summary>
    public IEnumerable<string> Describe()
    {
        foreach (var s in Searched)
        {
            yield return $"{s.Weight.Field}: searched from 0 to {s.Max:0.##}, relative to {s.Anchor.Field} (kept at the basis value)";
        }

        foreach (var group in Kept.GroupBy(k => k.Reason))
        {
            yield return $"{string.Join(", ", group.Select(k => k.Weight.Field))}: left at the basis value ({group.Key})";
        }
    }

    /// <summary>Ten times the anchor, or the basis value when that is above it (so the basis tier is a point of the search), at most 100.</summary>
    private static double Max(SignalWeight weight, SignalWeight anchor, TierPolicy basis) =>
        Math.Min(MaxWeight, Math.Max(MaxRatio * anchor.Get(basis), weight.Get(basis)));
}
