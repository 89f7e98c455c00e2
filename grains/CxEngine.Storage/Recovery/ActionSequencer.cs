using System.Data.Common;
using System.Globalization;
using System.Runtime.CompilerServices;

namespace CxEngine.Recovery;

/// <summary>
/// Hands out action-log sequences inside the writer's transaction. The first entry of a transaction reads
/// the log's newest sequence; later ones count on from it. On PostgreSQL that first read comes after a
/// transaction-scoped advisory lock, so transactions of several silos that append actions take turns and
/// commit in sequence order: a watcher reading "after sequence n" never sees n + 2 before n + 1 commits.
/// On SQLite one connection writes, so the transaction itself is the turn.
/// </summary>
internal sealed class ActionSequencer(bool postgres)
{
    // Any fixed number shared by every silo of the cluster; chosen not to clash with the schema script's lock.
    private const long PostgresLockKey = 7243051190266262;

    private readonly ConditionalWeakTable<DbTransaction, StrongBox<long>> _next = [];

    public async Task<long> NextAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken)
    {
        if (_next.TryGetValue(transaction, out var next))
        {
            return ++next.Value;
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

        _next.AddOrUpdate(transaction, new StrongBox<long>(max + 1));
        return max + 1;
    }
}
