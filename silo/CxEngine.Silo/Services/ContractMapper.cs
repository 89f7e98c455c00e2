using System.Runtime.CompilerServices;
using CxEngine.Customers;
using CxEngine.Scoring;
using Google.Protobuf.WellKnownTypes;
using V1 = CxEngine.Contracts.V1;

namespace CxEngine.Silo.Services;

/// <summary>
/// Domain values to cx.v1 messages. One place, so every RPC says the same thing the same way; customer and action
/// keys (<see cref="Tenants"/>) leave as the ids their tenant knows.
/// </summary>
public static class ContractMapper
{
    public static V1.EventResult ToResult(EventOutcome outcome, string customerId)
    {
        var result = new V1.EventResult
        {
            EventId = outcome.EventId,
            CustomerId = Tenants.IdOf(customerId),
            Status = (V1.EventStatus)outcome.Status,
            Error = outcome.Reason ?? "",
        };
        if (outcome.Score is { } score)
        {
            result.Score = ToScore(score);
        }

        if (outcome.Entry is { } entry)
        {
            result.Change = ToChange(entry);
        }

        if (outcome.Action is { } action)
        {
            result.Action = ToSharedAction(action);
        }

        return result;
    }

    public static V1.EventResult Rejected(string eventId, string customerId, string error) => new()
    {
        EventId = eventId,
        CustomerId = customerId,
        Status = V1.EventStatus.Rejected,
        Error = error,
    };

    public static V1.EventResult Unavailable(string eventId, string customerId, string error) => new()
    {
        EventId = eventId,
        CustomerId = Tenants.IdOf(customerId),
        Status = V1.EventStatus.Unavailable,
        Error = error,
    };

    public static V1.CustomerScore ToScore(CustomerSnapshot s)
    {
        var score = new V1.CustomerScore
        {
            CustomerId = Tenants.IdOf(s.CustomerId),
            Tier = s.Tier,
            Score = s.Score,
            Expectation = s.Expectation,
            Baseline = s.Baseline,
            BelowBaseline = s.BelowBaseline,
            EventsApplied = s.EventsApplied,
        };
        if (s.LastEventAt is { } last)
        {
            score.LastEventAt = Timestamp.FromDateTime(last);
        }

        if (s.OpenAction is { } action)
        {
            score.OpenAction = ToSharedAction(action);
        }

        return score;
    }

    public static V1.ScoreChange ToChange(ScoreChangeRecord c) => ToChange(
        c.EventId, c.Kind, c.Channel, c.OccurredAt, c.AppliedAt, c.Unscored,
        new ScoreExplanation(c.Experience, c.ExpectationBefore, c.Disconfirmation, c.EventSatisfaction, c.ScoreBefore, c.Decay, c.ScoreAfter, c.ExpectationAfter));

    /// <summary>An event's result: its change straight from the log entry the commit wrote.</summary>
    public static V1.ScoreChange ToChange(EventLogEntry e) => ToChange(
        e.EventId, e.Body.Event.Kind, e.Body.Channel, e.Body.Event.OccurredAt, e.AppliedAt, e.Body.Explanation.Unscored, e.Body.Explanation);

    private static V1.ScoreChange ToChange(
        string eventId, EventKind kind, Channel channel, DateTime occurredAt, DateTime appliedAt, bool unscored, in ScoreExplanation x) => new()
    {
        EventId = eventId,
        Kind = (V1.EventKind)kind,
        Channel = (V1.Channel)channel,
        OccurredAt = Timestamp.FromDateTime(occurredAt),
        Experience = x.Experience,
        ExpectationBefore = x.ExpectationBefore,
        Disconfirmation = x.Disconfirmation,
        Delta = x.ScoreAfter - x.ScoreBefore,
        ScoreAfter = x.ScoreAfter,
        ExpectationAfter = x.ExpectationAfter,
        ScoreBefore = x.ScoreBefore,
        Decay = x.Decay,
        EventSatisfaction = x.EventSatisfaction,
        AppliedAt = Timestamp.FromDateTime(appliedAt),
        Unscored = unscored,
    };

