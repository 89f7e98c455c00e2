using CxEngine.Scoring;

namespace CxEngine.Customers;

/// <summary>One customer's running expectation and satisfaction, keyed by the customer id.</summary>
[Alias("cx.ICustomerGrain")]
public interface ICustomerGrain : IGrainWithStringKey
{
    /// <summary>
    /// Applies a batch of events in order and stores the result once. Returns one outcome per event,
    /// in the same order, only after the one commit that holds everything they caused (log entries, the
    /// customer's row, action-log entries). If storage fails, the applied events come back as
    /// <see cref="EventStatus.Unavailable"/> and the grain's state is what storage holds. The caller must not change
    /// the list after the call (it is passed without a copy).
    /// </summary>
    [Alias("Apply")]
    Task<EventOutcomes> ApplyAsync([Immutable] IReadOnlyList<CustomerEvent> events);

    /// <summary>The current score, or null when the customer was never seen.</summary>
    [Alias("GetScore"), ReadOnly]
    Task<CustomerSnapshot?> GetScoreAsync();

    /// <summary>
    /// A page of the customer's event log as explained score changes, newest first, before a log position
    /// (0: from the newest); null when the customer was never seen.
    /// </summary>
    [Alias("GetHistory"), ReadOnly]
    Task<CustomerHistory?> GetHistoryAsync(int pageSize, long beforePosition);

    /// <summary>Moves the customer to another tier (creating the customer if it was never seen).</summary>
    [Alias("SetTier")]
    Task<CustomerSnapshot> SetTierAsync(string tier);

    /// <summary>
    /// A person (<paramref name="by"/>) took the open action on through an authenticated caller (<paramref name="via"/>).
    /// Throws <see cref="ActionNotFoundException"/> or <see cref="ActionTransitionException"/>.
    /// </summary>
    [Alias("Acknowledge")]
    Task<RecoveryActionRecord> AcknowledgeActionAsync(string actionId, string by, string via, string? note);

    /// <summary>A person finished the action; the outcome is recorded. Same arguments and exceptions as acknowledge.</summary>
    [Alias("Resolve")]
    Task<RecoveryActionRecord> ResolveActionAsync(string actionId, string by, string via, string? note, string? outcome);

    /// <summary>The action missed its due_by unacknowledged: escalate it and give it a new deadline. Idempotent.</summary>
    [Alias("MarkOverdue")]
    Task MarkOverdueAsync(string actionId);

    /// <summary>
    /// The engine's clock passed open-promise deadlines with no event: applies those promises as missed (SCORING.md
    /// "Promises"), each once, through the ordinary step, history and recovery rules. Returns how many. Idempotent.
    /// </summary>
    [Alias("ApplyDuePromises")]
    Task<int> ApplyDuePromisesAsync();

    /// <summary>
    /// Erases the customer (API.md, version 3): its event log, row and snapshot, its actions, and its entries in the
    /// action log (redacted; their sequences stay). The activation leaves memory; a later event starts a new customer.
    /// Null when storage holds nothing of the customer.
    /// </summary>
    [Alias("Erase")]
    Task<CustomerErasure?> EraseAsync();
}

/// <summary>What an erasure removed.</summary>
[GenerateSerializer, Immutable, Alias("cx.CustomerErasure")]
public sealed record CustomerErasure([property: Id(0)] long EventsErased, [property: Id(1)] long ActionsErased);

[GenerateSerializer, Immutable, Alias("cx.CustomerHistory")]
public sealed record CustomerHistory(
    [property: Id(0)] CustomerSnapshot Score,
    [property: Id(1)] IReadOnlyList<ScoreChangeRecord> Changes,
    [property: Id(2)] long? NextBeforePosition = null,
    [property: Id(3)] IReadOnlyList<OpenPromiseDue>? OpenPromises = null);

/// <summary>An open promise as a reader sees it: the promise, and when the engine acts on it by itself under the tier in force.</summary>
[GenerateSerializer, Immutable, Alias("cx.OpenPromiseDue")]
public sealed record OpenPromiseDue(
    [property: Id(0)] OpenPromise Promise,
    [property: Id(1)] long? OverdueAtTicks,
    [property: Id(2)] long MissedAtTicks);
