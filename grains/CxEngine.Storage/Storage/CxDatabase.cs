using System.Data.Common;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace CxEngine.Storage;

/// <summary>
/// The engine's database as its own code uses it (grain state, the action log, the at-risk index):
/// how to connect, where writes go (group commit on SQLite), and how reads stay off the grain
/// scheduler (SQLite's driver is synchronous underneath, so its reads run on the thread pool).
/// </summary>
public sealed class CxDatabase : IAsyncDisposable
{
    private readonly DbProviderFactory _factory;
    private readonly SqliteConnection? _keepAlive;
    private readonly SqliteCheckpointer? _checkpointer;

    public CxDatabase(StorageOptions options, ILoggerFactory loggers)
    {
        Provider = options.Provider;

        // Savepoints: SQLite keeps a transaction usable after a failed statement, so each write can fail alone;
        // PostgreSQL aborts the transaction, so there a failing write fails its group commit.
        WriterPool Writers(int connections, Func<DbConnection> connect, bool savepoints) =>
            new(connections, () => new GroupCommitWriter(
                connect, savepoints, loggers.CreateLogger<GroupCommitWriter>(), options.WriteTimeout, options.InjectedCommitLatency));

        switch (options.Provider)
        {
            case StorageProvider.PostgreSql:
                _factory = NpgsqlFactory.Instance;
                ConnectionString = options.EffectiveConnectionString;
                Writer = Writers(options.WriterConnections, CreateConnection, savepoints: false);
                break;
            case StorageProvider.Memory or StorageProvider.None:
                // A shared in-memory SQLite database lives as long as one connection to it is open.
                _factory = SqliteFactory.Instance;
                ConnectionString = $"Data Source=cxengine-{Guid.NewGuid():N};Mode=Memory;Cache=Shared";
                _keepAlive = new SqliteConnection(ConnectionString);
                _keepAlive.Open();
                Writer = Writers(1, CreateConnection, savepoints: true);
                break;
            default:
                _factory = SqliteFactory.Instance;
                ConnectionString = options.EffectiveConnectionString;
                _writerBusyTimeout = options.BusyTimeout;
                // SQLite takes one writer at a time: more connections would only queue on its lock.
                Writer = Writers(1, CreateWriterConnection, savepoints: true);
                _checkpointer = new SqliteCheckpointer(ConnectionString, loggers.CreateLogger<SqliteCheckpointer>());
                break;
        }
    }

    /// <summary>
    /// The writer's one long-lived connection, with a page cache to match: every batch touches a page of the log
    /// and of the customers' rows per customer, at random, and with SQLite's default 2 MB cache each of those is
    /// read again from the file first. Memory-mapped reads skip the copy through the kernel. Checkpoints run every
    /// 2 s on their own thread (<see cref="SqliteCheckpointer"/>), which also lets a page that several commits
    /// changed go back into the database once; the writer's automatic checkpoint is only a backstop.
    /// </summary>
    private DbConnection CreateWriterConnection()
    {
        var connection = new SqliteConnection(ConnectionString);
        connection.StateChange += (_, e) =>
        {
            if (e.CurrentState == System.Data.ConnectionState.Open)
            {
                using var pragma = connection.CreateCommand();
                pragma.CommandText = string.Create(System.Globalization.CultureInfo.InvariantCulture,
                    $"PRAGMA cache_size = -{WriterCacheKiB}; PRAGMA mmap_size = {MmapBytes}; PRAGMA wal_autocheckpoint = {SqliteCheckpointer.BackstopPages}; PRAGMA busy_timeout = {(long)_writerBusyTimeout.TotalMilliseconds};");
                pragma.ExecuteNonQuery();
            }
        };
        return connection;
    }

    // SQLite's own wait for a lock another process holds: the commit statements prepared on the writer's handle
    // (SqliteCommitStatements) run outside the driver, which waits for the lock in its own loop.
    private readonly TimeSpan _writerBusyTimeout;

    private const int WriterCacheKiB = 256 * 1024;
    // Mapped pages count in the process's resident set: 256 MB, not the 1 GB of earlier builds, so memory levels off
    // early in a soak (the writer's own page cache holds the pages it works on anyway).
    private const long MmapBytes = 256L << 20;

    public StorageProvider Provider { get; }

    public string ConnectionString { get; }

    /// <summary>Where writes go (<see cref="IWriteQueue"/>): this silo's group-commit writers for this database (one on SQLite).</summary>
    public WriterPool Writer { get; }

    private bool IsSqlite => Provider != StorageProvider.PostgreSql;

    public DbConnection CreateConnection()
    {
        var connection = _factory.CreateConnection()!;
        connection.ConnectionString = ConnectionString;
        return connection;
    }

    public Task<T> ReadAsync<T>(Func<DbConnection, CancellationToken, Task<T>> read, CancellationToken cancellationToken)
    {
        async Task<T> Run()
        {
            await using var connection = CreateConnection();
            await connection.OpenAsync(cancellationToken);
            return await read(connection, cancellationToken);
        }

        return IsSqlite ? Task.Run(Run, cancellationToken) : Run();
    }

    public async ValueTask DisposeAsync()
    {
        await Writer.DisposeAsync();
        _checkpointer?.Dispose();

        _keepAlive?.Dispose();
    }
}
