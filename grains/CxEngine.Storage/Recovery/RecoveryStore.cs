using System.Data;
using System.Data.Common;
using System.Globalization;
using CxEngine.Customers;
using CxEngine.Storage;
using Microsoft.Data.Sqlite;
using Npgsql;
using Orleans.Serialization;

namespace CxEngine.Recovery;

public sealed record ActionQuery(
    string Tenant,
    IReadOnlyCollection<ActionStatus> Statuses,
    string? Tier,
    Scoring.Severity MinSeverity,
    string? CustomerId,
    int PageSize,
    long? BeforeSequence);

/// <summary>
/// The recovery side of the database, next to Orleans' grain state and in the same database: the
/// append-only action log (strictly increasing sequence), the current state of every action, and the
/// index of customers below baseline. Plain ADO.NET, because Orleans has no replayable log store; one
/// set of statements serves SQLite and PostgreSQL (ticks for times, ON CONFLICT for upserts).
/// </summary>
public sealed class RecoveryStore
{
    private readonly CxDatabase _db;
    private readonly Serializer _serializer;

    public RecoveryStore(CxDatabase db, Serializer serializer)
    {
        _db = db;
        _serializer = serializer;

        // Readers take only the settled part of the log (ActionSequences). SQLite's single writer commits in sequence
        // order, so everything committed there is settled.
        var settled = db.Provider == StorageProvider.PostgreSql ? $"sequence < {ActionSequences.PostgresSettledBelow}" : null;
        _maxSequenceSql = $"SELECT COALESCE(MAX(sequence), 0) FROM cx_action_log{(settled is null ? "" : $" WHERE {settled}")}";
        // An erased customer's entries keep their sequence with everything else blanked (CustomerStore.EraseAsync):
        // readers pass over them as over any gap in the sequence.
        _readLogSql = $"SELECT payload FROM cx_action_log WHERE sequence > @after AND action_id <> ''{(settled is null ? "" : $" AND {settled}")} ORDER BY sequence LIMIT @limit";
    }

    private readonly string _maxSequenceSql;
    private readonly string _readLogSql;

    /// <summary>The newest settled sequence: no entry below it can appear any more (<see cref="ActionSequences"/>).</summary>
    public Task<long> MaxSequenceAsync(CancellationToken cancellationToken = default) =>
        _db.ReadAsync(async (connection, ct) =>
            Convert.ToInt64(await ScalarAsync(connection, null, _maxSequenceSql, ct), CultureInfo.InvariantCulture),
            cancellationToken);

    /// <summary>Settled log entries after a sequence, in order.</summary>
    public Task<IReadOnlyList<RecoveryActionRecord>> ReadLogAsync(long afterSequence, int limit, CancellationToken cancellationToken = default) =>
        _db.ReadAsync((connection, ct) => ReadPayloadsAsync(connection,
            _readLogSql, ct,
            ("after", afterSequence), ("limit", limit)), cancellationToken);

    /// <summary>Whether the log still holds the entry at <paramref name="sequence"/> unredacted (its customer was not erased, it was not trimmed).</summary>
    public Task<bool> IsLoggedAsync(long sequence, CancellationToken cancellationToken = default) =>
        _db.ReadAsync(async (connection, ct) =>
            await ScalarAsync(connection, null, "SELECT 1 FROM cx_action_log WHERE sequence = @sequence AND action_id <> ''", ct,
                ("sequence", sequence)) is not null and not DBNull,
            cancellationToken);

    /// <summary>How many entries lie after one sequence up to another (sequences are not consecutive on PostgreSQL).</summary>
    public Task<long> CountLogAsync(long afterSequence, long upToSequence, CancellationToken cancellationToken = default) =>
        _db.ReadAsync(async (connection, ct) =>
            Convert.ToInt64(await ScalarAsync(connection, null, "SELECT COUNT(*) FROM cx_action_log WHERE sequence > @after AND sequence <= @upto", ct,
                ("after", afterSequence), ("upto", upToSequence)), CultureInfo.InvariantCulture),
            cancellationToken);

    public async Task<RecoveryActionRecord?> GetActionAsync(string actionId, CancellationToken cancellationToken = default)
    {
        var found = await _db.ReadAsync((connection, ct) =>
            ReadPayloadsAsync(connection, "SELECT payload FROM cx_actions WHERE action_id = @action_id", ct, ("action_id", actionId)), cancellationToken);
        return found.Count == 0 ? null : found[0];
    }

