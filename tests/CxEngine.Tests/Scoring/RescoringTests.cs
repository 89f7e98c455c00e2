using CxEngine.Customers;
using CxEngine.Scoring;

namespace CxEngine.Tests.Scoring;

public sealed class RescoringTests
{
    /// <summary>A log as the engine writes it: each event's explanation computed under <paramref name="recordedUnder"/>.</summary>
    private static List<EventLogEntry> Log(TierPolicy recordedUnder, params double[] xs)
    {
        var state = ScoreState.Initial(recordedUnder);
        var log = new List<EventLogEntry>();
        for (var i = 0; i < xs.Length; i++)
        {
            var evt = Events.WithExperience(xs[i], Events.T0.AddDays(i));
            var result = ScoringStep.Apply(state, evt, recordedUnder, Severity.None);
            state = result.State;
            log.Add(new EventLogEntry(i + 1, $"e{i}", Events.T0, new LoggedEvent(evt, Channel.Phone, recordedUnder.Name, result.Explanation)));
        }

        return log;
    }

    [Fact]
    public void Replay_RecomputesEveryEventThroughTheStep_UnderTheNewPolicy_NotTheRecordedOne()
    {
        var recorded = TierPolicy.Standard;
        var candidate = TierPolicy.Standard with { LossAversion = 4, LearningRate = 0.5, Baseline = 70 };
        var log = Log(recorded, 90, 20, 55, 10, 80, 40);

        var fold = Rescoring.Replay(log, _ => candidate, candidate, Events.T0);

        var expected = ScoreState.Initial(candidate);
        var open = Severity.None;
        foreach (var entry in log)
        {
            var step = ScoringStep.Apply(expected, entry.Body.Event, candidate, open);
            expected = step.State;
            open = step.Recovery.Kind switch
            {
                RecoveryDecisionKind.Raise or RecoveryDecisionKind.Escalate => step.Recovery.Severity,
                RecoveryDecisionKind.Recover => Severity.None,
                _ => open,
            };
        }

        Assert.Equal(expected, fold.Score);
        Assert.Equal(open, fold.OpenSeverity);
        Assert.Equal(log.Count, fold.EventsReplayed);
        Assert.NotEqual(log[^1].Body.Explanation.ScoreAfter, fold.Score.Score);
    }

    [Fact]
    public void Replay_UnderTheRecordedPolicy_GivesBackExactlyWhatTheLogRecorded()
    {
        var log = Log(TierPolicy.Premium, 90, 20, 55, 10, 80, 40);
        var fold = Rescoring.Replay(log, _ => TierPolicy.Premium, TierPolicy.Premium, Events.T0);
        Assert.Equal(log[^1].Body.Explanation.ScoreAfter, fold.Score.Score);
        Assert.Equal(log[^1].Body.Explanation.ExpectationAfter, fold.Score.Expectation);
    }

    [Fact]
    public void Replay_OfALogWhoseOldestEntriesWereTrimmed_StartsFromTheStateRecordedBeforeTheOldestKept()
    {
        var log = Log(TierPolicy.Standard, 90, 20, 55, 10);
        var kept = log.Skip(2).ToList();
        var fold = Rescoring.Replay(kept, _ => TierPolicy.Standard, TierPolicy.Standard, Events.T0);

        var x = kept[0].Body.Explanation;
        var expected = new ScoreState(x.ScoreBefore, x.ExpectationBefore, 0);
        foreach (var entry in kept)
        {
            expected = ScoringStep.Apply(expected, entry.Body.Event, TierPolicy.Standard, Severity.None).State;
        }

        Assert.Equal(expected, fold.Score);
        Assert.Equal(2, fold.EventsReplayed);
    }

    [Fact]
    public void Replay_OfNoEvents_IsTheTiersInitialState()
    {
        var fold = Rescoring.Replay([], _ => TierPolicy.Basic, TierPolicy.Premium, Events.T0);
        Assert.Equal(ScoreState.Initial(TierPolicy.Premium), fold.Score);
        Assert.Equal(0, fold.EventsReplayed);
    }

