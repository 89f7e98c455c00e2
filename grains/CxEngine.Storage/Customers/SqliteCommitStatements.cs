using System.Runtime.CompilerServices;
using CxEngine.Customers;
using SQLitePCL;

namespace CxEngine.Storage;

/// <summary>
/// The commit's statements (<see cref="CommitSql"/>) on SQLite: prepared once per connection handle and kept as long
/// as the handle, bound by position, run synchronously on the writer's thread (every method completes before it returns).
/// </summary>
internal sealed class SqliteCommitStatements : ICommitStatements
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
            "@c", "@tier", "@score", "@expectation", "@events", "@last", "@action", "@snapshot_position", "@snapshot", "@t",
            "@promise_due", "@has_snapshot", "@expected");
        // One connection writes, so the transaction itself is the turn: the next sequences follow the newest.
        _newestActionSequence = new SqliteStatement(db, CommitSql.NewestActionSequence);
        _insertActionLog = new SqliteStatement(db, CommitSql.InsertActionLog,
            "@sequence", "@action_id", "@revision", "@customer_id", "@tier", "@severity", "@status", "@change", "@created_ticks", "@payload");
        _upsertAction = new SqliteStatement(db, CommitSql.UpsertAction,
            "@action_id", "@customer_id", "@tier", "@severity", "@status", "@overdue", "@due_ticks", "@updated_ticks", "@revision",
            "@sequence", "@payload");
    }

    public static SqliteCommitStatements For(sqlite3 db) => Prepared.GetValue(db, static h => new SqliteCommitStatements(h));

    public ValueTask<bool> InsertEventAsync(string customerId, EventLogEntry entry, byte[] payload, CancellationToken cancellationToken) =>
        new(_insertEvent.Bind(1, customerId).Bind(2, entry.Position).Bind(3, entry.EventId).Bind(4, entry.AppliedAt.Ticks).Bind(5, payload)
            .Execute() == 1);

    public ValueTask<bool> IsLoggedAsync(string customerId, string eventId, CancellationToken cancellationToken) =>
        new(_isLogged.Bind(1, customerId).Bind(2, eventId).ScalarInt64() is not null);

    public ValueTask UndoEventAsync(string customerId, EventLogEntry entry, CancellationToken cancellationToken)
    {
        _undoEvent.Bind(1, customerId).Bind(2, entry.Position).Bind(3, entry.EventId).Execute();
        return ValueTask.CompletedTask;
    }

    public ValueTask<long> NewestActionSequenceAsync(CancellationToken cancellationToken) =>
        new(_newestActionSequence.ScalarInt64() ?? 0);

    public ValueTask<bool> UpsertCustomerAsync(CustomerCommit commit, byte[]? snapshot, DateTime now, CancellationToken cancellationToken)
    {
        var state = commit.State;
        return new(_upsertCustomer
            .Bind(1, commit.CustomerId).Bind(2, state.Tier ?? "").Bind(3, state.Score.Score).Bind(4, state.Score.Expectation)
            .Bind(5, state.Position).Bind(6, state.Score.LastEventAtTicks).Bind(7, state.OpenAction?.ActionId)
            .Bind(8, state.Position).Bind(9, snapshot ?? []).Bind(10, now.Ticks).Bind(11, commit.PromiseDueTicks)
            .Bind(12, commit.WriteSnapshot ? 1L : 0L).Bind(13, commit.ExpectedVersion)
            .Execute() == 1);
    }

    public ValueTask AppendActionAsync(RecoveryActionRecord entry, byte[] payload, DateTime now, CancellationToken cancellationToken)
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
        return ValueTask.CompletedTask;
    }
}
