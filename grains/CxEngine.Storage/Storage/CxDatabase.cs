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

    public CxDatabase(StorageOptions options, ILoggerFactory loggers)
    {
        Provider = options.Provider;
        switch (options.Provider)
        {
            case StorageProvider.PostgreSql:
                _factory = NpgsqlFactory.Instance;
                ConnectionString = options.EffectiveConnectionString;
                Writes = Writer = new GroupCommitWriter(CreateConnection, savepoints: false, loggers.CreateLogger<GroupCommitWriter>(), options.WriteTimeout);
                break;
            case StorageProvider.Memory:
                // A shared in-memory SQLite database lives as long as one connection to it is open.
                _factory = SqliteFactory.Instance;
                ConnectionString = $"Data Source=cxengine-{Guid.NewGuid():N};Mode=Memory;Cache=Shared";
                _keepAlive = new SqliteConnection(ConnectionString);
                _keepAlive.Open();
                Writes = Writer = new GroupCommitWriter(CreateConnection, savepoints: true, loggers.CreateLogger<GroupCommitWriter>(), options.WriteTimeout);
                break;
            default:
                _factory = SqliteFactory.Instance;
                ConnectionString = options.EffectiveConnectionString;
                Writes = Writer = new GroupCommitWriter(CreateConnection, savepoints: true, loggers.CreateLogger<GroupCommitWriter>(), options.WriteTimeout);
                break;
        }
    }

    public StorageProvider Provider { get; }

    public string ConnectionString { get; }

    public IWriteQueue Writes { get; }

    /// <summary>The one group-commit writer of this silo for this database.</summary>
    public GroupCommitWriter Writer { get; }

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

        _keepAlive?.Dispose();
    }
}
