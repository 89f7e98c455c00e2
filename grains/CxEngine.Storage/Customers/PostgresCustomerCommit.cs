using System.Runtime.CompilerServices;
using CxEngine.Customers;
using CxEngine.Recovery;
using Npgsql;
using NpgsqlTypes;

namespace CxEngine.Storage;

/// <summary>
/// A customer's commit on PostgreSQL in one round trip: one prepared statement (data-modifying CTEs over arrays) writes
/// the batch's log rows, the customer's row and its action-log entries, or nothing when an event id is already logged
/// or another activation wrote the customer. Where SQLite runs each statement in process, a statement here is a round
/// trip and a parse: the stepwise commit cost 3-5 of each per customer.
/// </summary>
/// <remarks>
/// The row upsert decides: it runs only when none of the batch's ids is logged, and only while the row's version is the
/// one the grain read (PostgreSQL re-checks that on the newest row version, after any concurrent writer commits). The
/// log rows and action entries are written only if it did. A log row can then only collide with one written by an
/// activation that also moved the version, which the upsert has already refused; should one collide all the same,
/// the unique index fails the statement, and with it the group commit, rather than the customer's consistency.
/// </remarks>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification =
    "The command belongs to the writer's connection and is kept as long as it; closing the connection releases its prepared statement.")]
internal sealed class PostgresCustomerCommit
{
    private const string Sql = """
        WITH logged AS (
            SELECT event_id FROM cx_events WHERE customer_id = @c AND event_id = ANY(@event_ids)
        ), customer AS (
        """ + " INSERT INTO " + CommitSql.CustomerColumns + """

            SELECT @c, 1, @tier, @score, @expectation, @events, @last, @action, @snapshot_position, @snapshot, @t, @promise_due
            WHERE NOT EXISTS (SELECT 1 FROM logged)
        """ + CommitSql.OnCustomerConflict + """

            RETURNING version
        ), events AS (
            INSERT INTO cx_events (customer_id, position, event_id, applied_ticks, payload)
            SELECT @c, e.position, e.event_id, e.applied_ticks, e.payload
            FROM unnest(@positions, @event_ids, @applied, @payloads) AS e(position, event_id, applied_ticks, payload)
            WHERE EXISTS (SELECT 1 FROM customer)
            RETURNING 1
        ), action_log AS (
        """ + " INSERT INTO " + CommitSql.ActionLogColumns + """

            SELECT a.sequence, a.action_id, a.revision, @c, a.tier, a.severity, a.status, a.change, @t, a.payload
            FROM unnest(@a_sequences, @a_ids, @a_revisions, @a_tiers, @a_severities, @a_statuses, @a_changes, @a_payloads)
                 AS a(sequence, action_id, revision, tier, severity, status, change, payload)
            WHERE EXISTS (SELECT 1 FROM customer)
            RETURNING 1
        ), actions AS (
        """ + " INSERT INTO " + CommitSql.ActionColumns + """

            SELECT DISTINCT ON (a.action_id) a.action_id, @c, a.tier, a.severity, a.status, a.overdue, a.due_ticks, @t, a.revision, a.sequence, a.payload
            FROM unnest(@a_sequences, @a_ids, @a_revisions, @a_tiers, @a_severities, @a_statuses, @a_overdue, @a_due, @a_payloads)
                 AS a(sequence, action_id, revision, tier, severity, status, overdue, due_ticks, payload)
            WHERE EXISTS (SELECT 1 FROM customer)
            ORDER BY a.action_id, a.revision DESC
        """ + CommitSql.OnActionConflict + """

            RETURNING 1
        )
        SELECT (SELECT version FROM customer), ARRAY(SELECT event_id FROM logged),
               (SELECT count(*) FROM events), (SELECT count(*) FROM action_log)
        """;

    private static readonly ConditionalWeakTable<NpgsqlConnection, PostgresCustomerCommit> PreparedByConnection = [];
    private static readonly ConditionalWeakTable<object, SequenceRange> RangeByTransaction = [];

