using CxEngine.Customers;

namespace CxEngine.Storage;

/// <summary>
/// A customer's journal as its grain and the re-score replay use it, and nothing more: rebuild (the snapshot and the log
/// after it), commit a batch (log entries, row, action entries: one commit), read the log either way, erase. Lists across
/// customers, retention and the promise index are the store's other side (<see cref="CustomerStore"/>), which no grain
/// reaches. Customers are named by key (<see cref="Tenants"/>).
/// </summary>
public interface ICustomerJournal
{
    /// <summary>The customer's snapshot and every log entry after it: what rebuilding it takes.</summary>
    Task<LoadedCustomer> LoadAsync(string customerId);

    /// <summary>
    /// Writes a batch in one commit and completes after it. Throws <see cref="DuplicateEventsException"/> (nothing
    /// written), <see cref="Orleans.Storage.InconsistentStateException"/> (another activation wrote the customer), or
    /// <see cref="StorageUnavailableException"/>.
    /// </summary>
    Task<CommitResult> CommitAsync(CustomerCommit commit, DateTime now);

    /// <summary>A page of the log, newest first, before a position (exclusive).</summary>
    Task<IReadOnlyList<EventLogEntry>> ReadBackwardsAsync(string customerId, long beforePosition, int limit, CancellationToken cancellationToken = default);

    /// <summary>A page of the log, oldest first, after a position (exclusive) and up to another (inclusive).</summary>
    Task<IReadOnlyList<EventLogEntry>> ReadForwardAsync(string customerId, long afterPosition, long upToPosition, int limit, CancellationToken cancellationToken = default);

    /// <summary>Erases the customer: log, row, actions, and its action-log entries redacted. Null when nothing was stored.</summary>
    Task<CustomerErasure?> EraseAsync(string customerId);
}