    /// <summary>A change with the event as it arrived (<c>include_events</c>): the form <c>import</c> and <c>calibrate --events</c> read.</summary>
    public static V1.ScoreChange ToChange(ScoreChangeRecord c, string customerId)
    {
        var change = ToChange(c);
        change.Event = ToInteraction(customerId, c.EventId, c.Channel, c.Tier, c.Received);
        return change;
    }

    /// <summary>
    /// A logged event back in the contract's form. Conduct issues come back as logged; an entry logged before their kinds
    /// were kept knows only their count, and gives back that many issues from the first kinds on (the score is the same).
    /// </summary>
    public static V1.InteractionEvent ToInteraction(string customerId, string eventId, Channel channel, string tier, in ScoringEvent evt)
    {
        var s = evt.Signals;
        var signals = new V1.Signals();
        if (s.Csat is { } csat)
        {
            signals.Csat = csat;
        }

        if (s.Effort is { } effort)
        {
            signals.Effort = effort;
        }

        if (s.Resolved is { } resolved)
        {
            signals.Resolved = resolved;
            signals.Transfers = s.Transfers;
        }

        if (s.WaitSeconds is { } wait)
        {
            signals.WaitSeconds = wait;
        }

        if (s.Sentiment is { } sentiment)
        {
            signals.Sentiment = sentiment;
        }

        if (s.Promise is { } p)
        {
            signals.Promise = new V1.Promise
            {
                PromisedAt = Time(p.PromisedAtTicks),
                FulfilledAt = p.IsFulfilled ? Time(p.FulfilledAtTicks) : null,
                NotifiedAt = p.NotifiedAtTicks != 0 ? Time(p.NotifiedAtTicks) : null,
                PromiseId = p.PromiseId ?? "",
                MadeAt = p.MadeAtTicks != 0 ? Time(p.MadeAtTicks) : null,
                Broken = p.Broken && !p.Overdue,
            };
        }

        for (var issue = 1; issue <= 15; issue++)
        {
            if (s.ConductIssueKinds != 0 ? (s.ConductIssueKinds & (1 << issue)) != 0 : issue <= s.ConductIssueCount)
            {
                signals.ConductIssues.Add((V1.ConductIssue)issue);
            }
        }

        return new V1.InteractionEvent
        {
            EventId = eventId,
            CustomerId = customerId,
            OccurredAt = Time(evt.OccurredAtTicks),
            Channel = (V1.Channel)channel,
            Kind = (V1.EventKind)evt.Kind,
            Tier = tier,
            Signals = signals,
        };
    }

    // An open action rides along on every result of its customer's events until it changes. Its record is immutable
    // and crosses the grain call uncopied, so its protobuf (with the reasons' timestamps) is built once per record and
    // shared by the results; protobuf messages are only read when written out, and no caller changes these.
    private static readonly ConditionalWeakTable<RecoveryActionRecord, V1.RecoveryAction> Shared = [];

    private static V1.RecoveryAction ToSharedAction(RecoveryActionRecord a) => Shared.GetValue(a, ToAction);

    public static V1.RecoveryAction ToAction(RecoveryActionRecord a)
    {
        var action = new V1.RecoveryAction
        {
            ActionId = Tenants.IdOf(a.ActionId),
            Sequence = a.Sequence,
            CustomerId = Tenants.IdOf(a.CustomerId),
            Tenant = Tenants.TenantOf(a.CustomerId),
            Tier = a.Tier,
            Severity = (V1.Severity)a.Severity,
            Status = (V1.ActionStatus)a.Status,
            Score = a.Score,
            Expectation = a.Expectation,
            Baseline = a.Baseline,
            TriggerEventId = a.TriggerEventId,
            SuggestedCompensation = a.SuggestedCompensation,
            RequiresApproval = a.RequiresApproval,
            DueBy = Timestamp.FromDateTime(a.DueBy),
            RaisedAt = Timestamp.FromDateTime(a.RaisedAt),
            UpdatedAt = Timestamp.FromDateTime(a.UpdatedAt),
            ClosedByEventId = a.ClosedByEventId ?? "",
            Change = (V1.ActionChange)a.Change,
            Overdue = a.Overdue,
            Revision = a.Revision,
            AcknowledgedBy = a.AcknowledgedBy ?? "",
            ResolvedBy = a.ResolvedBy ?? "",
            AcknowledgedVia = a.AcknowledgedVia ?? "",
            ResolvedVia = a.ResolvedVia ?? "",
            ResolutionOutcome = a.ResolutionOutcome ?? "",
            Note = a.Note ?? "",
        };
        if (a.AcknowledgedAt is { } acknowledgedAt)
        {
            action.AcknowledgedAt = Timestamp.FromDateTime(acknowledgedAt);
        }

        if (a.ResolvedAt is { } resolvedAt)
        {
            action.ResolvedAt = Timestamp.FromDateTime(resolvedAt);
        }

        foreach (var reason in a.Reasons)
        {
            action.Reasons.Add(ToChange(reason));
        }

        action.Steps.AddRange(a.Steps);
        return action;
    }

