namespace CxEngine.Scoring;

/// <summary>
/// Where an event becomes a score: SCORING.md steps 3 to 8 as one pure, deterministic,
/// allocation-free function. Validation (step 1) happens at the edge, deduplication (step 2) and
/// the history (step 9) in the customer grain; everything numeric happens here.
/// </summary>
public static class ScoringStep
{
    private const double TicksPerDay = TimeSpan.TicksPerDay;

    /// <summary>The performance a filed complaint stands for.</summary>
    public const double ComplaintPerformance = 15;

    /// <summary>
    /// Applies one event to a customer's state under its tier policy.
    /// <paramref name="openAction"/> is the severity of the customer's open recovery action, or <see cref="Severity.None"/>.
    /// </summary>
    public static ScoringOutcome Apply(in ScoreState state, in ScoringEvent evt, TierPolicy policy, Severity openAction)
    {
        var n = policy.NeutralSatisfaction;

        // 3. Decay towards N on event time; an event older than the last one decays nothing.
        var scoreBefore = state.Score;
        var decayed = Decay(scoreBefore, state.LastEventAtTicks, evt.OccurredAtTicks, policy);

        // 4. Experience value.
        var x = Experience(evt, policy);

        // 5. Disconfirmation and event satisfaction, with loss aversion on the shortfall side.
        var e = state.Expectation;
        var d = x - e;
        var eventSatisfaction = Math.Clamp(n + (d >= 0 ? policy.GainSensitivity * d : policy.LossAversion * d), 0, 100);

        // 6. Score.
        var score = decayed + (policy.LearningRate * (eventSatisfaction - decayed));

        // 7. Expectation ratchets up fast and comes down slowly, within [floor, ceiling].
        var beta = x > e ? policy.ExpectationRiseRate : x < e ? policy.ExpectationFallRate : 0;
        var expectation = Math.Clamp(e + (beta * (x - e)), policy.ExpectationFloor, policy.ExpectationCeiling);

        var lastEventAt = Math.Max(state.LastEventAtTicks, evt.OccurredAtTicks);
        var next = new ScoreState(score, expectation, lastEventAt);

        // 8. Recovery.
        var recovery = DecideRecovery(score, policy, openAction);

        var explanation = new ScoreExplanation(
            Experience: x,
            ExpectationBefore: e,
            Disconfirmation: d,
            EventSatisfaction: eventSatisfaction,
            ScoreBefore: scoreBefore,
            Decay: decayed - scoreBefore,
            ScoreAfter: score,
            ExpectationAfter: expectation);
        return new ScoringOutcome(next, explanation, recovery);
    }

    /// <summary>S ← N + (S − N) · 2^(−Δt / h), h the good or bad memory half-life; a half-life of 0 does not fade.</summary>
    public static double Decay(double score, long lastEventAtTicks, long nowTicks, TierPolicy policy)
    {
        if (lastEventAtTicks == 0 || nowTicks <= lastEventAtTicks)
        {
            return score;
        }

        var n = policy.NeutralSatisfaction;
        if (score == n)
        {
            return score;
        }

        var days = (nowTicks - lastEventAtTicks) / TicksPerDay;
        var halfLife = score > n ? policy.GoodMemoryHalfLifeDays : policy.BadMemoryHalfLifeDays;
        if (halfLife <= 0)
        {
            return score;
        }

        return n + ((score - n) * Math.Pow(2, -days / halfLife));
    }

    /// <summary>True when the event carries at least one experience signal or registers a promise (SCORING.md step 1).</summary>
    public static bool HasSignal(in ScoringEvent evt) => evt.Signals.Promise.HasValue || HasExperience(evt);

    /// <summary>True when the event carries something to score now: a signal other than a promise being registered.</summary>
    public static bool HasExperience(in ScoringEvent evt)
    {
        var s = evt.Signals;
        return evt.Kind == EventKind.Complaint
            || s.Csat.HasValue || s.Promise is { IsRegistration: false } || s.Effort.HasValue || s.Resolved.HasValue
            || s.ConductIssueCount > 0 || s.WaitSeconds.HasValue || s.Sentiment.HasValue;
    }

