using System.Runtime.CompilerServices;
using SQLitePCL;

namespace CxEngine.Storage;

/// <summary>
/// The statements of a customer's commit on SQLite (its log rows, its row, its action-log entries), prepared
/// once per connection handle and kept as long as the handle. The same SQL as the provider-neutral path in
/// <see cref="CustomerStore"/> and <see cref="Recovery.RecoveryStore"/>, with positional parameters.
/// </summary>
internal sealed class SqliteCommitStatements
{
    private static readonly ConditionalWeakTable<sqlite3, SqliteCommitStatements> Prepared = [];

    private SqliteCommitStatements(sqlite3 db)
    {
        InsertEvent = new SqliteStatement(db, """
            INSERT INTO cx_events (customer_id, position, event_id, applied_ticks, payload)
            VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING
            """);
        IsLogged = new SqliteStatement(db, "SELECT 1 FROM cx_events WHERE customer_id = ?1 AND event_id = ?2");
        UndoEvent = new SqliteStatement(db, "DELETE FROM cx_events WHERE customer_id = ?1 AND position = ?2 AND event_id = ?3");
        // ?12 says whether this commit carries a snapshot; ?13 is the version the grain read (the optimistic check).
        UpsertCustomer = new SqliteStatement(db, """
            INSERT INTO cx_customers (customer_id, version, tier, score, expectation, events_applied, last_event_ticks, open_action_id,
                                      snapshot_position, snapshot, updated_ticks, promise_due_ticks)
            VALUES (?1, 1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
            ON CONFLICT (customer_id) DO UPDATE SET
                version = cx_customers.version + 1, tier = excluded.tier, score = excluded.score, expectation = excluded.expectation,
                events_applied = excluded.events_applied, last_event_ticks = excluded.last_event_ticks, open_action_id = excluded.open_action_id,
                snapshot_position = CASE WHEN ?12 = 1 THEN excluded.snapshot_position ELSE cx_customers.snapshot_position END,
                snapshot = CASE WHEN ?12 = 1 THEN excluded.snapshot ELSE cx_customers.snapshot END,
                updated_ticks = excluded.updated_ticks, promise_due_ticks = excluded.promise_due_ticks
            WHERE cx_customers.version = ?13
            """);
        MaxActionSequence = new SqliteStatement(db, "SELECT COALESCE(MAX(sequence), 0) FROM cx_action_log");
        InsertActionLog = new SqliteStatement(db, """
            INSERT INTO cx_action_log (sequence, action_id, revision, customer_id, tier, severity, status, change, created_ticks, payload)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
            """);
        UpsertAction = new SqliteStatement(db, """
            INSERT INTO cx_actions (action_id, customer_id, tier, severity, status, overdue, due_ticks, updated_ticks, revision, last_sequence, payload)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
            ON CONFLICT (action_id) DO UPDATE SET
                tier = excluded.tier, severity = excluded.severity, status = excluded.status, overdue = excluded.overdue,
                due_ticks = excluded.due_ticks, updated_ticks = excluded.updated_ticks, revision = excluded.revision,
                last_sequence = excluded.last_sequence, payload = excluded.payload
            WHERE cx_actions.revision < excluded.revision
            """);
    }

    public static SqliteCommitStatements For(sqlite3 db) => Prepared.GetValue(db, static h => new SqliteCommitStatements(h));

    /// <summary>?1 customer, ?2 position, ?3 event id, ?4 applied ticks, ?5 payload; changes 0 rows when the id or position is taken.</summary>
    public SqliteStatement InsertEvent { get; }

    public SqliteStatement IsLogged { get; }

    public SqliteStatement UndoEvent { get; }

    public SqliteStatement UpsertCustomer { get; }

    /// <summary>On SQLite one connection writes, so the transaction itself is the turn: the next sequences follow the newest.</summary>
    public SqliteStatement MaxActionSequence { get; }

    public SqliteStatement InsertActionLog { get; }

    public SqliteStatement UpsertAction { get; }
}
