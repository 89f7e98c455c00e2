using System.Runtime.CompilerServices;
using CxEngine.Customers;
using CxEngine.Recovery;
using Npgsql;
using NpgsqlTypes;

namespace CxEngine.Storage;

/// <summary>A customer's commit as the statement takes it: its serialised log rows and snapshot, its actions with their sequences.</summary>
internal readonly record struct PostgresCommit(
    CustomerCommit Commit, byte[][] Events, byte[]? Snapshot, RecoveryActionRecord[] Actions, byte[][] ActionPayloads, DateTime Now);

/// <summary>
/// Customers' commits on PostgreSQL in one round trip: one prepared statement (data-modifying CTEs over arrays) writes,
/// for every customer of the group commit at once, the batch's log rows, the customer's row and its action-log entries,
/// or nothing of a customer when one of its event ids is already logged or another activation wrote it. Where SQLite
/// runs each statement in process, a statement here is a round trip and a parse, and PostgreSQL's per-statement work
/// (planning, the executor's start, the CTEs' scans) is paid once for the group instead of once per customer.
/// </summary>
/// <remarks>
/// The row upsert decides, customer by customer: a row is written only when none of its batch's ids is logged, and only
/// over the version the grain read (PostgreSQL re-checks that on the newest row version, after any concurrent writer
/// commits). Log rows and action entries are written only for customers whose row was. A log row can then only
/// collide with one written by an activation that also moved the version, which the upsert has already refused;
/// should one collide all the same, the unique index fails the statement, and with it the group commit, rather than a
/// customer's consistency. A customer appears at most once per statement (an upsert cannot touch a row twice):
/// a second commit of the same customer in one group goes to a second statement. Rows are upserted in customer-id
/// order, so two silos' group commits lock shared customers in the same order.
/// </remarks>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification =
    "The command belongs to the writer's connection and is kept as long as it; closing the connection releases its prepared statement.")]
internal sealed class PostgresCustomerCommit
{
    private const string Sql = """
        WITH logged AS (
            SELECT e.customer_id, e.event_id
            FROM unnest(@e_customers, @event_ids) AS b(customer_id, event_id)
            JOIN cx_events e ON e.customer_id = b.customer_id AND e.event_id = b.event_id
        ), customer AS (
        """ + " INSERT INTO " + CommitSql.CustomerColumns + """

            SELECT i.customer_id, i.version, i.tier, i.score, i.expectation, i.events_applied, i.last_event_ticks, i.open_action_id,
                   i.snapshot_position, i.snapshot, i.updated_ticks, i.promise_due_ticks
            FROM unnest(@c, @versions, @tiers, @scores, @expectations, @events, @last, @actions, @snapshot_positions, @snapshots,
                        @updated, @promise_due)
                 AS i(customer_id, version, tier, score, expectation, events_applied, last_event_ticks, open_action_id,
                      snapshot_position, snapshot, updated_ticks, promise_due_ticks)
            WHERE NOT EXISTS (SELECT 1 FROM logged l WHERE l.customer_id = i.customer_id)
            ORDER BY i.customer_id
        """ + CommitSql.OnCustomerConflict + """

            RETURNING customer_id
        ), events AS (
            INSERT INTO cx_events (customer_id, position, event_id, applied_ticks, payload)
            SELECT e.customer_id, e.position, e.event_id, e.applied_ticks, e.payload
            FROM unnest(@e_customers, @positions, @event_ids, @applied, @payloads) AS e(customer_id, position, event_id, applied_ticks, payload)
            WHERE e.customer_id IN (SELECT customer_id FROM customer)
            RETURNING 1
        ), action_log AS (
        """ + " INSERT INTO " + CommitSql.ActionLogColumns + """

            SELECT a.sequence, a.action_id, a.revision, a.customer_id, a.tier, a.severity, a.status, a.change, a.created, a.payload
            FROM unnest(@a_sequences, @a_ids, @a_revisions, @a_customers, @a_tiers, @a_severities, @a_statuses, @a_changes, @a_created, @a_payloads)
                 AS a(sequence, action_id, revision, customer_id, tier, severity, status, change, created, payload)
            WHERE a.customer_id IN (SELECT customer_id FROM customer)
            RETURNING 1
        ), actions AS (
        """ + " INSERT INTO " + CommitSql.ActionColumns + """

            SELECT DISTINCT ON (a.action_id) a.action_id, a.customer_id, a.tier, a.severity, a.status, a.overdue, a.due_ticks, a.created,
                   a.revision, a.sequence, a.payload
            FROM unnest(@a_sequences, @a_ids, @a_revisions, @a_customers, @a_tiers, @a_severities, @a_statuses, @a_overdue, @a_due,
                        @a_created, @a_payloads)
                 AS a(sequence, action_id, revision, customer_id, tier, severity, status, overdue, due_ticks, created, payload)
            WHERE a.customer_id IN (SELECT customer_id FROM customer)
            ORDER BY a.action_id, a.revision DESC
        """ + CommitSql.OnActionConflict + """

            RETURNING 1
        )
        SELECT ARRAY(SELECT customer_id FROM customer), ARRAY(SELECT customer_id FROM logged), ARRAY(SELECT event_id FROM logged),
               (SELECT count(*) FROM events), (SELECT count(*) FROM action_log)
        """;

