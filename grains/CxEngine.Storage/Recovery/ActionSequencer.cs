using System.Data.Common;
using System.Globalization;

namespace CxEngine.Recovery;

/// <summary>
/// Draws action-log sequences inside the writer's transaction: the next ones after the log's newest. On
/// PostgreSQL the read comes after a transaction-scoped advisory lock, so transactions of several silos that
/// append actions take turns and commit in sequence order: a watcher reading "after sequence n" never sees
/// n + 2 before n + 1 commits. On SQLite one connection writes, so the transaction itself is the turn.
/// Every commit reads again (Npgsql reuses one transaction object per connection, so nothing may be cached
/// on it); the lock is re-entrant within a transaction and the read is one index lookup.
/// </summary>
internal static class ActionSequencer
{
    // Any fixed number shared by every silo of the cluster; chosen not to clash with the schema script's lock.
    private const long PostgresLockKey = 7243051190266262;

    public static async Task<long[]> DrawAsync(DbConnection connection, DbTransaction transaction, int count, bool postgres, CancellationToken cancellationToken)
    {
        var sequences = new long[count];
        if (count == 0)
        {
            return sequences;
        }

        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = postgres
            ? string.Create(CultureInfo.InvariantCulture, $"SELECT pg_advisory_xact_lock({PostgresLockKey}); SELECT COALESCE(MAX(sequence), 0) FROM cx_action_log")
            : "SELECT COALESCE(MAX(sequence), 0) FROM cx_action_log";
        long max;
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            if (postgres)
            {
                await reader.NextResultAsync(cancellationToken);
            }

            await reader.ReadAsync(cancellationToken);
            max = Convert.ToInt64(reader.GetValue(0), CultureInfo.InvariantCulture);
        }

        for (var i = 0; i < count; i++)
        {
            sequences[i] = max + 1 + i;
        }

        return sequences;
    }
}
