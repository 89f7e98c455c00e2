using CxEngine.Scoring;

namespace CxEngine.Customers;

/// <summary>What is persisted for one customer. Ids never move.</summary>
[GenerateSerializer, Alias("cx.CustomerState")]
public sealed class CustomerState
{
    /// <summary>Null until the customer is first seen (an event or a tier assignment).</summary>
    [Id(0)] public string? Tier { get; set; }

    [Id(1)] public ScoreState Score { get; set; }

    [Id(2)] public long EventsApplied { get; set; }

    [Id(3)] public RecoveryActionRecord? OpenAction { get; set; }

    /// <summary>How many actions this customer ever had; numbers the next action id.</summary>
    [Id(4)] public int ActionsRaised { get; set; }

    /// <summary>The last score changes, oldest first, at most the configured history length.</summary>
    [Id(5)] public List<ScoreChangeRecord> History { get; set; } = [];

    // Id 6 held the event ids themselves before they were kept as hashes; ids are never reused.

    /// <summary>64-bit hashes of the last applied event ids (a ring of at most the idempotency window).</summary>
    [Id(10)] public long[] RecentEventHashes { get; set; } = [];

    [Id(11)] public int RecentEventCount { get; set; }

    /// <summary>Where the next hash goes once the ring is full.</summary>
    [Id(12)] public int RecentEventNext { get; set; }

    /// <summary>
    /// Action-log entries written with this state but not yet appended to the log. Appended before the
    /// events that made them are acknowledged; if that fails they stay here and go at the next chance
    /// (the log ignores an entry it already holds).
    /// </summary>
    [Id(7)] public List<RecoveryActionRecord> Outbox { get; set; } = [];

    /// <summary>The at-risk index needs this customer's current standing.</summary>
    [Id(8)] public bool AtRiskDirty { get; set; }

    /// <summary>Severity of an episode whose action a person resolved while the customer is still below the line; None otherwise.</summary>
    [Id(9)] public Severity ResolvedEpisode { get; set; }

    public bool Exists => Tier is not null;
}