    private readonly NpgsqlCommand _command;
    private readonly NpgsqlParameter<string> _customer = new("c", NpgsqlDbType.Varchar);
    private readonly NpgsqlParameter<string> _tier = new("tier", NpgsqlDbType.Varchar);
    private readonly NpgsqlParameter<double> _score = new("score", NpgsqlDbType.Double);
    private readonly NpgsqlParameter<double> _expectation = new("expectation", NpgsqlDbType.Double);
    private readonly NpgsqlParameter<long> _events = new("events", NpgsqlDbType.Bigint);
    private readonly NpgsqlParameter<long> _last = new("last", NpgsqlDbType.Bigint);
    private readonly NpgsqlParameter _action = new("action", NpgsqlDbType.Varchar);
    private readonly NpgsqlParameter<long> _snapshotPosition = new("snapshot_position", NpgsqlDbType.Bigint);
    private readonly NpgsqlParameter<byte[]> _snapshot = new("snapshot", NpgsqlDbType.Bytea);
    private readonly NpgsqlParameter<int> _hasSnapshot = new("has_snapshot", NpgsqlDbType.Integer);
    private readonly NpgsqlParameter<long> _now = new("t", NpgsqlDbType.Bigint);
    private readonly NpgsqlParameter<long> _expected = new("expected", NpgsqlDbType.Bigint);
    private readonly NpgsqlParameter _promiseDue = new("promise_due", NpgsqlDbType.Bigint);
    private readonly NpgsqlParameter<long[]> _positions = new("positions", NpgsqlDbType.Array | NpgsqlDbType.Bigint);
    private readonly NpgsqlParameter<string[]> _eventIds = new("event_ids", NpgsqlDbType.Array | NpgsqlDbType.Varchar);
    private readonly NpgsqlParameter<long[]> _applied = new("applied", NpgsqlDbType.Array | NpgsqlDbType.Bigint);
    private readonly NpgsqlParameter<byte[][]> _payloads = new("payloads", NpgsqlDbType.Array | NpgsqlDbType.Bytea);
    private readonly NpgsqlParameter<long[]> _aSequences = new("a_sequences", NpgsqlDbType.Array | NpgsqlDbType.Bigint);
    private readonly NpgsqlParameter<string[]> _aIds = new("a_ids", NpgsqlDbType.Array | NpgsqlDbType.Varchar);
    private readonly NpgsqlParameter<int[]> _aRevisions = new("a_revisions", NpgsqlDbType.Array | NpgsqlDbType.Integer);
    private readonly NpgsqlParameter<string[]> _aTiers = new("a_tiers", NpgsqlDbType.Array | NpgsqlDbType.Varchar);
    private readonly NpgsqlParameter<int[]> _aSeverities = new("a_severities", NpgsqlDbType.Array | NpgsqlDbType.Integer);
    private readonly NpgsqlParameter<int[]> _aStatuses = new("a_statuses", NpgsqlDbType.Array | NpgsqlDbType.Integer);
    private readonly NpgsqlParameter<int[]> _aChanges = new("a_changes", NpgsqlDbType.Array | NpgsqlDbType.Integer);
    private readonly NpgsqlParameter<int[]> _aOverdue = new("a_overdue", NpgsqlDbType.Array | NpgsqlDbType.Integer);
    private readonly NpgsqlParameter<long[]> _aDue = new("a_due", NpgsqlDbType.Array | NpgsqlDbType.Bigint);
    private readonly NpgsqlParameter<byte[][]> _aPayloads = new("a_payloads", NpgsqlDbType.Array | NpgsqlDbType.Bytea);

    private PostgresCustomerCommit(NpgsqlConnection connection)
    {
        _command = new NpgsqlCommand(Sql, connection);
        _command.Parameters.AddRange(new NpgsqlParameter[]
        {
            _customer, _tier, _score, _expectation, _events, _last, _action, _snapshotPosition, _snapshot, _hasSnapshot, _now,
            _expected, _promiseDue, _positions, _eventIds, _applied, _payloads, _aSequences, _aIds, _aRevisions, _aTiers,
            _aSeverities, _aStatuses, _aChanges, _aOverdue, _aDue, _aPayloads,
        });
    }

    /// <summary>The statement for the writer's connection, prepared on its first use and kept as long as the connection.</summary>
    public static PostgresCustomerCommit For(NpgsqlConnection connection) =>
        PreparedByConnection.GetValue(connection, static c => new PostgresCustomerCommit(c));

    /// <summary>
    /// The first of <paramref name="count"/> consecutive action-log sequences in this transaction's range
    /// (<see cref="ActionSequences"/>). The range's start is read once per transaction; later commits of the same group
    /// draw after what the earlier ones drew, without a round trip. A commit that then writes nothing leaves a gap,
    /// which readers never wait for (sequences increase; they need not be consecutive).
    /// </summary>
    public static async ValueTask<long> DrawSequencesAsync(NpgsqlTransaction transaction, int count, CancellationToken cancellationToken)
    {
        // Keyed by the writer's identity of the transaction, not by the NpgsqlTransaction: Npgsql reuses that object
        // for the connection's next transaction, whose range is another.
        var key = GroupCommitWriter.CurrentTransaction
            ?? throw new InvalidOperationException("action-log sequences are drawn only inside the group-commit writer's transaction");
        if (!RangeByTransaction.TryGetValue(key, out var range))
        {
            await using var command = new NpgsqlCommand(ActionSequences.PostgresTransactionRangeStart, transaction.Connection, transaction);
            var first = (long)(await command.ExecuteScalarAsync(cancellationToken))!;
            range = new SequenceRange { Next = first, End = first + ActionSequences.PerTransaction };
            RangeByTransaction.AddOrUpdate(key, range);
        }

        if (range.Next + count > range.End)
        {
            // Past the range a later transaction owns: readers could pass it before it commits. Fails this group
            // commit (its events are answered UNAVAILABLE and retried) rather than the feed's order.
            throw new InvalidOperationException(
                $"one transaction drew more than {ActionSequences.PerTransaction} action-log sequences; the group commit is retried smaller");
        }

        var drawn = range.Next;
        range.Next += count;
        return drawn;
    }

