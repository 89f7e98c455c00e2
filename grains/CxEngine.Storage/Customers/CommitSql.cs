namespace CxEngine.Storage;

/// <summary>
/// The commit's SQL. SQLite runs one text per statement (<see cref="SqliteCommitStatements"/>); parameters are named in
/// the order they are bound by position (SQLite numbers named parameters by first appearance; it checks the names when
/// it prepares). PostgreSQL writes the same rows in one statement (<see cref="PostgresCustomerCommit"/>) built from the
/// same columns and conflict rules.
/// </summary>
internal static class CommitSql
{
    public const string InsertEvent = """
        INSERT INTO cx_events (customer_id, position, event_id, applied_ticks, payload)
        VALUES (@c, @p, @e, @t, @b) ON CONFLICT DO NOTHING
        """;

    public const string IsLogged = "SELECT 1 FROM cx_events WHERE customer_id = @c AND event_id = @e";

    public const string UndoEvent = "DELETE FROM cx_events WHERE customer_id = @c AND position = @p AND event_id = @e";

    /// <summary>The customer row's columns, in the order both databases' statements give them.</summary>
    public const string CustomerColumns = """
        cx_customers (customer_id, version, tier, score, expectation, events_applied, last_event_ticks, open_action_id,
                      snapshot_position, snapshot, updated_ticks, promise_due_ticks)
        """;

    // The version check makes every commit optimistic: a second activation of the same customer (after a
    // partition, say) cannot interleave its writes with this one's; its commit finds another version and fails.
    // The row carries the version it moves to (the one the grain read, plus one); the update applies only over the
    // one before it. The snapshot columns change only when the commit writes one (a snapshot that is not empty).
    // Everything is read from the row, not from parameters, so that one statement can write many customers' rows.
    public const string OnCustomerConflict = """

        ON CONFLICT (customer_id) DO UPDATE SET
            version = excluded.version, tier = excluded.tier, score = excluded.score, expectation = excluded.expectation,
            events_applied = excluded.events_applied, last_event_ticks = excluded.last_event_ticks, open_action_id = excluded.open_action_id,
            snapshot_position = CASE WHEN length(excluded.snapshot) > 0 THEN excluded.snapshot_position ELSE cx_customers.snapshot_position END,
            snapshot = CASE WHEN length(excluded.snapshot) > 0 THEN excluded.snapshot ELSE cx_customers.snapshot END,
            updated_ticks = excluded.updated_ticks, promise_due_ticks = excluded.promise_due_ticks
        WHERE cx_customers.version = excluded.version - 1
        """;

    public const string UpsertCustomer = "INSERT INTO " + CustomerColumns + """

        VALUES (@c, @version, @tier, @score, @expectation, @events, @last, @action, @snapshot_position, @snapshot, @t, @promise_due)
        """ + OnCustomerConflict;

    public const string NewestActionSequence = "SELECT COALESCE(MAX(sequence), 0) FROM cx_action_log";

    public const string ActionLogColumns = "cx_action_log (sequence, action_id, revision, customer_id, tier, severity, status, change, created_ticks, payload)";

    public const string InsertActionLog = "INSERT INTO " + ActionLogColumns + """

        VALUES (@sequence, @action_id, @revision, @customer_id, @tier, @severity, @status, @change, @created_ticks, @payload)
        """;

    public const string ActionColumns =
        "cx_actions (action_id, customer_id, tier, severity, status, overdue, due_ticks, updated_ticks, revision, last_sequence, payload)";

    // An action's row only moves forward: an older revision arriving late never overwrites a newer one.
    public const string OnActionConflict = """

        ON CONFLICT (action_id) DO UPDATE SET
            tier = excluded.tier, severity = excluded.severity, status = excluded.status, overdue = excluded.overdue,
            due_ticks = excluded.due_ticks, updated_ticks = excluded.updated_ticks, revision = excluded.revision,
            last_sequence = excluded.last_sequence, payload = excluded.payload
        WHERE cx_actions.revision < excluded.revision
        """;

    public const string UpsertAction = "INSERT INTO " + ActionColumns + """

        VALUES (@action_id, @customer_id, @tier, @severity, @status, @overdue, @due_ticks, @updated_ticks, @revision, @sequence, @payload)
        """ + OnActionConflict;
}
