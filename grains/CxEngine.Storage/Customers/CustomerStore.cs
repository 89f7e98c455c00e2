using System.Buffers;
using System.Data;
using System.Data.Common;
using System.Globalization;
using System.Runtime.CompilerServices;
using CxEngine.Customers;
using CxEngine.Recovery;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Npgsql;
using Orleans.Serialization;
using Orleans.Storage;

namespace CxEngine.Storage;

/// <summary>What one batch of a customer causes, written in one transaction.</summary>
public sealed record CustomerCommit(
    string CustomerId,
    long ExpectedVersion,
    CustomerState State,
    IReadOnlyList<EventLogEntry> Events,
    IReadOnlyList<RecoveryActionRecord> Actions,
    bool WriteSnapshot,
    long? PromiseDueTicks = null);

/// <summary>What a commit gave back: the customer row's new version and its actions as the log keeps them (with their sequences), in order.</summary>
public sealed record CommitResult(long Version, RecoveryActionRecord[] Actions)
{
    /// <summary>The action as this commit logged it (with its sequence) if the commit logged that revision; otherwise the action itself.</summary>
    public RecoveryActionRecord? AsLogged(RecoveryActionRecord? action) => AsLogged(Actions, action);

    internal static RecoveryActionRecord? AsLogged(RecoveryActionRecord[] logged, RecoveryActionRecord? action)
    {
        if (action is not null)
        {
            foreach (var entry in logged)
            {
                if (entry.ActionId == action.ActionId && entry.Revision == action.Revision)
                {
                    return entry;
                }
            }
        }

        return action;
    }
}

/// <summary>A customer as storage holds it: the snapshot, its row version, and the log entries after the snapshot.</summary>
public sealed record LoadedCustomer(CustomerState? Snapshot, long Version, IReadOnlyList<EventLogEntry> After);

/// <summary>
/// A customer's row as the read side uses it without activating the customer (export, at-risk, re-score's choice):
/// its standing after its latest commit, and its open action. The one read model of the row.
/// </summary>
public sealed record CustomerStanding(
    string CustomerId, string Tier, double Score, double Expectation, long EventsApplied, DateTime? LastEventAt, RecoveryActionRecord? OpenAction)
{
    /// <summary>The standing as a score, under <paramref name="baseline"/> (today's, of its tier).</summary>
    public CustomerSnapshot ToSnapshot(double baseline) => new(CustomerId, Tier, Score, Expectation, baseline, EventsApplied, LastEventAt, OpenAction);
}

/// <summary>Some of a batch's event ids are already in the customer's log (older than what the grain remembers).</summary>
public sealed class DuplicateEventsException(IReadOnlyList<string> eventIds)
    : Exception($"{eventIds.Count} event ids are already in the log")
{
    public IReadOnlyList<string> EventIds { get; } = eventIds;
}

