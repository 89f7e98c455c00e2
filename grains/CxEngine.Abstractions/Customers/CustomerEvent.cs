using CxEngine.Scoring;

namespace CxEngine.Customers;

/// <summary>A validated event on its way to a customer grain.</summary>
[GenerateSerializer, Immutable, Alias("cx.CustomerEvent")]
public sealed record CustomerEvent(
    [property: Id(0)] string EventId,
    [property: Id(1)] Channel Channel,
    [property: Id(2)] ScoringEvent Event,
    [property: Id(3)] string? Tier = null);

public enum EventStatus : byte
{
    Applied = 1,
    Duplicate = 2,
    Rejected = 3,
    Unavailable = 4,
}

/// <summary>
/// What became of one event: its status, the customer after it, why the score moved (the event's own log entry, the
/// record the commit wrote: not copied into another shape for every result), and any action it touched.
/// </summary>
[GenerateSerializer, Immutable, Alias("cx.EventOutcome")]
public sealed record EventOutcome(
    [property: Id(0)] string EventId,
    [property: Id(1)] EventStatus Status,
    [property: Id(2)] CustomerSnapshot? Score,
    [property: Id(7)] EventLogEntry? Entry = null,
    [property: Id(4)] RecoveryActionRecord? Action = null,
    [property: Id(5)] string? Error = null,
    [property: Id(6)] FieldError? Rejection = null)
{
    // Id 3 was the change as a ScoreChangeRecord, made for every result; the entry it was made from travels instead.

    /// <summary>Why the score moved, as the read side explains it (null unless applied).</summary>
    public ScoreChangeRecord? Change => Entry?.ToChange();

    /// <summary>What the client reads as the result's error: the field and problem of a rejection, or why it is unavailable.</summary>
    public string? Reason => Rejection?.ToString() ?? Error;
}

/// <summary>
/// A batch's outcomes, one per event in order. A sealed immutable type, so Orleans passes it back from the grain
/// as it is: as an <c>IReadOnlyList</c> (an interface) the copier looked up its runtime type and copied the array
/// twice per call, once in the runtime and once in the response.
/// </summary>
[GenerateSerializer, Immutable, Alias("cx.EventOutcomes")]
public sealed class EventOutcomes(EventOutcome[] items) : IReadOnlyList<EventOutcome>
{
    [Id(0)] private readonly EventOutcome[] _items = items;

    public EventOutcome this[int index] => _items[index];

    public int Count => _items.Length;

    public IEnumerator<EventOutcome> GetEnumerator() => ((IEnumerable<EventOutcome>)_items).GetEnumerator();

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => _items.GetEnumerator();
}

/// <summary>A customer's score as the read side sees it.</summary>
[GenerateSerializer, Immutable, Alias("cx.CustomerSnapshot")]
public sealed record CustomerSnapshot(
    [property: Id(0)] string CustomerId,
    [property: Id(1)] string Tier,
    [property: Id(2)] double Score,
    [property: Id(3)] double Expectation,
    [property: Id(4)] double Baseline,
    [property: Id(5)] long EventsApplied,
    [property: Id(6)] DateTime? LastEventAt,
    [property: Id(7)] RecoveryActionRecord? OpenAction)
{
    public bool BelowBaseline => Score < Baseline;
}

/// <summary>One entry of the explained history: which event moved the score, and how.</summary>
[GenerateSerializer, Immutable, Alias("cx.ScoreChangeRecord")]
public sealed record ScoreChangeRecord(
    [property: Id(0)] string EventId,
    [property: Id(1)] EventKind Kind,
    [property: Id(2)] Channel Channel,
    [property: Id(3)] DateTime OccurredAt,
    [property: Id(4)] double Experience,
    [property: Id(5)] double ExpectationBefore,
    [property: Id(6)] double Disconfirmation,
    [property: Id(7)] double EventSatisfaction,
    [property: Id(8)] double ScoreBefore,
    [property: Id(9)] double Decay,
    [property: Id(10)] double ScoreAfter,
    [property: Id(11)] double ExpectationAfter,
    [property: Id(12)] DateTime AppliedAt)
{
    /// <summary>The event only registered or updated open promises: nothing was scored.</summary>
    [Id(13)] public bool Unscored { get; init; }

    /// <summary>
    /// The event as it arrived (signals included), and the tier it was scored under: what an export gives back. Set in a
    /// history (<see cref="Customers.EventLogEntry.ToChange"/> with <c>asReceived</c>), not in an event's result.
    /// </summary>
    [Id(14)] public ScoringEvent Received { get; init; }

    [Id(15)] public string Tier { get; init; } = "";

    public double Delta => ScoreAfter - ScoreBefore;
}

