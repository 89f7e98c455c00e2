using System.Data;
using System.Data.Common;
using System.Runtime.CompilerServices;
using CxEngine.Customers;
using CxEngine.Recovery;

namespace CxEngine.Storage;

/// <summary>
/// The statements of a customer's commit, run inside the writer's transaction: its log rows, its row, its action-log
/// entries. <see cref="CustomerStore"/> runs them in one order for every database; this says how each is written.
/// SQLite's (<see cref="SqliteCommitStatements"/>) complete synchronously on the writer's thread.
/// </summary>
internal interface ICommitStatements
{
    /// <summary>Adds a log row; false when the customer's log already has the id (or, on PostgreSQL, the position).</summary>
    ValueTask<bool> InsertEventAsync(string customerId, EventLogEntry entry, byte[] payload, CancellationToken cancellationToken);

    ValueTask<bool> IsLoggedAsync(string customerId, string eventId, CancellationToken cancellationToken);

    /// <summary>Takes back a row this commit wrote: only one with its own position and id, never another writer's.</summary>
    ValueTask UndoEventAsync(string customerId, EventLogEntry entry, CancellationToken cancellationToken);

    /// <summary>The newest action-log sequence, read so that this transaction's entries follow it in commit order.</summary>
    ValueTask<long> NewestActionSequenceAsync(CancellationToken cancellationToken);

    /// <summary>Writes the customer's row if its version is still the one the grain read; false when another activation wrote it.</summary>
    ValueTask<bool> UpsertCustomerAsync(CustomerCommit commit, byte[]? snapshot, DateTime now, CancellationToken cancellationToken);

    /// <summary>An action-log entry (at its <see cref="RecoveryActionRecord.Sequence"/>) and the action's current state.</summary>
    ValueTask AppendActionAsync(RecoveryActionRecord entry, byte[] payload, DateTime now, CancellationToken cancellationToken);
}

/// <summary>
/// The commit's SQL, one text per statement for both databases. Parameters are named in the order the SQLite
/// implementation binds them by position (SQLite numbers named parameters by first appearance; it checks the names
/// when it prepares).
/// </summary>
internal static class CommitSql
{
    public const string InsertEvent = """
        INSERT INTO cx_events (customer_id, position, event_id, applied_ticks, payload)
        VALUES (@c, @p, @e, @t, @b) ON CONFLICT DO NOTHING
        """;

    public const string IsLogged = "SELECT 1 FROM cx_events WHERE customer_id = @c AND event_id = @e";

    public const string UndoEvent = "DELETE FROM cx_events WHERE customer_id = @c AND position = @p AND event_id = @e";

    // The version check makes every commit optimistic: a second activation of the same customer (after a
    // partition, say) cannot interleave its writes with this one's; its commit finds another version and fails.
    public const string UpsertCustomer = """
        INSERT INTO cx_customers (customer_id, version, tier, score, expectation, events_applied, last_event_ticks, open_action_id,
                                  snapshot_position, snapshot, updated_ticks, promise_due_ticks)
        VALUES (@c, 1, @tier, @score, @expectation, @events, @last, @action, @snapshot_position, @snapshot, @t, @promise_due)
        ON CONFLICT (customer_id) DO UPDATE SET
            version = cx_customers.version + 1, tier = excluded.tier, score = excluded.score, expectation = excluded.expectation,
            events_applied = excluded.events_applied, last_event_ticks = excluded.last_event_ticks, open_action_id = excluded.open_action_id,
            snapshot_position = CASE WHEN @has_snapshot = 1 THEN excluded.snapshot_position ELSE cx_customers.snapshot_position END,
            snapshot = CASE WHEN @has_snapshot = 1 THEN excluded.snapshot ELSE cx_customers.snapshot END,
            updated_ticks = excluded.updated_ticks, promise_due_ticks = excluded.promise_due_ticks
        WHERE cx_customers.version = @expected
        """;

    public const string NewestActionSequence = "SELECT COALESCE(MAX(sequence), 0) FROM cx_action_log";