    /// <summary>Open promises as the live path logs them: registered, kept late, and one the engine finds missed before a survey.</summary>
    private static CustomerEvent[] PromiseEvents()
    {
        var t0 = Events.T0;
        PromiseSignal Promise(string id, DateTime promised, long fulfilled = 0) =>
            new(promised.Ticks, fulfilled, 0) { PromiseId = id, MadeAtTicks = t0.Ticks };
        CustomerEvent Delivery(string id, DateTime at, PromiseSignal promise) =>
            new(id, Channel.Delivery, Events.At(at, new Signals { Promise = promise }, EventKind.Delivery));
        return
        [
            Delivery("r1", t0, Promise("p1", t0.AddDays(2))),
            Delivery("r2", t0.AddHours(1), Promise("p2", t0.AddDays(1))),
            Delivery("k1", t0.AddDays(2).AddHours(3), Promise("p1", t0.AddDays(2), t0.AddDays(2).AddHours(3).Ticks)),
            new("s1", Channel.Email, Events.Csat(2, t0.AddDays(10))),
            new("s2", Channel.Email, Events.Csat(1, t0.AddDays(11))),
        ];
    }

    /// <summary>What the live path does: every event through the customer model, its steps kept as log entries.</summary>
    private static (CustomerState State, List<EventLogEntry> Log) Live(TierPolicy policy, IEnumerable<CustomerEvent> events)
    {
        var state = new CustomerState();
        var log = new List<EventLogEntry>();
        foreach (var evt in events)
        {
            var result = CustomerModel.Apply(state, "c", evt, policy, Events.T0);
            state = result.State;
            log.AddRange(result.Steps.Select(step => new EventLogEntry(step.Position, step.EventId, Events.T0, step.Body)));
        }

        return (state, log);
    }

    [Fact]
    public void Replay_OfALogWithOpenPromises_GivesWhatTheLivePathGivesUnderTheNewPolicy_MissedPromisesIncluded()
    {
        var recorded = TierPolicy.Standard;
        var (_, log) = Live(recorded, PromiseEvents());
        Assert.Contains(log, e => e.EventId.StartsWith(PromiseSignal.MissedEventIdPrefix, StringComparison.Ordinal));

        // The deadlines stay where they were (same tolerance); what the steps are worth changes.
        var candidate = recorded with { Baseline = 72, LossAversion = 3.5, LearningRate = 0.45 };
        var (expected, _) = Live(candidate, PromiseEvents());
        var fold = Rescoring.Replay(log, _ => candidate, candidate, Events.T0, "c");

        Assert.Equal(expected.Score, fold.Score);
        Assert.Equal(expected.OpenAction?.Severity ?? Severity.None, fold.OpenSeverity);
        Assert.Equal(log.Count, fold.EventsReplayed);
        Assert.NotEqual(Live(recorded, PromiseEvents()).State.Score, fold.Score);
    }

    [Theory]
    [InlineData(Severity.None, Severity.None, Severity.Medium, RecoveryDecisionKind.Raise, Severity.Medium)]
    [InlineData(Severity.None, Severity.None, Severity.None, RecoveryDecisionKind.None, Severity.None)]
    [InlineData(Severity.Low, Severity.None, Severity.None, RecoveryDecisionKind.Recover, Severity.Low)]
    [InlineData(Severity.Low, Severity.None, Severity.High, RecoveryDecisionKind.Escalate, Severity.High)]
    [InlineData(Severity.High, Severity.None, Severity.Low, RecoveryDecisionKind.None, Severity.None)]
    [InlineData(Severity.None, Severity.Medium, Severity.Medium, RecoveryDecisionKind.None, Severity.None)]
    [InlineData(Severity.None, Severity.Medium, Severity.High, RecoveryDecisionKind.Raise, Severity.High)]
    public void Decide_ChangesTheLiveActionOnce_AtTheEndState(
        Severity liveOpen, Severity resolvedEpisode, Severity replayOpen, RecoveryDecisionKind kind, Severity severity)
    {
        Assert.Equal(new RecoveryDecision(kind, severity), Rescoring.Decide(liveOpen, resolvedEpisode, replayOpen));
    }
}
