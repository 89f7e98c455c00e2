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

        var fold = Rescoring.Replay(log, _ => candidate, candidate);

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
        var fold = Rescoring.Replay(log, _ => TierPolicy.Premium, TierPolicy.Premium);
        Assert.Equal(log[^1].Body.Explanation.ScoreAfter, fold.Score.Score);
        Assert.Equal(log[^1].Body.Explanation.ExpectationAfter, fold.Score.Expectation);
    }

    [Fact]
    public void Replay_OfALogWhoseOldestEntriesWereTrimmed_StartsFromTheStateRecordedBeforeTheOldestKept()
    {
        var log = Log(TierPolicy.Standard, 90, 20, 55, 10);
        var kept = log.Skip(2).ToList();
        var fold = Rescoring.Replay(kept, _ => TierPolicy.Standard, TierPolicy.Standard);

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
        var fold = Rescoring.Replay([], _ => TierPolicy.Basic, TierPolicy.Premium);
        Assert.Equal(ScoreState.Initial(TierPolicy.Premium), fold.Score);
        Assert.Equal(0, fold.EventsReplayed);
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
