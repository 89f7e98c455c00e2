using CxEngine.Policies;
using CxEngine.Scoring;
using Orleans.Storage;
using Microsoft.Extensions.Logging;

namespace CxEngine.Customers;

/// <summary>
/// Re-score with apply: inside one grain turn (the grain is not reentrant, so no batch is half-applied around
/// it), the customer's log is replayed under the new policies and its score, expectation and open action
/// become the replay's, with at most one action-log entry at the end state, all in one commit with a snapshot.
/// The log rows keep what was computed when each event arrived; the snapshot at the current position is what
/// later rebuilds start from.
/// </summary>
public sealed partial class CustomerGrain : ICustomerRescoring
{
    // A commit that found another version (a write whose outcome an overloaded store reported late) has reloaded
    // the customer; the re-score is then computed again from what storage holds.
    private const int MaxRescoreAttempts = 3;

    public async Task<CustomerRescoreResult?> ApplyRescoreAsync(TierCatalog before, TierCatalog after, string reason)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await RescoreOnceAsync(before, after, reason);
            }
            catch (StorageUnavailableException ex) when (attempt < MaxRescoreAttempts && ex.InnerException is InconsistentStateException && !_stale)
            {
                LogRescoreRetried(logger, CustomerId, attempt);
            }
        }
    }

    private async Task<CustomerRescoreResult?> RescoreOnceAsync(TierCatalog before, TierCatalog after, string reason)
    {
        ThrowIfStale();
        if (!_state.Exists)
        {
            DeactivateOnIdle();
            return null;
        }

        var now = Now;
        var fold = await CustomerRescorer.ReplayAsync(journal, CustomerId, _state.Position, _state.Tier!, after, now);
        var result = CustomerRescorer.Summarize(CustomerId, _state, fold, before, after);
        var (next, change) = CustomerLifecycle.Rescored(_state, CustomerId, fold, after.FindOrDefault(_state.Tier), reason, now);
        _state = next;
        if (change is null)
        {
            await CommitLifecycleAsync([], "the customer was not re-scored");
        }
        else
        {
            await CommitActionChangeAsync(change, "the customer was not re-scored");
            LogRescoreAction(logger, change.ActionId, change.Change, result.ScoreBefore, result.ScoreAfter);
        }

        if (!_ingesting)
        {
            // Activated for the re-score alone (its snapshot is written): re-scoring a million customers does not
            // keep a million in memory until the collector's idle age passes.
            DeactivateOnIdle();
        }

        return result;
    }

    [LoggerMessage(EventId = 1021, Level = LogLevel.Warning, Message = "Re-score of customer {CustomerId} found another version of its row (attempt {Attempt}); computing it again from storage")]
    private static partial void LogRescoreRetried(ILogger logger, string customerId, int attempt);

    [LoggerMessage(EventId = 1020, Level = LogLevel.Information, Message = "Re-score: recovery action {ActionId} {Change} (score {Before:F1} -> {After:F1})")]
    private static partial void LogRescoreAction(ILogger logger, string actionId, ActionChange change, double before, double after);
}
