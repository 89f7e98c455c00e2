namespace CxEngine.Scoring;

/// <summary>What kind of interaction an event is. A complaint is itself an experience signal.</summary>
public enum EventKind : byte
{
    Unspecified = 0,
    Contact = 1,
    Delivery = 2,
    Invoice = 3,
    Complaint = 4,
    Survey = 5,
    Recovery = 6,
}

/// <summary>Where the interaction happened; carried for the explanation, it does not change the score.</summary>
public enum Channel : byte
{
    Unspecified = 0,
    Phone = 1,
    Chat = 2,
    Email = 3,
    Social = 4,
    InPerson = 5,
    Delivery = 6,
    Billing = 7,
    SelfService = 8,
}

/// <summary>
/// A promise made to the customer. Times are UTC ticks; 0 means "not set". Without an id it is scored at
/// once (version 1); with an id and neither a fulfilment nor <see cref="Broken"/> it registers (or updates)
/// an open promise the engine watches (SCORING.md "Promises").
/// </summary>
[GenerateSerializer, Immutable, Alias("cx.PromiseSignal")]
public readonly record struct PromiseSignal(
    [property: Id(0)] long PromisedAtTicks,
    [property: Id(1)] long FulfilledAtTicks,
    [property: Id(2)] long NotifiedAtTicks)
{
    public const string MissedEventIdPrefix = "promise-missed:";

    /// <summary>The engine's own overdue step of an open promise (version 3): <c>promise-overdue:{promise_id}</c>.</summary>
    public const string OverdueEventIdPrefix = "promise-overdue:";

    [Id(3)] public string? PromiseId { get; init; }

    [Id(4)] public long MadeAtTicks { get; init; }

    [Id(5)] public bool Broken { get; init; }

    /// <summary>The engine's overdue step of an open promise (version 3): scored at the tier's overdue performance, the promise stays open.</summary>
    [Id(6)] public bool Overdue { get; init; }

    public bool IsFulfilled => FulfilledAtTicks != 0;

    public bool WasNotifiedInAdvance => NotifiedAtTicks != 0 && NotifiedAtTicks < PromisedAtTicks;

    /// <summary>An open promise being registered or updated: it carries an id and no outcome yet.</summary>
    public bool IsRegistration => PromiseId is not null && !IsFulfilled && !Broken && !Overdue;

    /// <summary>True for the ids of the steps the engine applies itself (missed and overdue promises), which clients may not use.</summary>
    public static bool IsEngineEventId(string eventId) => PromiseIdOfEngineEvent(eventId) is not null;

    /// <summary>The promise id of an engine step's event id (<see cref="IsEngineEventId"/>), or null for any other id.</summary>
    public static string? PromiseIdOfEngineEvent(string eventId) =>
        eventId.StartsWith(MissedEventIdPrefix, StringComparison.Ordinal) ? eventId[MissedEventIdPrefix.Length..]
        : eventId.StartsWith(OverdueEventIdPrefix, StringComparison.Ordinal) ? eventId[OverdueEventIdPrefix.Length..]
        : null;

    /// <summary>promised_at − made_at, or 0 when the promise does not say when it was made.</summary>
    public long LeadTicks => MadeAtTicks != 0 && PromisedAtTicks > MadeAtTicks ? PromisedAtTicks - MadeAtTicks : 0;
}

/// <summary>
/// The experience signals of one event, as plain values. A signal is present when its value is set;
/// conduct issues count only when at least one was observed, transfers only together with <see cref="Resolved"/>.
/// </summary>
[GenerateSerializer, Immutable, Alias("cx.Signals")]
public readonly record struct Signals
{
    [Id(0)] public int? Csat { get; init; }
    [Id(1)] public int? Effort { get; init; }
    [Id(2)] public bool? Resolved { get; init; }
    [Id(3)] public int Transfers { get; init; }
    [Id(4)] public double? WaitSeconds { get; init; }
    [Id(5)] public double? Sentiment { get; init; }
    [Id(6)] public PromiseSignal? Promise { get; init; }
    [Id(7)] public int ConductIssueCount { get; init; }

    /// <summary>
    /// Which conduct issues were observed, bit n for issue n of cx.v1's ConductIssue (1-15), so the log can give the
    /// event back as it arrived; 0 in entries logged before it was kept (only their count is known).
    /// </summary>
    [Id(8)] public ushort ConductIssueKinds { get; init; }
}

/// <summary>One interaction, as the scoring step sees it: event time, kind and signals, nothing else.</summary>
[GenerateSerializer, Immutable, Alias("cx.ScoringEvent")]
public readonly record struct ScoringEvent(
    [property: Id(0)] long OccurredAtTicks,
    [property: Id(1)] EventKind Kind,
    [property: Id(2)] Signals Signals)
{
    public DateTime OccurredAt => new(OccurredAtTicks, DateTimeKind.Utc);
}