    private static Timestamp Time(long ticks) => Timestamp.FromDateTime(new DateTime(ticks, DateTimeKind.Utc));

    public static V1.OpenPromise ToOpenPromise(OpenPromiseDue due)
    {
        var p = due.Promise;
        var promise = new V1.OpenPromise
        {
            PromiseId = p.PromiseId,
            PromisedAt = Time(p.PromisedAtTicks),
            MissedAt = Time(due.MissedAtTicks),
            Overdue = p.OverdueApplied,
        };
        if (p.MadeAtTicks != 0)
        {
            promise.MadeAt = Time(p.MadeAtTicks);
        }

        if (due.OverdueAtTicks is { } overdue)
        {
            promise.OverdueAt = Time(overdue);
        }

        return promise;
    }

    public static V1.TierPolicy ToTier(TierPolicy p) => new()
    {
        Name = p.Name,
        InitialExpectation = p.InitialExpectation,
        ExpectationFloor = p.ExpectationFloor,
        Baseline = p.Baseline,
        LossAversion = p.LossAversion,
        WaitTargetSeconds = p.WaitTargetSeconds,
        PromiseToleranceMinutes = p.PromiseToleranceMinutes,
        FrontLineCompensationLimit = p.FrontLineCompensationLimit,
        CompensationCap = p.CompensationCap,
        SeverityBoost = p.SeverityBoost,
        NeutralSatisfaction = p.NeutralSatisfaction,
        GainSensitivity = p.GainSensitivity,
        LearningRate = p.LearningRate,
        ExpectationRiseRate = p.ExpectationRiseRate,
        ExpectationFallRate = p.ExpectationFallRate,
        ExpectationCeiling = p.ExpectationCeiling,
        GoodMemoryHalfLifeDays = p.GoodMemoryHalfLifeDays,
        BadMemoryHalfLifeDays = p.BadMemoryHalfLifeDays,
        RecoveryHysteresis = p.RecoveryHysteresis,
        HighSlaHours = p.HighSlaHours,
        MediumSlaHours = p.MediumSlaHours,
        LowSlaHours = p.LowSlaHours,
        LowSeverityGap = p.LowSeverityGap,
        MediumSeverityGap = p.MediumSeverityGap,
        PromiseToleranceFraction = p.PromiseToleranceFraction,
        ReopenWindowDays = p.ReopenWindowDays,
        MaxOpenPromises = p.MaxOpenPromises,
        CsatWeight = p.CsatWeight,
        PromiseWeight = p.PromiseWeight,
        EffortWeight = p.EffortWeight,
        ResolutionWeight = p.ResolutionWeight,
        ConductWeight = p.ConductWeight,
        ComplaintWeight = p.ComplaintWeight,
        WaitWeight = p.WaitWeight,
        SentimentWeight = p.SentimentWeight,
        PromiseOverdueStep = p.PromiseOverdueStep,
        PromiseOverduePerformance = p.PromiseOverduePerformance,
    };

