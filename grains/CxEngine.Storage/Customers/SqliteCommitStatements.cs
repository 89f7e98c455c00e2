using System.Runtime.CompilerServices;
using CxEngine.Customers;
using SQLitePCL;

namespace CxEngine.Storage;

/// <summary>
/// The commit's statements (<see cref="CommitSql"/>) on SQLite, run by <see cref="CustomerStore"/> one after another:
/// prepared once per connection handle and kept as long as the handle, bound by position, run synchronously on the
/// writer's thread (in process, a statement costs no round trip).
/// </summary>
internal sealed class SqliteCommitStatements
{
    private static readonly ConditionalWeakTable<sqlite3, SqliteCommitStatements> Prepared = [];

    private readonly SqliteStatement _insertEvent;
    private readonly SqliteStatement _isLogged;
    private readonly SqliteStatement _undoEvent;
    private readonly SqliteStatement _upsertCustomer;
    private readonly SqliteStatement _newestActionSequence;
    private readonly SqliteStatement _insertActionLog;
    private readonly SqliteStatement _upsertAction;

    private SqliteCommitStatements(sqlite3 db)
    {
        _insertEvent = new SqliteStatement(db, CommitSql.InsertEvent, "@c", "@p", "@e", "@t", "@b");
        _isLogged = new SqliteStatement(db, CommitSql.IsLogged, "@c", "@e");
        _undoEvent = new SqliteStatement(db, CommitSql.UndoEvent, "@c", "@p", "@e");
        _upsertCustomer = new SqliteStatement(db, CommitSql.UpsertCustomer,
            "@c", "@version", "@tier", "@score", "@expectation", "@events", "@last", "@action", "@snapshot_position", "@snapshot", "@t",
            "@promise_due");
        // One connection writes, so the transaction itself is the turn: the next sequences follow the newest.
        _newestActionSequence = new SqliteStatement(db, CommitSql.NewestActionSequence);
        _insertActionLog = new SqliteStatement(db, CommitSql.InsertActionLog,
            "@sequence", "@action_id", "@revision", "@customer_id", "@tier", "@severity", "@status", "@change", "@created_ticks", "@payload");
        _upsertAction = new SqliteStatement(db, CommitSql.UpsertAction,
            "@action_id", "@customer_id", "@tier", "@severity", "@status", "@overdue", "@due_ticks", "@updated_ticks", "@revision",
            "@sequence", "@payload");
    }

    public static SqliteCommitStatements For(sqlite3 db) => Prepared.GetValue(db, static h => new SqliteCommitStatements(h));

    /// <summary>Adds a log row; false when the customer's log already has the id or the position.</summary>
    public bool InsertEvent(string customerId, EventLogEntry entry, ReadOnlySpan<byte> payload) =>
        _insertEvent.Bind(1, customerId).Bind(2, entry.Position).Bind(3, entry.EventId).Bind(4, entry.AppliedAt.Ticks).Bind(5, payload)
            .Execute() == 1;

    public bool IsLogged(string customerId, string eventId) => _isLogged.Bind(1, customerId).Bind(2, eventId).ScalarInt64() is not null;

    /// <summary>Takes back a row this commit wrote: only one with its own position and id, never another writer's.</summary>
    public void UndoEvent(string customerId, EventLogEntry entry) =>
        _undoEvent.Bind(1, customerId).Bind(2, entry.Position).Bind(3, entry.EventId).Execute();

    /// <summary>The newest action-log sequence: this transaction's entries follow it (one writer, so in commit order).</summary>
    public long NewestActionSequence() => _newestActionSequence.ScalarInt64() ?? 0;

    /// <summary>
    /// Writes the customer's row if its version is still the one the grain read; false when another activation wrote it.
    /// An empty <paramref name="snapshot"/> keeps the stored one (the statement writes a snapshot only when given one).
    /// </summary>
    public bool UpsertCustomer(CustomerCommit commit, ReadOnlySpan<byte> snapshot, DateTime now)
    {
        var state = commit.State;
        return _upsertCustomer
            .Bind(1, commit.CustomerId).Bind(2, commit.ExpectedVersion + 1).Bind(3, state.Tier ?? "").Bind(4, state.Score.Score)
            .Bind(5, state.Score.Expectation).Bind(6, state.Position).Bind(7, state.Score.LastEventAtTicks).Bind(8, state.OpenAction?.ActionId)
            .Bind(9, state.Position).Bind(10, snapshot).Bind(11, now.Ticks).Bind(12, commit.PromiseDueTicks)
            .Execute() == 1;
    }

    /// <summary>An action-log entry (at its <see cref="RecoveryActionRecord.Sequence"/>) and the action's current state.</summary>
    public void AppendAction(RecoveryActionRecord entry, ReadOnlySpan<byte> payload, DateTime now)
    {
        _insertActionLog
            .Bind(1, entry.Sequence).Bind(2, entry.ActionId).Bind(3, (long)entry.Revision).Bind(4, entry.CustomerId).Bind(5, entry.Tier)
            .Bind(6, (long)entry.Severity).Bind(7, (long)entry.Status).Bind(8, (long)entry.Change).Bind(9, now.Ticks).Bind(10, payload)
            .Execute();
        _upsertAction
            .Bind(1, entry.ActionId).Bind(2, entry.CustomerId).Bind(3, entry.Tier).Bind(4, (long)entry.Severity)
            .Bind(5, (long)entry.Status).Bind(6, entry.Overdue ? 1L : 0L).Bind(7, entry.DueBy.Ticks).Bind(8, now.Ticks)
            .Bind(9, (long)entry.Revision).Bind(10, entry.Sequence).Bind(11, payload)
            .Execute();
    }
}