    private static readonly ConditionalWeakTable<NpgsqlConnection, PostgresCustomerCommit> PreparedByConnection = [];
    private static readonly ConditionalWeakTable<object, SequenceRange> RangeByTransaction = [];

    private readonly NpgsqlCommand _command;

    // One element per customer.
    private readonly NpgsqlParameter<string[]> _customers = Array<string>("c", NpgsqlDbType.Varchar);
    private readonly NpgsqlParameter<long[]> _versions = Array<long>("versions", NpgsqlDbType.Bigint);
    private readonly NpgsqlParameter<string[]> _tiers = Array<string>("tiers", NpgsqlDbType.Varchar);
    private readonly NpgsqlParameter<double[]> _scores = Array<double>("scores", NpgsqlDbType.Double);
    private readonly NpgsqlParameter<double[]> _expectations = Array<double>("expectations", NpgsqlDbType.Double);
    private readonly NpgsqlParameter<long[]> _eventsApplied = Array<long>("events", NpgsqlDbType.Bigint);
    private readonly NpgsqlParameter<long[]> _last = Array<long>("last", NpgsqlDbType.Bigint);
    private readonly NpgsqlParameter<string?[]> _openActions = Array<string?>("actions", NpgsqlDbType.Varchar);
    private readonly NpgsqlParameter<long[]> _snapshotPositions = Array<long>("snapshot_positions", NpgsqlDbType.Bigint);
    private readonly NpgsqlParameter<byte[][]> _snapshots = Array<byte[]>("snapshots", NpgsqlDbType.Bytea);
    private readonly NpgsqlParameter<long[]> _updated = Array<long>("updated", NpgsqlDbType.Bigint);
    private readonly NpgsqlParameter<long?[]> _promiseDue = Array<long?>("promise_due", NpgsqlDbType.Bigint);

    // One element per log row.
    private readonly NpgsqlParameter<string[]> _eCustomers = Array<string>("e_customers", NpgsqlDbType.Varchar);
    private readonly NpgsqlParameter<long[]> _positions = Array<long>("positions", NpgsqlDbType.Bigint);
    private readonly NpgsqlParameter<string[]> _eventIds = Array<string>("event_ids", NpgsqlDbType.Varchar);
    private readonly NpgsqlParameter<long[]> _applied = Array<long>("applied", NpgsqlDbType.Bigint);
    private readonly NpgsqlParameter<byte[][]> _payloads = Array<byte[]>("payloads", NpgsqlDbType.Bytea);

    // One element per action-log entry.
    private readonly NpgsqlParameter<long[]> _aSequences = Array<long>("a_sequences", NpgsqlDbType.Bigint);
    private readonly NpgsqlParameter<string[]> _aIds = Array<string>("a_ids", NpgsqlDbType.Varchar);
    private readonly NpgsqlParameter<int[]> _aRevisions = Array<int>("a_revisions", NpgsqlDbType.Integer);
    private readonly NpgsqlParameter<string[]> _aCustomers = Array<string>("a_customers", NpgsqlDbType.Varchar);
    private readonly NpgsqlParameter<string[]> _aTiers = Array<string>("a_tiers", NpgsqlDbType.Varchar);
    private readonly NpgsqlParameter<int[]> _aSeverities = Array<int>("a_severities", NpgsqlDbType.Integer);
    private readonly NpgsqlParameter<int[]> _aStatuses = Array<int>("a_statuses", NpgsqlDbType.Integer);
    private readonly NpgsqlParameter<int[]> _aChanges = Array<int>("a_changes", NpgsqlDbType.Integer);
    private readonly NpgsqlParameter<int[]> _aOverdue = Array<int>("a_overdue", NpgsqlDbType.Integer);
    private readonly NpgsqlParameter<long[]> _aDue = Array<long>("a_due", NpgsqlDbType.Bigint);
    private readonly NpgsqlParameter<long[]> _aCreated = Array<long>("a_created", NpgsqlDbType.Bigint);
    private readonly NpgsqlParameter<byte[][]> _aPayloads = Array<byte[]>("a_payloads", NpgsqlDbType.Bytea);

