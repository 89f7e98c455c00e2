using System.Collections.Immutable;
using CxEngine.Scoring;

namespace CxEngine.Customers;

/// <summary>
/// One applied event as the customer's event log keeps it: what arrived (time, kind, channel, signals,
/// the tier it was scored under) and what the engine computed from it (the explanation, and the action
/// change it caused). The log is the truth; a customer's state is a fold over it (<see cref="CustomerReplay"/>).
/// Its position, event id and arrival time are the row's key and columns, not part of this body.
/// </summary>
[GenerateSerializer, Immutable, Alias("cx.LoggedEvent")]
public sealed record LoggedEvent(
    [property: Id(0)] ScoringEvent Event,
    [property: Id(1)] Channel Channel,
    [property: Id(2)] string Tier,
    [property: Id(3)] ScoreExplanation Explanation,
    [property: Id(4)] LoggedActionChange? Action = null);

/// <summary>The recovery-action change an event caused: which action, which revision of it, and what happened.</summary>
[GenerateSerializer, Immutable, Alias("cx.LoggedActionChange")]
public sealed record LoggedActionChange(
    [property: Id(0)] string ActionId,
    [property: Id(1)] int Revision,
    [property: Id(2)] ActionChange Change);

/// <summary>A row of the event log: its position in the customer's log (1, 2, ...), id, arrival time and body.</summary>
[GenerateSerializer, Immutable, Alias("cx.EventLogEntry")]
public sealed record EventLogEntry(
    [property: Id(0)] long Position,
    [property: Id(1)] string EventId,
    [property: Id(2)] DateTime AppliedAt,
    [property: Id(3)] LoggedEvent Body)
{
    /// <summary>
    /// The entry as the read side explains it; with <paramref name="asReceived"/> also the event as it arrived and its tier,
    /// for a history that gives events back (not for the result of every event, which has no use for them).
    /// </summary>
    public ScoreChangeRecord ToChange(bool asReceived = false)
    {
        var x = Body.Explanation;
        return new ScoreChangeRecord(
            EventId, Body.Event.Kind, Body.Channel, Body.Event.OccurredAt,
            x.Experience, x.ExpectationBefore, x.Disconfirmation, x.EventSatisfaction,
            x.ScoreBefore, x.Decay, x.ScoreAfter, x.ExpectationAfter, AppliedAt)
        {
            Unscored = x.Unscored,
            Received = asReceived ? Body.Event : default,
            Tier = asReceived ? Body.Tier : "",
        };
    }
}

/// <summary>
/// A customer's snapshot: everything the log alone does not say (the open action and its lifecycle, the
/// episode a person resolved), plus the fold of the log up to <see cref="Position"/>. Small on purpose:
/// history and event ids live in the log, not here. Ids never move.
/// </summary>
// The alias is the type's earlier name, kept so that snapshots already stored read back.
[GenerateSerializer, Alias("cx.StoredCustomer")]
public sealed class CustomerState
{
    /// <summary>Null until the customer is first seen (an event or a tier assignment).</summary>
    [Id(0)] public string? Tier { get; set; }

    [Id(1)] public ScoreState Score { get; set; }

    /// <summary>The log position this state includes: the number of events applied.</summary>
    [Id(2)] public long Position { get; set; }

    [Id(3)] public RecoveryActionRecord? OpenAction { get; set; }

    /// <summary>How many actions this customer ever had; numbers the next action id.</summary>
    [Id(4)] public int ActionsRaised { get; set; }

    /// <summary>Severity of an episode whose action a person resolved while the customer is still below the line; None otherwise.</summary>
    [Id(5)] public Severity ResolvedEpisode { get; set; }

    /// <summary>Registered promises not yet kept, broken or missed, oldest first (SCORING.md "Promises").</summary>
    [Id(6)] public ImmutableArray<OpenPromise> OpenPromises { get; set; } = [];

    /// <summary>The latest promise ids that were scored, so a fulfilment after a missed promise scores nothing twice.</summary>
    [Id(7)] public ImmutableArray<string> ClosedPromises { get; set; } = [];

    /// <summary>The action that last closed as recovered, and the event time it closed at: a fall soon after reopens it.</summary>
    [Id(8)] public RecoveryActionRecord? LastRecovered { get; set; }

    [Id(9)] public long LastRecoveredAtTicks { get; set; }

    public bool Exists => Tier is not null;

    public CustomerState Copy() => (CustomerState)MemberwiseClone();
}

/// <summary>
/// Rebuilding a customer from its log: the pure fold that gives back, entry by entry, the state the engine
/// had. It restores what the engine computed (the entry's explanation), not what today's tier policy would
/// compute, so a policy changed since then does not change the past; only a re-score does that on purpose.
/// An entry's own state after it equals <see cref="ScoringStep.Apply"/> of the state before it, under the
/// policy of that day: that determinism is what makes the rebuild exact.
/// </summary>
public static class CustomerReplay
{
    public static ScoreState Apply(in ScoreState before, LoggedEvent entry) => new(
        entry.Explanation.ScoreAfter,
        entry.Explanation.ExpectationAfter,
        Math.Max(before.LastEventAtTicks, entry.Event.OccurredAtTicks));

    /// <summary>Applies the entries after the snapshot's position, in order, to the snapshot.</summary>
    public static void Replay(CustomerState customer, IEnumerable<EventLogEntry> entries)
    {
        foreach (var entry in entries)
        {
            if (entry.Position <= customer.Position)
            {
                continue;
            }

            if (entry.Position != customer.Position + 1)
            {
                throw new InvalidDataException(
                    $"the event log skips from position {customer.Position} to {entry.Position}: the log is incomplete");
            }

            customer.Score = Apply(customer.Score, entry.Body);
            customer.Tier = entry.Body.Tier;
            customer.Position = entry.Position;
        }
    }
}