/// <summary>
/// The customers' side of the database: each customer's event log (the truth), its row (standing and
/// snapshot), and the action-log entries its batches cause. <see cref="CommitAsync"/> writes everything a
/// batch causes as one piece of work of the silo's group-commit writer, so it commits in the same
/// transaction as the batches of every other customer written at that moment: one commit, one fsync,
/// and the caller acknowledges after it and no other. SQLite runs the commit statement by statement in process
/// (<see cref="SqliteCommitStatements"/>); PostgreSQL in one prepared statement, one round trip
/// (<see cref="PostgresCustomerCommit"/>). Orleans' grain storage writes one grain's state per call and has no log, so it cannot put a
/// batch's log rows, snapshot and action entries in one commit.
/// </summary>
public sealed partial class CustomerStore(
    CxDatabase database,
    ActionFeed feed,
    EngineMetrics metrics,
    Serializer serializer,
    ILogger<CustomerStore> logger) : ICustomerJournal, IAsyncDisposable
{
    private const string SelectEvents = "SELECT position, event_id, applied_ticks, payload FROM cx_events";

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_buffer;

    private readonly bool _discard = database.Provider == StorageProvider.None;

    // Every customer's commit goes to the writer as a member of this group, so that a group commit writes them together.
    private CommitGroup Commits => field ??= new CommitGroup(this);
    private long _discardedSequence;

    // PostgreSQL: loads grouped into one statement per batch (SQLite reads in process, one customer at a time).
    private readonly PostgresCustomerLoader? _loader = database.Provider == StorageProvider.PostgreSql
        ? new PostgresCustomerLoader(() => (NpgsqlConnection)database.CreateConnection(), serializer)
        : null;

    /// <summary>
    /// Writes a batch: its log entries, the customer's row (and snapshot when due), and its action-log entries.
    /// Completes after the commit. Throws <see cref="DuplicateEventsException"/> (nothing written) when an event id
    /// is already in the log, <see cref="InconsistentStateException"/> when another activation wrote the customer,
    /// and <see cref="StorageUnavailableException"/> when the database did not commit.
    /// </summary>
    public async Task<CommitResult> CommitAsync(CustomerCommit commit, DateTime now)
    {
        if (_discard)
        {
            // StorageProvider.None: answered as if written, so the rest of the path is measured alone.
            var drawn = new RecoveryActionRecord[commit.Actions.Count];
            for (var i = 0; i < drawn.Length; i++)
            {
                drawn[i] = commit.Actions[i] with { Sequence = Interlocked.Increment(ref _discardedSequence) };
            }

            return new CommitResult(commit.ExpectedVersion + 1, drawn);
        }

        using var trace = StorageTracing.Source.StartActivity("cx.storage.commit");
        trace?.SetTag("cx.commit.events", commit.Events.Count);

        // A customer's first row always carries its snapshot.
        commit = commit.ExpectedVersion == 0 && !commit.WriteSnapshot ? commit with { WriteSnapshot = true } : commit;

        // PostgreSQL: serialised here, outside the writer's loop, into the arrays its one statement sends. SQLite:
        // serialised by the writer into its own buffer and bound from there (SQLite copies a bound blob), which
        // costs the writer about a microsecond an event and spares an array per row.
        byte[][]? events = null;
        byte[]? snapshot = null;
        if (database.Provider == StorageProvider.PostgreSql)
        {
            events = new byte[commit.Events.Count][];
            for (var i = 0; i < events.Length; i++)
            {
                events[i] = Serialize(commit.Events[i].Body);
            }

            // One that holds an action changed in this commit is serialised in the transaction, once the action's log sequence is drawn.
            snapshot = commit.WriteSnapshot && commit.Actions.Count == 0 ? Serialize(commit.State) : null;
        }

        // What follows needs no grain's context (the feed, metrics, the refusals): not resuming on the caller's scheduler
        // spares the continuation and delegate a grain's scheduler costs for every await resumed on it.
        var written = await database.Writer.RunAsync(Commits, new PendingCommit(commit, events, snapshot, now)).ConfigureAwait(false);

        // Refusals come back as values, not exceptions: on PostgreSQL an exception out of the work fails the
        // writer's whole group commit, and these leave the transaction clean for everyone else's writes.
        var result = written.Duplicates is { } duplicates ? throw new DuplicateEventsException(duplicates)
            : written.Result ?? throw Conflict(commit);

        if (commit.Actions.Count > 0)
        {
            feed.Wake();
            foreach (var action in commit.Actions)
            {
                metrics.Action(action);
            }
        }

        return result;
    }

    /// <summary>
    /// A customer's commit waiting for the writer: the commit and, for PostgreSQL, its serialised log rows and its
    /// snapshot when serialised already (SQLite serialises in the writer).
    /// </summary>
    private readonly record struct PendingCommit(CustomerCommit Commit, byte[][]? Events, byte[]? Snapshot, DateTime Now);

    /// <summary>
    /// The customers' commits of one group commit, together (<see cref="IWriteGroup{TWrite, TResult}"/>): on SQLite
    /// one after another in process; on PostgreSQL in one statement for them all.
    /// </summary>
    private sealed class CommitGroup(CustomerStore store) : IWriteGroup<PendingCommit, Written>
    {
        public Task RunAsync(DbConnection connection, DbTransaction transaction, PendingCommit[] writes, Written[] results, CancellationToken cancellationToken)
        {
            if (connection is SqliteConnection { Handle: { } db })
            {
                var sql = SqliteCommitStatements.For(db);
                for (var i = 0; i < writes.Length; i++)
                {
                    results[i] = store.WriteStepwise(sql, writes[i].Commit, writes[i].Now);
                }

                return Task.CompletedTask;
            }

            return store.WritePostgresAsync((NpgsqlConnection)connection, (NpgsqlTransaction)transaction, writes, results, cancellationToken);
        }
    }

    /// <summary>SQLite: statement by statement, each in process and synchronous on the writer's thread.</summary>
    private Written WriteStepwise(SqliteCommitStatements sql, CustomerCommit commit, DateTime now)
    {
        var c = commit.CustomerId;

        // Log rows first: if one is already there, nothing else of this batch has been written yet.
        List<string>? duplicates = null;
        var inserted = 0;
        var positionTaken = false;
        foreach (var entry in commit.Events)
        {
            if (sql.InsertEvent(c, entry, SerializeToBuffer(entry.Body)))
            {
                inserted++;
                continue;
            }

            if (sql.IsLogged(c, entry.EventId))
            {
                (duplicates ??= []).Add(entry.EventId);
            }
            else
            {
                positionTaken = true;
            }
        }

        if (duplicates is not null || positionTaken)
        {
            Undo(sql, commit, inserted);
            return positionTaken ? Written.Conflict : new Written(null, duplicates);
        }

        var stored = Sequenced(commit.Actions, commit.Actions.Count > 0 ? sql.NewestActionSequence() + 1 : 0);
        var snapshot = SnapshotOf(commit, stored) is { } state ? SerializeToBuffer(state) : [];
        if (!sql.UpsertCustomer(commit, snapshot, now))
        {
            Undo(sql, commit, inserted);
            return Written.Conflict;
        }

        foreach (var entry in stored)
        {
            sql.AppendAction(entry, SerializeToBuffer(entry), now);
        }

        return new Written(new CommitResult(commit.ExpectedVersion + 1, stored), null);
    }

    /// <summary>PostgreSQL: one prepared statement for the group's customers, one round trip (<see cref="PostgresCustomerCommit"/>).</summary>
    private async Task WritePostgresAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, PendingCommit[] writes, Written[] results, CancellationToken cancellationToken)
    {
        var commits = new PostgresCommit[writes.Length];
        for (var i = 0; i < writes.Length; i++)
        {
            var (commit, events, snapshot, now) = writes[i];
            var count = commit.Actions.Count;
            var stored = Sequenced(commit.Actions, count > 0 ? await PostgresCustomerCommit.DrawSequencesAsync(transaction, count, cancellationToken) : 0);
            var payloads = stored.Length == 0 ? [] : new byte[stored.Length][];
            for (var k = 0; k < stored.Length; k++)
            {
                payloads[k] = Serialize(stored[k]);
            }

            commits[i] = new PostgresCommit(commit, events!, snapshot ?? (SnapshotOf(commit, stored) is { } state ? Serialize(state) : null), stored, payloads, now);
        }

        var outcomes = new (bool Written, string[] Logged)[writes.Length];
        await PostgresCustomerCommit.For(connection).WriteAsync(transaction, commits, outcomes, cancellationToken);
        for (var i = 0; i < writes.Length; i++)
        {
            var (written, logged) = outcomes[i];
            results[i] = written ? new Written(new CommitResult(commits[i].Commit.ExpectedVersion + 1, commits[i].Actions), null)
                : logged.Length > 0 ? new Written(null, [.. logged])
                : Written.Conflict;
        }
    }

    /// <summary>The actions as the log keeps them, numbered from <paramref name="first"/>: the log entries, the snapshot and the result all carry these same records.</summary>
    private static RecoveryActionRecord[] Sequenced(IReadOnlyList<RecoveryActionRecord> actions, long first)
    {
        if (actions.Count == 0)
        {
            return [];
        }

        var stored = new RecoveryActionRecord[actions.Count];
        for (var i = 0; i < stored.Length; i++)
        {
            stored[i] = actions[i] with { Sequence = first + i };
        }

        return stored;
    }

    /// <summary>The state this commit stores as the snapshot, when it writes one: its open action as the log keeps it, with its sequence.</summary>
    private static CustomerState? SnapshotOf(CustomerCommit commit, RecoveryActionRecord[] stored) =>
        commit.WriteSnapshot ? WithStoredActions(commit.State, stored) : null;

    /// <summary>Takes back the log rows this batch wrote: only rows with this batch's own position and id, never another writer's.</summary>
    private static void Undo(SqliteCommitStatements sql, CustomerCommit commit, int inserted)
    {
        if (inserted == 0)
        {
            return;
        }

        foreach (var entry in commit.Events)
        {
            sql.UndoEvent(commit.CustomerId, entry);
        }
    }

    /// <summary>What the work in the writer's transaction did: committed a result, found duplicates, or found another writer (neither).</summary>
    private sealed record Written(CommitResult? Result, List<string>? Duplicates)
    {
        public static readonly Written Conflict = new(null, null);
    }

    /// <summary>The state as the snapshot keeps it: its open action is the one the log keeps, with its sequence.</summary>
    private static CustomerState WithStoredActions(CustomerState state, RecoveryActionRecord[] stored)
    {
        var logged = CommitResult.AsLogged(stored, state.OpenAction);
        if (ReferenceEquals(logged, state.OpenAction))
        {
            return state;
        }

        var copy = state.Copy();
        copy.OpenAction = logged;
        return copy;
    }

    private static InconsistentStateException Conflict(CustomerCommit commit) =>
        new($"customer {commit.CustomerId} was written by another activation (expected version {commit.ExpectedVersion})",
            commit.ExpectedVersion.ToString(CultureInfo.InvariantCulture), "");

    /// <summary>The customer's snapshot and every log entry after it: what rebuilding it takes.</summary>
    public Task<LoadedCustomer> LoadAsync(string customerId) =>
        _loader?.LoadAsync(customerId) ?? database.ReadAsync(async (connection, cancellationToken) =>
        {
            CustomerState? snapshot = null;
            long version = 0, position = 0;
            await using (var command = connection.CreateCommand())
            {
                command.CommandText = "SELECT version, snapshot_position, snapshot FROM cx_customers WHERE customer_id = @c";
                command.AddParameter("c", customerId, DbType.String);
                await using var reader = await command.ExecuteReaderAsync(cancellationToken);
                if (await reader.ReadAsync(cancellationToken))
                {
                    version = reader.GetInt64(0);
                    position = reader.GetInt64(1);
                    snapshot = ReadSnapshot(serializer, (byte[])reader.GetValue(2));
                }
            }

            var after = await ReadEntriesAsync(connection,
                $"{SelectEvents} WHERE customer_id = @c AND position > @after ORDER BY position", cancellationToken,
                ("c", customerId), ("after", position));
            return new LoadedCustomer(snapshot, version, after);
        }, CancellationToken.None);

    /// <summary>
    /// A page of a tenant's customers' standing rows in key order after <paramref name="afterCustomerId"/> (a key), with
    /// their open actions: what an export reads, without activating a single customer.
    /// </summary>
    public Task<IReadOnlyList<CustomerStanding>> ReadStandingsAsync(
        string tenant, string? tier, string afterCustomerId, int limit, CancellationToken cancellationToken = default) =>
        database.ReadAsync<IReadOnlyList<CustomerStanding>>(async (connection, ct) =>
        {
            var (inTenant, tenantKey) = Tenants.SqlFilter("c.customer_id", tenant);
            await using var command = connection.CreateCommand();
            command.CommandText = $"""
                SELECT {StandingColumns}
                FROM cx_customers c LEFT JOIN cx_actions a ON a.action_id = c.open_action_id
                WHERE c.customer_id > @after AND {inTenant} {(tier is null ? "" : "AND c.tier = @tier")}
                ORDER BY c.customer_id LIMIT @limit
                """;
            command.AddParameter("after", afterCustomerId, DbType.String);
            command.AddParameter(tenantKey.Name, tenantKey.Value, DbType.String);
            if (tier is not null)
            {
                command.AddParameter("tier", tier, DbType.String);
            }

            command.AddParameter("limit", (long)limit, DbType.Int64);
            return await ReadStandingsAsync(command, ct);
        }, cancellationToken);

    /// <summary>The standing rows of the given customers (those that exist), for choosing whom a re-score replays.</summary>
    public Task<IReadOnlyList<CustomerStanding>> ReadStandingsAsync(IReadOnlyList<string> customerIds, CancellationToken cancellationToken = default) =>
        database.ReadAsync<IReadOnlyList<CustomerStanding>>(async (connection, ct) =>
        {
            var found = new List<CustomerStanding>(customerIds.Count);
            await using var command = connection.CreateCommand();
            command.CommandText = $"""
                SELECT {StandingColumns}
                FROM cx_customers c LEFT JOIN cx_actions a ON a.action_id = c.open_action_id
                WHERE c.customer_id = @c
                """;
            command.AddParameter("c", "", DbType.String);
            foreach (var id in customerIds)
            {
                command.Parameters["@c"].Value = id;
                found.AddRange(await ReadStandingsAsync(command, ct));
            }

            return found;
        }, cancellationToken);

    /// <summary>
    /// A tenant's customers below their tier's baseline, furthest below first, keyset-paged on (gap, customer id), in one query:
    /// each tier's customers under its baseline come from the (tier, score) index, and the open action comes along in
    /// the same query. The baselines are today's, so the list follows a tier change at once.
    /// </summary>
    public Task<IReadOnlyList<CustomerStanding>> ListAtRiskAsync(
        string tenant, IReadOnlyList<(string Tier, double Baseline)> tiers, (double Gap, string CustomerId)? after, int limit,
        CancellationToken cancellationToken = default)
    {
        if (tiers.Count == 0)
        {
            return Task.FromResult<IReadOnlyList<CustomerStanding>>([]);
        }

        var (inTenant, tenantKey) = Tenants.SqlFilter("customer_id", tenant);
        var sql = new System.Text.StringBuilder("SELECT ").Append(StandingColumns).Append(" FROM (");
        var parameters = new List<(string, object)> { tenantKey };
        for (var i = 0; i < tiers.Count; i++)
        {
            sql.Append(i == 0 ? "" : " UNION ALL ")
                .Append(CultureInfo.InvariantCulture, $"SELECT customer_id, tier, score, expectation, @b{i} - score AS gap, events_applied, last_event_ticks, open_action_id")
                .Append(CultureInfo.InvariantCulture, $" FROM cx_customers WHERE tier = @t{i} AND score < @b{i} AND {inTenant}");
            parameters.Add(($"t{i}", tiers[i].Tier));
            parameters.Add(($"b{i}", tiers[i].Baseline));
        }

        sql.Append(") c LEFT JOIN cx_actions a ON a.action_id = c.open_action_id");
        if (after is { } at)
        {
            sql.Append(" WHERE (c.gap < @gap OR (c.gap = @gap AND c.customer_id > @customer_id))");
            parameters.Add(("gap", at.Gap));
            parameters.Add(("customer_id", at.CustomerId));
        }

        sql.Append(" ORDER BY c.gap DESC, c.customer_id LIMIT @limit");
        parameters.Add(("limit", limit));
        return database.ReadAsync(async (connection, ct) =>
        {
            await using var command = connection.Command(null, sql.ToString(), [.. parameters]);
            return await ReadStandingsAsync(command, ct);
        }, cancellationToken);
    }

    // The standing's columns, in the order ReadStandingsAsync reads them: c is the customers' row, a its open action.
    private const string StandingColumns = "c.customer_id, c.tier, c.score, c.expectation, c.events_applied, c.last_event_ticks, a.payload";

    private async Task<IReadOnlyList<CustomerStanding>> ReadStandingsAsync(DbCommand command, CancellationToken cancellationToken)
    {
        var standings = new List<CustomerStanding>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var lastTicks = reader.GetInt64(5);
            standings.Add(new CustomerStanding(
                reader.GetString(0), reader.GetString(1), reader.GetDouble(2), reader.GetDouble(3), reader.GetInt64(4),
                lastTicks == 0 ? null : new DateTime(lastTicks, DateTimeKind.Utc),
                reader.IsDBNull(6) ? null : serializer.Deserialize<RecoveryActionRecord>((byte[])reader.GetValue(6))));
        }

        return standings;
    }

    /// <summary>How many of a tenant's customers have a row, in one tier or in all.</summary>
    public Task<long> CountCustomersAsync(string tenant, string? tier, CancellationToken cancellationToken = default) =>
        database.ReadAsync(async (connection, ct) =>
        {
            var (inTenant, tenantKey) = Tenants.SqlFilter("customer_id", tenant);
            await using var command = connection.CreateCommand();
            command.CommandText = $"SELECT COUNT(*) FROM cx_customers WHERE {inTenant} {(tier is null ? "" : "AND tier = @tier")}";
            command.AddParameter(tenantKey.Name, tenantKey.Value, DbType.String);
            if (tier is not null)
            {
                command.AddParameter("tier", tier, DbType.String);
            }

            return Convert.ToInt64(await command.ExecuteScalarAsync(ct), CultureInfo.InvariantCulture);
        }, cancellationToken);

    /// <summary>A page of the customer's log, oldest first, after a position (exclusive) and up to another (inclusive).</summary>
    public Task<IReadOnlyList<EventLogEntry>> ReadForwardAsync(string customerId, long afterPosition, long upToPosition, int limit, CancellationToken cancellationToken = default) =>
        database.ReadAsync((connection, ct) => ReadEntriesAsync(connection,
            $"{SelectEvents} WHERE customer_id = @c AND position > @after AND position <= @upto ORDER BY position LIMIT @limit", ct,
            ("c", customerId), ("after", afterPosition), ("upto", upToPosition), ("limit", limit)), cancellationToken);

    /// <summary>
    /// Customers with an open promise whose deadline is at or before <paramref name="now"/>, earliest first: the
    /// engine's durable promise timer, read from the index every commit keeps up to date.
    /// </summary>
    public Task<IReadOnlyList<string>> FindPromisesDueAsync(DateTime now, int limit, CancellationToken cancellationToken = default) =>
        database.ReadAsync<IReadOnlyList<string>>(async (connection, ct) =>
        {
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT customer_id FROM cx_customers WHERE promise_due_ticks <= @now ORDER BY promise_due_ticks LIMIT @limit";
            command.AddParameter("now", now.Ticks, DbType.Int64);
            command.AddParameter("limit", (long)limit, DbType.Int64);
            var ids = new List<string>();
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                ids.Add(reader.GetString(0));
            }

            return ids;
        }, cancellationToken);

    /// <summary>A page of the customer's log, newest first, before a position (exclusive).</summary>
    public Task<IReadOnlyList<EventLogEntry>> ReadBackwardsAsync(string customerId, long beforePosition, int limit, CancellationToken cancellationToken = default) =>
        database.ReadAsync((connection, ct) => ReadEntriesAsync(connection,
            $"{SelectEvents} WHERE customer_id = @c AND position < @before ORDER BY position DESC LIMIT @limit", ct,
            ("c", customerId), ("before", beforePosition), ("limit", limit)), cancellationToken);

    /// <summary>
    /// Erases a customer (by key) in one transaction of the writer: its log, its row and snapshot, its actions, and its
    /// entries in the action log, which keep their sequence (so watchers and webhooks resume across them) and lose
    /// everything else: ids, tier, payload. Null when nothing of the customer was stored.
    /// </summary>
    public async Task<CustomerErasure?> EraseAsync(string customerId)
    {
        if (_discard)
        {
            return null;
        }

        var erased = await database.Writer.RunAsync(async (connection, transaction, ct) =>
        {
            var events = await connection.ExecuteAsync(transaction, "DELETE FROM cx_events WHERE customer_id = @c", ct, ("c", customerId));
            var customers = await connection.ExecuteAsync(transaction, "DELETE FROM cx_customers WHERE customer_id = @c", ct, ("c", customerId));
            var actions = await connection.ExecuteAsync(transaction, "DELETE FROM cx_actions WHERE customer_id = @c", ct, ("c", customerId));
            await connection.ExecuteAsync(transaction,
                "UPDATE cx_action_log SET action_id = '', customer_id = '', tier = '', payload = @redacted WHERE customer_id = @c", ct,
                ("c", customerId), ("redacted", Array.Empty<byte>()));
            return events + customers + actions == 0 ? null : new CustomerErasure(events, actions);
        }, WriteIsolation.Savepoint);
        if (erased is not null)
        {
            feed.Wake();
        }

        return erased;
    }

    /// <summary>
    /// Drops log entries that arrived before the cutoff, a chunk at a time, never one a customer's snapshot does
    /// not yet include (a rebuild needs those). Returns how many went.
    /// </summary>
    public async Task<long> TrimAsync(DateTime cutoff, int chunk, CancellationToken cancellationToken)
    {
        long removed = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            var n = await database.Writer.RunAsync(async (connection, transaction, ct) =>
            {
                await using var command = connection.CreateCommand();
                command.Transaction = transaction;
                command.CommandText = """
                    DELETE FROM cx_events WHERE (customer_id, position) IN (
                        SELECT e.customer_id, e.position FROM cx_events e JOIN cx_customers c ON c.customer_id = e.customer_id
                        WHERE e.applied_ticks < @cutoff AND e.position <= c.snapshot_position LIMIT @chunk)
                    """;
                command.AddParameter("cutoff", cutoff.Ticks, DbType.Int64);
                command.AddParameter("chunk", chunk, DbType.Int32);
                return await command.ExecuteNonQueryAsync(ct);
            });
            removed += n;
            if (n < chunk)
            {
                break;
            }
        }

        if (removed > 0)
        {
            LogTrimmed(logger, removed, cutoff);
        }

        return removed;
    }

    private async Task<IReadOnlyList<EventLogEntry>> ReadEntriesAsync(
        DbConnection connection, string sql, CancellationToken cancellationToken, params (string Name, object Value)[] parameters)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.AddParameter(name, value, value is string ? DbType.String : DbType.Int64);
        }

        var entries = new List<EventLogEntry>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            entries.Add(ReadEntry(serializer, reader.GetInt64(0), reader.GetString(1), reader.GetInt64(2), (byte[])reader.GetValue(3)));
        }

        return entries;
    }

    /// <summary>A customer row's snapshot column as the state it holds (empty: the row has none yet).</summary>
    internal static CustomerState? ReadSnapshot(Serializer serializer, byte[] bytes) =>
        bytes.Length == 0 ? null : serializer.Deserialize<CustomerState>(bytes);

    /// <summary>An event-log row as its entry.</summary>
    internal static EventLogEntry ReadEntry(Serializer serializer, long position, string eventId, long appliedTicks, byte[] payload) =>
        new(position, eventId, new DateTime(appliedTicks, DateTimeKind.Utc),
            serializer.Deserialize<LoggedEvent>(payload) ?? throw new InvalidDataException($"an empty payload in the event log at position {position}"));

    public ValueTask DisposeAsync() => _loader?.DisposeAsync() ?? ValueTask.CompletedTask;

    private byte[] Serialize<T>(T value) => SerializeToBuffer(value).ToArray();

    /// <summary>The value serialised into this thread's buffer: valid until the thread's next call.</summary>
    private ReadOnlySpan<byte> SerializeToBuffer<T>(T value)
    {
        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(1024);
        buffer.ResetWrittenCount();
        serializer.Serialize(value, buffer);
        return buffer.WrittenSpan;
    }

    [LoggerMessage(EventId = 3201, Level = LogLevel.Information, Message = "Trimmed {Removed} event-log entries that arrived before {Cutoff:o}")]
    private static partial void LogTrimmed(ILogger logger, long removed, DateTime cutoff);
}