    /// <summary>
    /// A policy from the wire. Fields 1-10 are taken as given. A model constant that is set is taken as given,
    /// zero included (validation judges it); one left unset takes the value of the built-in tier of that name,
    /// or the SCORING.md default, so an upsert never resets a setting to a number nobody sent.
    /// </summary>
    public static TierPolicy FromTier(V1.TierPolicy t)
    {
        var d = TierPolicy.DefaultsFor(t.Name);
        return new TierPolicy
        {
            Name = t.Name,
            InitialExpectation = t.InitialExpectation,
            ExpectationFloor = t.ExpectationFloor,
            Baseline = t.Baseline,
            LossAversion = t.LossAversion,
            WaitTargetSeconds = t.WaitTargetSeconds,
            PromiseToleranceMinutes = t.PromiseToleranceMinutes,
            FrontLineCompensationLimit = t.FrontLineCompensationLimit,
            CompensationCap = t.CompensationCap,
            SeverityBoost = t.SeverityBoost,
            NeutralSatisfaction = t.HasNeutralSatisfaction ? t.NeutralSatisfaction : d.NeutralSatisfaction,
            GainSensitivity = t.HasGainSensitivity ? t.GainSensitivity : d.GainSensitivity,
            LearningRate = t.HasLearningRate ? t.LearningRate : d.LearningRate,
            ExpectationRiseRate = t.HasExpectationRiseRate ? t.ExpectationRiseRate : d.ExpectationRiseRate,
            ExpectationFallRate = t.HasExpectationFallRate ? t.ExpectationFallRate : d.ExpectationFallRate,
            ExpectationCeiling = t.HasExpectationCeiling ? t.ExpectationCeiling : d.ExpectationCeiling,
            GoodMemoryHalfLifeDays = t.HasGoodMemoryHalfLifeDays ? t.GoodMemoryHalfLifeDays : d.GoodMemoryHalfLifeDays,
            BadMemoryHalfLifeDays = t.HasBadMemoryHalfLifeDays ? t.BadMemoryHalfLifeDays : d.BadMemoryHalfLifeDays,
            RecoveryHysteresis = t.HasRecoveryHysteresis ? t.RecoveryHysteresis : d.RecoveryHysteresis,
            HighSlaHours = t.HasHighSlaHours ? t.HighSlaHours : d.HighSlaHours,
            MediumSlaHours = t.HasMediumSlaHours ? t.MediumSlaHours : d.MediumSlaHours,
            LowSlaHours = t.HasLowSlaHours ? t.LowSlaHours : d.LowSlaHours,
            LowSeverityGap = t.HasLowSeverityGap ? t.LowSeverityGap : d.LowSeverityGap,
            MediumSeverityGap = t.HasMediumSeverityGap ? t.MediumSeverityGap : d.MediumSeverityGap,
            PromiseToleranceFraction = t.HasPromiseToleranceFraction ? t.PromiseToleranceFraction : d.PromiseToleranceFraction,
            ReopenWindowDays = t.HasReopenWindowDays ? t.ReopenWindowDays : d.ReopenWindowDays,
            MaxOpenPromises = t.HasMaxOpenPromises ? t.MaxOpenPromises : d.MaxOpenPromises,
            CsatWeight = t.HasCsatWeight ? t.CsatWeight : d.CsatWeight,
            PromiseWeight = t.HasPromiseWeight ? t.PromiseWeight : d.PromiseWeight,
            EffortWeight = t.HasEffortWeight ? t.EffortWeight : d.EffortWeight,
            ResolutionWeight = t.HasResolutionWeight ? t.ResolutionWeight : d.ResolutionWeight,
            ConductWeight = t.HasConductWeight ? t.ConductWeight : d.ConductWeight,
            ComplaintWeight = t.HasComplaintWeight ? t.ComplaintWeight : d.ComplaintWeight,
            WaitWeight = t.HasWaitWeight ? t.WaitWeight : d.WaitWeight,
            SentimentWeight = t.HasSentimentWeight ? t.SentimentWeight : d.SentimentWeight,
            PromiseOverdueStep = t.HasPromiseOverdueStep ? t.PromiseOverdueStep : d.PromiseOverdueStep,
            PromiseOverduePerformance = t.HasPromiseOverduePerformance ? t.PromiseOverduePerformance : d.PromiseOverduePerformance,
        };
    }
}
