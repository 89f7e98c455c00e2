using System.Reflection;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace CxEngine.Storage;

/// <summary>
/// Applies the project's SQLite schema for Orleans' ADO.NET storage before the provider starts
/// (it reads its statements from the database at initialisation). Idempotent, so it runs on every start.
/// </summary>
public sealed partial class SqliteSchema(string connectionString, ILogger<SqliteSchema> logger) : ILifecycleParticipant<ISiloLifecycle>
{
    public static string ConnectionStringFor(string databasePath) => new SqliteConnectionStringBuilder
    {
        DataSource = databasePath,
        Mode = SqliteOpenMode.ReadWriteCreate,
        Pooling = true,
        // Many grains write at once; a writer waits for the lock rather than failing straight away.
        DefaultTimeout = 30,
    }.ToString();

    public static string Script { get; } = ReadScript("sqlite-persistence.sql");

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(SqliteSchema), ServiceLifecycleStage.RuntimeInitialize, ApplyAsync);

    public async Task ApplyAsync(CancellationToken cancellationToken)
    {
        var builder = new SqliteConnectionStringBuilder(connectionString);
        var directory = Path.GetDirectoryName(Path.GetFullPath(builder.DataSource));
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        await using var connection = new SqliteConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = Script;
        await command.ExecuteNonQueryAsync(cancellationToken);
        LogApplied(logger, builder.DataSource);
    }

    private static string ReadScript(string name)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream($"CxEngine.Storage.{name}")
            ?? throw new InvalidOperationException($"The embedded schema script {name} is missing from the build.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "SQLite schema applied to {DatabasePath}")]
    private static partial void LogApplied(ILogger logger, string databasePath);
}
