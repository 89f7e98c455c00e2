using CxEngine.Storage;
using CxEngine.Tests.Durability;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace CxEngine.Tests.Storage;

/// <summary>
/// PostgreSQL with several writer connections: their transactions are open at the same time, so the database overlaps
/// their work and flushes (no lock or single writer serialises commits of different customers).
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class WriterPoolTests
{
    [Fact]
    public async Task TwoWriterConnections_RunTheirTransactionsAtTheSameTime_AndBothCommit()
    {
        var options = new StorageOptions
        {
            Provider = StorageProvider.PostgreSql,
            ConnectionString = await TestPostgres.CreateDatabaseAsync("writers"),
            WriterConnections = 2,
        };
        await new SchemaInstaller(options, options.EffectiveConnectionString, NullLogger<SchemaInstaller>.Instance).ApplyAsync(CancellationToken.None);
        await using var database = new CxDatabase(options, NullLoggerFactory.Instance);
        await using (var setup = new NpgsqlConnection(options.EffectiveConnectionString))
        {
            await setup.OpenAsync();
            await using var create = new NpgsqlCommand("CREATE TABLE overlap (writer int PRIMARY KEY, xid text NOT NULL)", setup);
            await create.ExecuteNonQueryAsync();
        }

        // Each write enters its transaction, writes a row, then waits until the other is inside its own: with one
        // writer at a time the second would never start while the first waits, and both would time out.
        var inside = new[] { new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously) };
        Task<string> Write(int writer) => database.Writer.RunAsync(async (connection, transaction, ct) =>
        {
            await using var command = new NpgsqlCommand(
                "INSERT INTO overlap (writer, xid) VALUES (@w, pg_current_xact_id()::text) RETURNING xid", (NpgsqlConnection)connection, (NpgsqlTransaction)transaction);
            command.Parameters.AddWithValue("w", writer);
            var xid = (string)(await command.ExecuteScalarAsync(ct))!;
            inside[writer].SetResult();
            await inside[1 - writer].Task.WaitAsync(TimeSpan.FromSeconds(10), ct);
            return xid;
        });

        var first = Write(0);
        var second = Write(1);
        var xids = await Task.WhenAll(first, second);

        Assert.NotEqual(xids[0], xids[1]);
        await using var check = new NpgsqlConnection(options.EffectiveConnectionString);
        await check.OpenAsync();
        await using var count = new NpgsqlCommand("SELECT count(*) FROM overlap", check);
        Assert.Equal(2L, (long)(await count.ExecuteScalarAsync())!);
        Assert.Equal(2, database.Writer.Connections);
    }
}
