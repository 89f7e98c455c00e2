using CxEngine.Policies;
using CxEngine.Scoring;

namespace CxEngine.Customers;

/// <summary>
/// The customer grain's re-score: replays the customer's log under the given policies inside one grain turn,
/// so an event arriving meanwhile is applied before it (and is in the replayed log) or after it (on top of
/// the re-scored state), never lost and never twice.
/// </summary>
[Alias("cx.ICustomerRescoring")]
public interface ICustomerRescoring : IGrainWithStringKey
{
    /// <summary>
    /// Replaces the customer's score, expectation and open action with what replaying its log under
    /// <paramref name="after"/> gives, with at most one action-log entry (its <paramref name="reason"/> as the
    /// note), in one commit with a snapshot. Null when the customer was never seen.
    /// </summary>
    [Alias("ApplyRescore")]
    Task<CustomerRescoreResult?> ApplyRescoreAsync(TierCatalog before, TierCatalog after, string reason);
}

/// <summary>What re-scoring one customer gives (or would give): the score before and after, and the action's change.</summary>
[GenerateSerializer, Immutable, Alias("cx.CustomerRescoreResult")]
public sealed record CustomerRescoreResult(
    [property: Id(0)] string CustomerId,
    [property: Id(1)] double ScoreBefore,
    [property: Id(2)] double ScoreAfter,
    [property: Id(3)] bool BelowBefore,
    [property: Id(4)] bool BelowAfter,
    [property: Id(5)] long EventsReplayed,
    [property: Id(6)] RecoveryDecisionKind ActionChange,
    [property: Id(7)] Severity ActionSeverity);