    private PostgresCustomerCommit(NpgsqlConnection connection)
    {
        _command = new NpgsqlCommand(Sql, connection);
        _command.Parameters.AddRange(new NpgsqlParameter[]
        {
            _customers, _versions, _tiers, _scores, _expectations, _eventsApplied, _last, _openActions, _snapshotPositions, _snapshots,
            _updated, _promiseDue, _eCustomers, _positions, _eventIds, _applied, _payloads, _aSequences, _aIds, _aRevisions,
            _aCustomers, _aTiers, _aSeverities, _aStatuses, _aChanges, _aOverdue, _aDue, _aCreated, _aPayloads,
        });
    }

    private static NpgsqlParameter<T[]> Array<T>(string name, NpgsqlDbType type) => new(name, NpgsqlDbType.Array | type);

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

    /// <summary>
    /// Writes the commits, as many statements as the most commits one customer has here (nearly always one), and puts
    /// each one's outcome at its index in <paramref name="outcomes"/>: written; not written because ids of its batch
    /// are already logged (those ids); or neither (another activation wrote the customer).
    /// </summary>
    public async Task WriteAsync(
        NpgsqlTransaction transaction, PostgresCommit[] commits, (bool Written, string[] Logged)[] outcomes, CancellationToken cancellationToken)
    {
        // The n-th commit of a customer here goes to the n-th statement.
        var rounds = new List<List<int>>(1);
        var seen = new Dictionary<string, int>(commits.Length, StringComparer.Ordinal);
        for (var i = 0; i < commits.Length; i++)
        {
            var customer = commits[i].Commit.CustomerId;
            var n = seen[customer] = seen.GetValueOrDefault(customer, -1) + 1;
            if (n == rounds.Count)
            {
                rounds.Add([]);
            }

            rounds[n].Add(i);
        }

        foreach (var round in rounds)
        {
            await WriteRoundAsync(transaction, commits, round, outcomes, cancellationToken);
        }
    }

    /// <summary>One statement for commits of distinct customers.</summary>
    private async Task WriteRoundAsync(
        NpgsqlTransaction transaction, PostgresCommit[] commits, List<int> round, (bool Written, string[] Logged)[] outcomes,
        CancellationToken cancellationToken)
    {
        Bind(commits, round);
        _command.Transaction = transaction;
        if (!_command.IsPrepared)
        {
            await _command.PrepareAsync(cancellationToken);
        }

        string[] written, loggedCustomers, loggedIds;
        long eventsWritten, actionsWritten;
        await using (var reader = await _command.ExecuteReaderAsync(cancellationToken))
        {
            await reader.ReadAsync(cancellationToken);
            written = reader.GetFieldValue<string[]>(0);
            loggedCustomers = reader.GetFieldValue<string[]>(1);
            loggedIds = reader.GetFieldValue<string[]>(2);
            eventsWritten = reader.GetInt64(3);
            actionsWritten = reader.GetInt64(4);
        }

        var writtenSet = written.Length == 0 ? null : new HashSet<string>(written, StringComparer.Ordinal);
        long eventsExpected = 0, actionsExpected = 0;
        foreach (var i in round)
        {
            var c = commits[i];
            var customer = c.Commit.CustomerId;
            if (writtenSet?.Contains(customer) == true)
            {
                outcomes[i] = (true, []);
                eventsExpected += c.Events.Length;
                actionsExpected += c.Actions.Length;
                continue;
            }

            List<string>? logged = null;
            for (var k = 0; k < loggedCustomers.Length; k++)
            {
                if (loggedCustomers[k] == customer)
                {
                    (logged ??= []).Add(loggedIds[k]);
                }
            }

            outcomes[i] = (false, logged is null ? [] : [.. logged]);
        }

        if (eventsWritten != eventsExpected || actionsWritten != actionsExpected)
        {
            throw new InvalidOperationException(
                $"a group commit wrote {written.Length} customers' rows but {eventsWritten} of their {eventsExpected} log rows and {actionsWritten} of their {actionsExpected} action entries");
        }
    }