/// <summary>What one entry of the action log records.</summary>
public enum ActionChange : byte
{
    Raised = 1,
    Escalated = 2,
    Acknowledged = 3,
    Resolved = 4,
    Recovered = 5,
    Overdue = 6,
    /// <summary>A fall within the tier's reopen window after a RECOVERED close: the same action is open again.</summary>
    Reopened = 7,
}

public enum ActionStatus : byte
{
    Open = 1,
    Escalated = 2,
    Acknowledged = 3,
    Resolved = 4,
    Recovered = 5,
}

/// <summary>A recovery action as it stands after a change.</summary>
[GenerateSerializer, Immutable, Alias("cx.RecoveryActionRecord")]
public sealed record RecoveryActionRecord
{
    [Id(0)] public required string ActionId { get; init; }
    [Id(1)] public long Sequence { get; init; }
    [Id(2)] public required string CustomerId { get; init; }
    [Id(3)] public required string Tier { get; init; }
    [Id(4)] public Severity Severity { get; init; }
    [Id(5)] public ActionStatus Status { get; init; }
    [Id(6)] public double Score { get; init; }
    [Id(7)] public double Expectation { get; init; }
    [Id(8)] public double Baseline { get; init; }
    [Id(9)] public required string TriggerEventId { get; init; }
    [Id(10)] public IReadOnlyList<ScoreChangeRecord> Reasons { get; init; } = [];
    [Id(11)] public IReadOnlyList<string> Steps { get; init; } = [];
    [Id(12)] public double SuggestedCompensation { get; init; }
    [Id(13)] public bool RequiresApproval { get; init; }
    [Id(14)] public DateTime DueBy { get; init; }
    [Id(15)] public DateTime RaisedAt { get; init; }
    [Id(16)] public DateTime UpdatedAt { get; init; }
    [Id(17)] public string? ClosedByEventId { get; init; }

    /// <summary>What the latest change was; a log entry is the action as it stood after that change.</summary>
    [Id(18)] public ActionChange Change { get; init; }

    /// <summary>1 when raised, one more for every change: (ActionId, Revision) names a log entry.</summary>
    [Id(19)] public int Revision { get; init; }

    [Id(20)] public bool Overdue { get; init; }

    [Id(21)] public string? AcknowledgedBy { get; init; }

    [Id(22)] public DateTime? AcknowledgedAt { get; init; }

    [Id(23)] public string? ResolvedBy { get; init; }

    [Id(24)] public DateTime? ResolvedAt { get; init; }

    [Id(25)] public string? ResolutionOutcome { get; init; }

    [Id(26)] public string? Note { get; init; }

    /// <summary>The authenticated caller that acknowledged (API key name, token subject, "local-operator"); AcknowledgedBy is the person.</summary>
    [Id(27)] public string? AcknowledgedVia { get; init; }

    /// <summary>The authenticated caller that resolved; ResolvedBy is the person.</summary>
    [Id(28)] public string? ResolvedVia { get; init; }

    public bool IsOpen => Status is ActionStatus.Open or ActionStatus.Escalated or ActionStatus.Acknowledged;

    /// <summary>The number of the action among its customer's actions, from its id "customer#n".</summary>
    public static bool TryParseId(string actionId, out string customerId, out int number)
    {
        var hash = actionId.LastIndexOf('#');
        customerId = hash > 0 ? actionId[..hash] : "";
        number = 0;
        return hash > 0 && int.TryParse(actionId.AsSpan(hash + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out number) && number > 0;
    }

    public static string FormatId(string customerId, int number) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{customerId}#{number}");
}