    /// <summary>Current state of a tenant's actions, most recently changed first, keyset-paged on the sequence of the last change.</summary>
    public async Task<IReadOnlyList<RecoveryActionRecord>> ListActionsAsync(ActionQuery query, CancellationToken cancellationToken = default)
    {
        var (inTenant, tenantKey) = Customers.Tenants.SqlFilter("customer_id", query.Tenant);
        var sql = new System.Text.StringBuilder("SELECT payload FROM cx_actions WHERE ").Append(inTenant);
        var parameters = new List<(string, object)> { tenantKey };
        if (query.Statuses.Count > 0)
        {
            sql.Append(" AND status IN (");
            var i = 0;
            foreach (var status in query.Statuses)
            {
                sql.Append(i == 0 ? "" : ", ").Append("@s").Append(i);
                parameters.Add(($"s{i}", (int)status));
                i++;
            }

            sql.Append(')');
        }

        if (query.Tier is not null)
        {
            sql.Append(" AND tier = @tier");
            parameters.Add(("tier", query.Tier));
        }

        if (query.MinSeverity > Scoring.Severity.None)
        {
            sql.Append(" AND severity >= @severity");
            parameters.Add(("severity", (int)query.MinSeverity));
        }

        if (query.CustomerId is not null)
        {
            sql.Append(" AND customer_id = @customer_id");
            parameters.Add(("customer_id", query.CustomerId));
        }

        if (query.BeforeSequence is { } before)
        {
            sql.Append(" AND last_sequence < @before");
            parameters.Add(("before", before));
        }

        sql.Append(" ORDER BY last_sequence DESC LIMIT @limit");
        parameters.Add(("limit", query.PageSize));
        return await _db.ReadAsync((connection, ct) => ReadPayloadsAsync(connection, sql.ToString(), ct, [.. parameters]), cancellationToken);
    }

    /// <summary>Open, unacknowledged actions whose deadline has passed.</summary>
    public Task<IReadOnlyList<string>> FindOverdueAsync(DateTime now, int limit, CancellationToken cancellationToken = default) =>
        _db.ReadAsync<IReadOnlyList<string>>(async (connection, ct) =>
        {
            await using var command = connection.Command(null,
                "SELECT action_id FROM cx_actions WHERE status IN (@open, @escalated) AND due_ticks <= @now ORDER BY due_ticks LIMIT @limit",
                ("open", (int)ActionStatus.Open), ("escalated", (int)ActionStatus.Escalated), ("now", now.Ticks), ("limit", limit));
            var ids = new List<string>();
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                ids.Add(reader.GetString(0));
            }

            return ids;
        }, cancellationToken);

    /// <summary>Drops log entries older than the cutoff (never the newest, so sequences keep rising) and closed actions not touched since.</summary>
    public Task<int> TrimAsync(DateTime cutoff) =>
        _db.Writer.RunAsync((connection, transaction, cancellationToken) => TrimAsync(connection, transaction, cutoff, cancellationToken));

    private static async Task<int> TrimAsync(DbConnection connection, DbTransaction transaction, DateTime cutoff, CancellationToken cancellationToken)
    {
        var removed = await connection.ExecuteAsync(transaction,
            "DELETE FROM cx_action_log WHERE created_ticks < @cutoff AND sequence < (SELECT MAX(sequence) FROM cx_action_log)", cancellationToken,
            ("cutoff", cutoff.Ticks));
        await connection.ExecuteAsync(transaction,
            "DELETE FROM cx_actions WHERE status IN (@resolved, @recovered) AND updated_ticks < @cutoff", cancellationToken,
            ("resolved", (int)ActionStatus.Resolved), ("recovered", (int)ActionStatus.Recovered), ("cutoff", cutoff.Ticks));
        return removed;
    }

    private async Task<IReadOnlyList<RecoveryActionRecord>> ReadPayloadsAsync(DbConnection connection, string sql, CancellationToken cancellationToken, params (string, object)[] parameters)
    {
        await using var command = connection.Command(null, sql, parameters);
        var records = new List<RecoveryActionRecord>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            records.Add(_serializer.Deserialize<RecoveryActionRecord>((byte[])reader.GetValue(0))
                ?? throw new InvalidDataException("an empty action payload in the recovery tables"));
        }

        return records;
    }

    private static async Task<object?> ScalarAsync(DbConnection connection, DbTransaction? transaction, string sql, CancellationToken cancellationToken, params (string, object)[] parameters)
    {
        await using var command = connection.Command(transaction, sql, parameters);
        return await command.ExecuteScalarAsync(cancellationToken);
    }
}