    /// <summary>
    /// Experience value x (0–100): the weighted mean of the signals present, with the tier's weights; NaN when none
    /// is, or every present one weighs 0.
    /// </summary>
    public static double Experience(in ScoringEvent evt, TierPolicy policy)
    {
        var s = evt.Signals;
        double sum = 0, weights = 0;

        if (s.Csat is { } csat)
        {
            Add(ref sum, ref weights, CsatPerformance(csat), policy.CsatWeight);
        }

        if (s.Promise is { IsRegistration: false } promise)
        {
            Add(ref sum, ref weights, PromisePerformance(promise, policy.PromiseToleranceFor(promise.LeadTicks), policy.PromiseOverduePerformance), policy.PromiseWeight);
        }

        if (s.Effort is { } effort)
        {
            Add(ref sum, ref weights, EffortPerformance(effort), policy.EffortWeight);
        }

        if (s.Resolved is { } resolved)
        {
            Add(ref sum, ref weights, ResolutionPerformance(resolved, s.Transfers), policy.ResolutionWeight);
        }

        if (s.ConductIssueCount > 0)
        {
            Add(ref sum, ref weights, ConductPerformance(s.ConductIssueCount), policy.ConductWeight);
        }

        if (evt.Kind == EventKind.Complaint)
        {
            Add(ref sum, ref weights, ComplaintPerformance, policy.ComplaintWeight);
        }

        if (s.WaitSeconds is { } wait)
        {
            Add(ref sum, ref weights, WaitPerformance(wait, policy.WaitTargetSeconds), policy.WaitWeight);
        }

        if (s.Sentiment is { } sentiment)
        {
            Add(ref sum, ref weights, SentimentPerformance(sentiment), policy.SentimentWeight);
        }

        return weights > 0 ? sum / weights : double.NaN;
    }

    public static double CsatPerformance(int csat) => (csat - 1) * 25.0;

    public static double EffortPerformance(int ces) => (ces - 1) / 6.0 * 100.0;

    public static double ResolutionPerformance(bool resolved, int transfers) =>
        !resolved ? 10 : transfers <= 0 ? 100 : Math.Max(40, 100 - (20.0 * transfers));

    public static double ConductPerformance(int count) => Math.Max(0, 100 - (25.0 * count));

    public static double WaitPerformance(double waitSeconds, double targetSeconds) =>
        waitSeconds <= targetSeconds ? 100 : 100 * targetSeconds / waitSeconds;

    public static double SentimentPerformance(double sentiment) => (sentiment + 1) * 50;

    /// <summary>
    /// On time → 100; late by L → 100 · max(0, 1 − L / (4 · tolerance)); never fulfilled or broken → 0; overdue (the
    /// engine's step, version 3) → <paramref name="overduePerformance"/>; a customer warned before the promised time
    /// feels half the shortfall.
    /// </summary>
    public static double PromisePerformance(in PromiseSignal promise, double toleranceMinutes, double overduePerformance = 25)
    {
        double performance;
        if (promise.Overdue)
        {
            performance = overduePerformance;
        }
        else if (!promise.IsFulfilled)
        {
            performance = 0;
        }
        else if (promise.FulfilledAtTicks <= promise.PromisedAtTicks)
        {
            return 100;
        }
        else
        {
            var lateMinutes = (promise.FulfilledAtTicks - promise.PromisedAtTicks) / (double)TimeSpan.TicksPerMinute;
            performance = 100 * Math.Max(0, 1 - (lateMinutes / (4 * toleranceMinutes)));
        }

        return promise.WasNotifiedInAdvance ? 100 - ((100 - performance) / 2) : performance;
    }

    /// <summary>Severity from the gap g = baseline − S, raised by the tier's boost; None when S is not below baseline.</summary>
    public static Severity SeverityFor(double score, TierPolicy policy)
    {
        var gap = policy.Baseline - score;
        if (gap <= 0)
        {
            return Severity.None;
        }

        var level = gap < policy.LowSeverityGap ? 1 : gap < policy.MediumSeverityGap ? 2 : 3;
        return (Severity)Math.Min(3, level + policy.SeverityBoost);
    }

    /// <summary>
    /// Below baseline with nothing open: raise. Open and the severity rose: escalate the same action.
    /// Open and back to baseline + hysteresis: recovered. Between baseline and the hysteresis band an
    /// open action stays as it is, so a score hovering at the line does not flap.
    /// </summary>
    public static RecoveryDecision DecideRecovery(double score, TierPolicy policy, Severity openAction)
    {
        if (openAction != Severity.None)
        {
            if (score >= policy.Baseline + policy.RecoveryHysteresis)
            {
                return new RecoveryDecision(RecoveryDecisionKind.Recover, openAction);
            }

            var severity = SeverityFor(score, policy);
            return severity > openAction
                ? new RecoveryDecision(RecoveryDecisionKind.Escalate, severity)
                : RecoveryDecision.Nothing;
        }

        var raised = SeverityFor(score, policy);
        return raised == Severity.None ? RecoveryDecision.Nothing : new RecoveryDecision(RecoveryDecisionKind.Raise, raised);
    }

    private static void Add(ref double sum, ref double weights, double performance, double weight)
    {
        sum += performance * weight;
        weights += weight;
    }
}
