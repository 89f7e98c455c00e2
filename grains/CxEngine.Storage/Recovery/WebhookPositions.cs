using System.Data;
using System.Data.Common;
using CxEngine.Storage;

namespace CxEngine.Recovery;

/// <summary>One webhook endpoint's row: where its delivery stands and which silo holds it.</summary>
public sealed record WebhookPosition(
    string Endpoint,
    long Sequence,
    string Owner,
    DateTime LeaseUntil,
    DateTime? DeliveredAt,
    int Attempts,
    string LastError,
    DateTime? LastErrorAt);

/// <summary>
/// Each webhook endpoint's position in the action log and its lease (cx_webhook_positions). A silo delivers
/// to an endpoint only while it holds the lease, and every write below is conditional on still holding it,
/// so one silo at a time moves an endpoint's position. Writes go through the silo's group-commit writer
/// like every other write (on SQLite a second writer would only wait for the first); they are small and
/// one per delivered batch, not per event, so ingest does not notice them.
/// </summary>
public sealed class WebhookPositions(CxDatabase db)
{
    /// <summary>
    /// Takes the endpoint's lease if it is free, expired or already this owner's, and returns the stored
    /// position (0 for an endpoint never seen: it starts at the oldest entry kept); null if another owner holds it.
    /// </summary>
    public Task<long?> TryAcquireAsync(string endpoint, string owner, DateTime now, DateTime until) =>
        db.Writer.RunAsync<long?>(async (connection, transaction, ct) =>
        {
            await connection.ExecuteAsync(transaction, """
                INSERT INTO cx_webhook_positions (endpoint, sequence, owner, lease_until_ticks, delivered_ticks, attempts, last_error, last_error_ticks, updated_ticks)
                VALUES (@endpoint, 0, '', 0, 0, 0, '', 0, @now)
                ON CONFLICT (endpoint) DO NOTHING
                """, ct, ("endpoint", endpoint, DbType.String), ("now", now.Ticks, DbType.Int64));
            var taken = await connection.ExecuteAsync(transaction, """
                UPDATE cx_webhook_positions SET owner = @owner, lease_until_ticks = @until, updated_ticks = @now
                WHERE endpoint = @endpoint AND (owner = @owner OR lease_until_ticks < @now)
                """, ct, ("endpoint", endpoint, DbType.String), ("owner", owner, DbType.String), ("until", until.Ticks, DbType.Int64),
                ("now", now.Ticks, DbType.Int64));
            if (taken == 0)
            {
                return null;
            }

            await using var command = connection.Command(transaction, "SELECT sequence FROM cx_webhook_positions WHERE endpoint = @endpoint",
                ("endpoint", endpoint, DbType.String));
            return Convert.ToInt64(await command.ExecuteScalarAsync(ct), System.Globalization.CultureInfo.InvariantCulture);
        }, WriteIsolation.Savepoint);

    /// <summary>Moves the position after a delivered batch, clears the attempts and extends the lease; false if the lease was lost.</summary>
    public Task<bool> SaveAsync(string endpoint, string owner, long sequence, DateTime deliveredAt, DateTime now, DateTime until) =>
        UpdateAsync(endpoint, owner, """
            UPDATE cx_webhook_positions SET sequence = @sequence, delivered_ticks = @delivered, attempts = 0,
                lease_until_ticks = @until, updated_ticks = @now
            WHERE endpoint = @endpoint AND owner = @owner
            """, ("sequence", sequence, DbType.Int64), ("delivered", deliveredAt.Ticks, DbType.Int64), ("until", until.Ticks, DbType.Int64),
            ("now", now.Ticks, DbType.Int64));

    /// <summary>Records a failed attempt at the pending entry (and extends the lease); false if the lease was lost.</summary>
    public Task<bool> FailedAsync(string endpoint, string owner, int attempts, string error, DateTime now, DateTime until) =>
        UpdateAsync(endpoint, owner, """
            UPDATE cx_webhook_positions SET attempts = @attempts, last_error = @error, last_error_ticks = @now,
                lease_until_ticks = @until, updated_ticks = @now
            WHERE endpoint = @endpoint AND owner = @owner
            """, ("attempts", attempts, DbType.Int32), ("error", error, DbType.String), ("until", until.Ticks, DbType.Int64),
            ("now", now.Ticks, DbType.Int64));

    /// <summary>Extends the lease; false if it was lost (expired and taken by another silo).</summary>
    public Task<bool> RenewAsync(string endpoint, string owner, DateTime now, DateTime until) =>
        UpdateAsync(endpoint, owner, "UPDATE cx_webhook_positions SET lease_until_ticks = @until, updated_ticks = @now WHERE endpoint = @endpoint AND owner = @owner",
            ("until", until.Ticks, DbType.Int64), ("now", now.Ticks, DbType.Int64));

    /// <summary>Gives the lease up (a silo stopping), so another silo, or this one restarted, takes over at once.</summary>
    public Task<bool> ReleaseAsync(string endpoint, string owner) =>
        UpdateAsync(endpoint, owner, "UPDATE cx_webhook_positions SET owner = '', lease_until_ticks = 0 WHERE endpoint = @endpoint AND owner = @owner");

    public Task<IReadOnlyList<WebhookPosition>> ReadAllAsync(CancellationToken cancellationToken = default) =>
        db.ReadAsync<IReadOnlyList<WebhookPosition>>(async (connection, ct) =>
        {
            await using var command = connection.Command(null,
                "SELECT endpoint, sequence, owner, lease_until_ticks, delivered_ticks, attempts, last_error, last_error_ticks FROM cx_webhook_positions");
            var rows = new List<WebhookPosition>();
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                rows.Add(new WebhookPosition(
                    reader.GetString(0), reader.GetInt64(1), reader.GetString(2), Time(reader.GetInt64(3)) ?? DateTime.MinValue,
                    Time(reader.GetInt64(4)), reader.GetInt32(5), reader.GetString(6), Time(reader.GetInt64(7))));
            }

            return rows;
        }, cancellationToken);

    private static DateTime? Time(long ticks) => ticks == 0 ? null : new DateTime(ticks, DateTimeKind.Utc);

    private async Task<bool> UpdateAsync(string endpoint, string owner, string sql, params (string, object, DbType)[] parameters) =>
        await db.Writer.RunAsync((connection, transaction, ct) =>
            connection.ExecuteAsync(transaction, sql, ct, [("endpoint", endpoint, DbType.String), ("owner", owner, DbType.String), .. parameters])) == 1;
}