    private void Bind(PostgresCommit[] commits, List<int> round)
    {
        var n = round.Count;
        int events = 0, actions = 0;
        foreach (var i in round)
        {
            events += commits[i].Events.Length;
            actions += commits[i].Actions.Length;
        }

        var customers = new string[n];
        var versions = new long[n];
        var tiers = new string[n];
        var scores = new double[n];
        var expectations = new double[n];
        var applied = new long[n];
        var last = new long[n];
        var open = new string?[n];
        var snapshotPositions = new long[n];
        var snapshots = new byte[n][];
        var updated = new long[n];
        var promiseDue = new long?[n];
        var eCustomers = new string[events];
        var positions = new long[events];
        var eventIds = new string[events];
        var appliedTicks = new long[events];
        var payloads = new byte[events][];
        var e = 0;
        for (var k = 0; k < n; k++)
        {
            var c = commits[round[k]];
            var commit = c.Commit;
            var state = commit.State;
            customers[k] = commit.CustomerId;
            versions[k] = commit.ExpectedVersion + 1;
            tiers[k] = state.Tier ?? "";
            scores[k] = state.Score.Score;
            expectations[k] = state.Score.Expectation;
            applied[k] = state.Position;
            last[k] = state.Score.LastEventAtTicks;
            open[k] = state.OpenAction?.ActionId;
            snapshotPositions[k] = state.Position;
            snapshots[k] = c.Snapshot ?? [];
            updated[k] = c.Now.Ticks;
            promiseDue[k] = commit.PromiseDueTicks;
            for (var j = 0; j < c.Events.Length; j++, e++)
            {
                var entry = commit.Events[j];
                eCustomers[e] = commit.CustomerId;
                positions[e] = entry.Position;
                eventIds[e] = entry.EventId;
                appliedTicks[e] = entry.AppliedAt.Ticks;
                payloads[e] = c.Events[j];
            }
        }

        (_customers.TypedValue, _versions.TypedValue, _tiers.TypedValue, _scores.TypedValue, _expectations.TypedValue) =
            (customers, versions, tiers, scores, expectations);
        (_eventsApplied.TypedValue, _last.TypedValue, _openActions.TypedValue, _snapshotPositions.TypedValue, _snapshots.TypedValue) =
            (applied, last, open, snapshotPositions, snapshots);
        (_updated.TypedValue, _promiseDue.TypedValue) = (updated, promiseDue);
        (_eCustomers.TypedValue, _positions.TypedValue, _eventIds.TypedValue, _applied.TypedValue, _payloads.TypedValue) =
            (eCustomers, positions, eventIds, appliedTicks, payloads);
        BindActions(commits, round, actions);
    }

    private void BindActions(PostgresCommit[] commits, List<int> round, int n)
    {
        if (n == 0)
        {
            // Most group commits of a quiet moment change no action: bind shared empty arrays rather than twelve new ones.
            (_aSequences.TypedValue, _aIds.TypedValue, _aRevisions.TypedValue, _aCustomers.TypedValue, _aTiers.TypedValue, _aSeverities.TypedValue) =
                ([], [], [], [], [], []);
            (_aStatuses.TypedValue, _aChanges.TypedValue, _aOverdue.TypedValue, _aDue.TypedValue, _aCreated.TypedValue, _aPayloads.TypedValue) =
                ([], [], [], [], [], []);
            return;
        }

        var sequences = new long[n];
        var ids = new string[n];
        var revisions = new int[n];
        var customers = new string[n];
        var tiers = new string[n];
        var severities = new int[n];
        var statuses = new int[n];
        var changes = new int[n];
        var overdue = new int[n];
        var due = new long[n];
        var created = new long[n];
        var payloads = new byte[n][];
        var i = 0;
        foreach (var index in round)
        {
            var c = commits[index];
            for (var j = 0; j < c.Actions.Length; j++, i++)
            {
                var a = c.Actions[j];
                sequences[i] = a.Sequence;
                ids[i] = a.ActionId;
                revisions[i] = a.Revision;
                customers[i] = c.Commit.CustomerId;
                tiers[i] = a.Tier;
                severities[i] = (int)a.Severity;
                statuses[i] = (int)a.Status;
                changes[i] = (int)a.Change;
                overdue[i] = a.Overdue ? 1 : 0;
                due[i] = a.DueBy.Ticks;
                created[i] = c.Now.Ticks;
                payloads[i] = c.ActionPayloads[j];
            }
        }

        (_aSequences.TypedValue, _aIds.TypedValue, _aRevisions.TypedValue, _aCustomers.TypedValue, _aTiers.TypedValue, _aSeverities.TypedValue) =
            (sequences, ids, revisions, customers, tiers, severities);
        (_aStatuses.TypedValue, _aChanges.TypedValue, _aOverdue.TypedValue, _aDue.TypedValue, _aCreated.TypedValue, _aPayloads.TypedValue) =
            (statuses, changes, overdue, due, created, payloads);
    }

    private sealed class SequenceRange
    {
        public long Next;
        public long End;
    }
}