    /// <summary>Writes the commit; the outcome says whether it was written, which ids were already logged, or neither (another activation).</summary>
    public async Task<(bool Written, string[] Logged)> WriteAsync(
        NpgsqlTransaction transaction, CustomerCommit commit, byte[][] events, byte[]? snapshot,
        RecoveryActionRecord[] actions, byte[][] actionPayloads, DateTime now, CancellationToken cancellationToken)
    {
        var state = commit.State;
        _customer.TypedValue = commit.CustomerId;
        _tier.TypedValue = state.Tier ?? "";
        _score.TypedValue = state.Score.Score;
        _expectation.TypedValue = state.Score.Expectation;
        _events.TypedValue = state.Position;
        _last.TypedValue = state.Score.LastEventAtTicks;
        _action.Value = (object?)state.OpenAction?.ActionId ?? DBNull.Value;
        _snapshotPosition.TypedValue = state.Position;
        _snapshot.TypedValue = snapshot ?? [];
        _hasSnapshot.TypedValue = commit.WriteSnapshot ? 1 : 0;
        _now.TypedValue = now.Ticks;
        _expected.TypedValue = commit.ExpectedVersion;
        _promiseDue.Value = commit.PromiseDueTicks is { } due ? due : DBNull.Value;

        var entries = commit.Events;
        var positions = new long[entries.Count];
        var ids = new string[entries.Count];
        var applied = new long[entries.Count];
        for (var i = 0; i < entries.Count; i++)
        {
            positions[i] = entries[i].Position;
            ids[i] = entries[i].EventId;
            applied[i] = entries[i].AppliedAt.Ticks;
        }

        _positions.TypedValue = positions;
        _eventIds.TypedValue = ids;
        _applied.TypedValue = applied;
        _payloads.TypedValue = events;
        BindActions(actions, actionPayloads);

        _command.Transaction = transaction;
        if (!_command.IsPrepared)
        {
            await _command.PrepareAsync(cancellationToken);
        }

        await using var reader = await _command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        var written = !await reader.IsDBNullAsync(0, cancellationToken);
        var logged = reader.GetFieldValue<string[]>(1);
        if (written && (reader.GetInt64(2) != entries.Count || reader.GetInt64(3) != actions.Length))
        {
            throw new InvalidOperationException(
                $"customer {commit.CustomerId}'s commit wrote its row but not all of its {entries.Count} log rows and {actions.Length} action entries");
        }

        return (written, logged);
    }

    private void BindActions(RecoveryActionRecord[] actions, byte[][] payloads)
    {
        var n = actions.Length;
        if (n == 0)
        {
            // Most commits change no action: bind the shared empty arrays rather than ten new ones.
            (_aSequences.TypedValue, _aIds.TypedValue, _aRevisions.TypedValue, _aTiers.TypedValue, _aSeverities.TypedValue) = ([], [], [], [], []);
            (_aStatuses.TypedValue, _aChanges.TypedValue, _aOverdue.TypedValue, _aDue.TypedValue, _aPayloads.TypedValue) = ([], [], [], [], []);
            return;
        }

        var sequences = new long[n];
        var ids = new string[n];
        var revisions = new int[n];
        var tiers = new string[n];
        var severities = new int[n];
        var statuses = new int[n];
        var changes = new int[n];
        var overdue = new int[n];
        var due = new long[n];
        for (var i = 0; i < n; i++)
        {
            var a = actions[i];
            sequences[i] = a.Sequence;
            ids[i] = a.ActionId;
            revisions[i] = a.Revision;
            tiers[i] = a.Tier;
            severities[i] = (int)a.Severity;
            statuses[i] = (int)a.Status;
            changes[i] = (int)a.Change;
            overdue[i] = a.Overdue ? 1 : 0;
            due[i] = a.DueBy.Ticks;
        }

        _aSequences.TypedValue = sequences;
        _aIds.TypedValue = ids;
        _aRevisions.TypedValue = revisions;
        _aTiers.TypedValue = tiers;
        _aSeverities.TypedValue = severities;
        _aStatuses.TypedValue = statuses;
        _aChanges.TypedValue = changes;
        _aOverdue.TypedValue = overdue;
        _aDue.TypedValue = due;
        _aPayloads.TypedValue = payloads;
    }

    private sealed class SequenceRange
    {
        public long Next;
        public long End;
    }
}
