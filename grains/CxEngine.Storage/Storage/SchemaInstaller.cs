using System.Data.Common;
using System.Reflection;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace CxEngine.Storage;

/// <summary>
/// Applies the project's own schema script for Orleans' ADO.NET providers (tables and the statements
/// the providers look up) before any provider starts. The scripts are idempotent, so this runs at
/// every silo start, and <c>cxengine-silo apply-schema</c> runs it on its own.
/// </summary>
public sealed partial class SchemaInstaller(StorageOptions options, string connectionString, ILogger<SchemaInstaller> logger) : ILifecycleParticipant<ISiloLifecycle>
{
    /// <summary>Before membership (RuntimeGrainServices) and grain storage (ApplicationServices) read their statements.</summary>
    public const int Stage = ServiceLifecycleStage.RuntimeInitialize;

    public static string SqliteScript { get; } = ReadScript("sqlite-persistence.sql");

    public static string PostgreSqlScript { get; } = ReadScript("postgresql.sql");

    public void Participate(ISiloLifecycle lifecycle) => lifecycle.Subscribe(nameof(SchemaInstaller), Stage, ApplyAsync);

    public async Task ApplyAsync(CancellationToken cancellationToken)
    {
        switch (options.Provider)
        {
            case StorageProvider.Sqlite:
                Directory.CreateDirectory(Path.GetDirectoryName(options.SqliteDatabasePath)!);
                await RunAsync(new SqliteConnection(connectionString), SqliteScript, cancellationToken);
                LogApplied(logger, "SQLite", options.SqliteDatabasePath);
                break;
            case StorageProvider.PostgreSql:
                await RunAsync(new NpgsqlConnection(connectionString), PostgreSqlScript, cancellationToken);
                var builder = new NpgsqlConnectionStringBuilder(connectionString);
                LogApplied(logger, "PostgreSQL", $"{builder.Host}:{builder.Port}/{builder.Database}");
                break;
            case StorageProvider.Memory or StorageProvider.None:
                // Grain state lives in Orleans' memory storage; only the recovery tables need the in-memory SQLite database.
                await RunAsync(new SqliteConnection(connectionString), SqliteScript, cancellationToken);
                break;
        }
    }

    // Columns added since a table was first created, for SQLite, which has no ADD COLUMN IF NOT EXISTS.
    private const string SqliteAddedColumns = """
        SELECT 'ALTER TABLE cx_customers ADD COLUMN promise_due_ticks INTEGER NULL'
        WHERE EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'cx_customers')
          AND NOT EXISTS (SELECT 1 FROM pragma_table_info('cx_customers') WHERE name = 'promise_due_ticks')
        """;

    private static async Task RunAsync(DbConnection connection, string script, CancellationToken cancellationToken)
    {
        await using (connection)
        {
            await connection.OpenAsync(cancellationToken);
            if (connection is SqliteConnection)
            {
                await AddColumnsAsync(connection, cancellationToken);
            }

            await using var command = connection.CreateCommand();
            command.CommandText = script;
            command.CommandTimeout = 120;
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    private static async Task AddColumnsAsync(DbConnection connection, CancellationToken cancellationToken)
    {
        var statements = new List<string>();
        await using (var find = connection.CreateCommand())
        {
            find.CommandText = SqliteAddedColumns;
            await using var reader = await find.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                statements.Add(reader.GetString(0));
            }
        }

        foreach (var statement in statements)
        {
            await using var alter = connection.CreateCommand();
            alter.CommandText = statement;
            await alter.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    private static string ReadScript(string name)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream($"CxEngine.Storage.{name}")
            ?? throw new InvalidOperationException($"The embedded schema script {name} is missing from the build.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "{Database} schema applied to {Target}")]
    private static partial void LogApplied(ILogger logger, string database, string target);
}