    public const string InsertActionLog = """
        INSERT INTO cx_action_log (sequence, action_id, revision, customer_id, tier, severity, status, change, created_ticks, payload)
        VALUES (@sequence, @action_id, @revision, @customer_id, @tier, @severity, @status, @change, @created_ticks, @payload)
        """;

    public const string UpsertAction = """
        INSERT INTO cx_actions (action_id, customer_id, tier, severity, status, overdue, due_ticks, updated_ticks, revision, last_sequence, payload)
        VALUES (@action_id, @customer_id, @tier, @severity, @status, @overdue, @due_ticks, @updated_ticks, @revision, @sequence, @payload)
        ON CONFLICT (action_id) DO UPDATE SET
            tier = excluded.tier, severity = excluded.severity, status = excluded.status, overdue = excluded.overdue,
            due_ticks = excluded.due_ticks, updated_ticks = excluded.updated_ticks, revision = excluded.revision,
            last_sequence = excluded.last_sequence, payload = excluded.payload
        WHERE cx_actions.revision < excluded.revision
        """;
}

/// <summary>The commit's statements on PostgreSQL, through ADO.NET (Npgsql), the hot two prepared once per connection.</summary>
internal sealed class PostgresCommitStatements(DbConnection connection, DbTransaction transaction) : ICommitStatements
{
    private static readonly ConditionalWeakTable<DbConnection, Prepared> PreparedByConnection = [];

    private readonly Prepared _prepared = PreparedByConnection.GetValue(connection, static c => new Prepared(c));

    // The end of this transaction's sequence range, once it drew from it.
    private long _rangeEnd;

    public async ValueTask<bool> InsertEventAsync(string customerId, EventLogEntry entry, byte[] payload, CancellationToken cancellationToken)
    {
        var insert = _prepared.InsertEvent;
        insert.Transaction = transaction;
        insert.Parameters["@c"].Value = customerId;
        insert.Parameters["@p"].Value = entry.Position;
        insert.Parameters["@e"].Value = entry.EventId;
        insert.Parameters["@t"].Value = entry.AppliedAt.Ticks;
        insert.Parameters["@b"].Value = payload;
        return await insert.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    public async ValueTask<bool> IsLoggedAsync(string customerId, string eventId, CancellationToken cancellationToken)
    {
        await using var command = Command(CommitSql.IsLogged);
        command.AddParameter("c", customerId, DbType.String);
        command.AddParameter("e", eventId, DbType.String);
        return await command.ExecuteScalarAsync(cancellationToken) is not null and not DBNull;
    }

    public async ValueTask UndoEventAsync(string customerId, EventLogEntry entry, CancellationToken cancellationToken)
    {
        await using var command = Command(CommitSql.UndoEvent);
        command.AddParameter("c", customerId, DbType.String);
        command.AddParameter("p", entry.Position, DbType.Int64);
        command.AddParameter("e", entry.EventId, DbType.String);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// On PostgreSQL every transaction draws from a range of its own (<see cref="ActionSequences"/>): no lock, no wait for
    /// another transaction, on this silo or another. The newest sequence already drawn in the range is read back (this
    /// transaction sees its own rows; each commit of a group gets a new statements object, so nothing is kept between them).
    /// </summary>
    public async ValueTask<long> NewestActionSequenceAsync(CancellationToken cancellationToken)
    {
        await using var command = Command(ActionSequences.PostgresNewestInTransaction);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        var newest = reader.GetInt64(0);
        _rangeEnd = reader.GetInt64(1);
        return newest;
    }

    public async ValueTask<bool> UpsertCustomerAsync(CustomerCommit commit, byte[]? snapshot, DateTime now, CancellationToken cancellationToken)
    {
        var state = commit.State;
        var upsert = _prepared.UpsertCustomer;
        upsert.Transaction = transaction;
        upsert.Parameters["@c"].Value = commit.CustomerId;
        upsert.Parameters["@tier"].Value = state.Tier ?? "";
        upsert.Parameters["@score"].Value = state.Score.Score;
        upsert.Parameters["@expectation"].Value = state.Score.Expectation;
        upsert.Parameters["@events"].Value = state.Position;
        upsert.Parameters["@last"].Value = state.Score.LastEventAtTicks;
        upsert.Parameters["@action"].Value = (object?)state.OpenAction?.ActionId ?? DBNull.Value;
        upsert.Parameters["@snapshot_position"].Value = state.Position;
        upsert.Parameters["@snapshot"].Value = snapshot ?? [];
        upsert.Parameters["@has_snapshot"].Value = commit.WriteSnapshot ? 1 : 0;
        upsert.Parameters["@t"].Value = now.Ticks;
        upsert.Parameters["@expected"].Value = commit.ExpectedVersion;
        upsert.Parameters["@promise_due"].Value = commit.PromiseDueTicks is { } due ? due : DBNull.Value;
        return await upsert.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    public async ValueTask AppendActionAsync(RecoveryActionRecord entry, byte[] payload, DateTime now, CancellationToken cancellationToken)
    {
        var sequence = entry.Sequence;
        if (sequence >= _rangeEnd)
        {
            // Past the range a later transaction owns: readers could pass it before it commits. Fails this group
            // commit (its events are answered UNAVAILABLE and retried) rather than the feed's order.
            throw new InvalidOperationException(
                $"one transaction drew more than {ActionSequences.PerTransaction} action-log sequences; the group commit is retried smaller");
        }

        await connection.ExecuteAsync(transaction, CommitSql.InsertActionLog, cancellationToken,
            ("sequence", sequence), ("action_id", entry.ActionId), ("revision", entry.Revision), ("customer_id", entry.CustomerId),
            ("tier", entry.Tier), ("severity", (int)entry.Severity), ("status", (int)entry.Status), ("change", (int)entry.Change),
            ("created_ticks", now.Ticks), ("payload", payload));
        await connection.ExecuteAsync(transaction, CommitSql.UpsertAction, cancellationToken,
            ("action_id", entry.ActionId), ("customer_id", entry.CustomerId), ("tier", entry.Tier), ("severity", (int)entry.Severity),
            ("status", (int)entry.Status), ("overdue", entry.Overdue ? 1 : 0), ("due_ticks", entry.DueBy.Ticks), ("updated_ticks", now.Ticks),
            ("revision", entry.Revision), ("sequence", sequence), ("payload", payload));
    }

    private DbCommand Command(string sql)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        return command;
    }

    /// <summary>The writer's connection lives long: its two hot statements are prepared once and only rebound.</summary>
    private sealed class Prepared
    {
        public Prepared(DbConnection connection)
        {
            InsertEvent = connection.CreateCommand();
            InsertEvent.CommandText = CommitSql.InsertEvent;
            InsertEvent.AddParameter("c", "", DbType.String);
            InsertEvent.AddParameter("p", 0L, DbType.Int64);
            InsertEvent.AddParameter("e", "", DbType.String);
            InsertEvent.AddParameter("t", 0L, DbType.Int64);
            InsertEvent.AddParameter("b", Array.Empty<byte>(), DbType.Binary);

            UpsertCustomer = connection.CreateCommand();
            UpsertCustomer.CommandText = CommitSql.UpsertCustomer;
            UpsertCustomer.AddParameter("c", "", DbType.String);
            UpsertCustomer.AddParameter("tier", "", DbType.String);
            UpsertCustomer.AddParameter("score", 0d, DbType.Double);
            UpsertCustomer.AddParameter("expectation", 0d, DbType.Double);
            UpsertCustomer.AddParameter("events", 0L, DbType.Int64);
            UpsertCustomer.AddParameter("last", 0L, DbType.Int64);
            UpsertCustomer.AddParameter("action", DBNull.Value, DbType.String);
            UpsertCustomer.AddParameter("snapshot_position", 0L, DbType.Int64);
            UpsertCustomer.AddParameter("snapshot", Array.Empty<byte>(), DbType.Binary);
            UpsertCustomer.AddParameter("has_snapshot", 0, DbType.Int32);
            UpsertCustomer.AddParameter("t", 0L, DbType.Int64);
            UpsertCustomer.AddParameter("expected", 0L, DbType.Int64);
            UpsertCustomer.AddParameter("promise_due", DBNull.Value, DbType.Int64);
        }

        public DbCommand InsertEvent { get; }

        public DbCommand UpsertCustomer { get; }
    }
}
