using System.Collections.Concurrent;
using System.Data;
using System.Data.Common;
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using CxEngine.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace CxEngine.Tests.Storage;

/// <summary>
/// No silent stalls: a write that hangs, a database that cannot be reached and a writer loop that dies each end
/// in an answer (UNAVAILABLE) within the write timeout and an unhealthy writer, and the writer recovers by itself.
/// </summary>
public sealed class GroupCommitWriterTests
{
    private static readonly TimeSpan WriteTimeout = TimeSpan.FromSeconds(1.5);

    // Sweeps run every timeout/8 and timers can be late on a busy machine.
    private static readonly TimeSpan Slack = TimeSpan.FromSeconds(1);

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task HangingWrite_CallerAnsweredWithinTimeout_UnhealthyUntilACommitSucceeds()
    {
        using var data = new TempDirectory("writer-hang");
        var database = CreateDatabase(data);
        var logger = new RecordingLogger();
        await using var writer = new GroupCommitWriter(() => new SqliteConnection(database), savepoints: true, logger, WriteTimeout);
        await writer.RunAsync(Insert(1)).WaitAsync(Patience);
        Assert.True(writer.Health.IsHealthy, writer.Health.Description);

        // Work that never finishes and ignores its token, as a driver stuck on a dead socket might.
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var clock = Stopwatch.StartNew();
        var hung = writer.RunAsync<int>(async (connection, transaction, cancellationToken) =>
        {
            started.TrySetResult();
            await release.Task;
            return 0;
        });
        await started.Task.WaitAsync(Patience);
        var behind = writer.RunAsync(Insert(2));

        var error = await Assert.ThrowsAsync<StorageUnavailableException>(() => hung.WaitAsync(Patience));
        var waited = clock.Elapsed;
        Assert.Contains("may or may not have been stored; retry with the same event_id", error.Message, StringComparison.Ordinal);
        Assert.InRange(waited, WriteTimeout * 0.75, WriteTimeout + Slack);
        Assert.False(writer.Health.IsHealthy);

        // Queued behind it, never started: answered too, and known not to be stored.
        var notStarted = await Assert.ThrowsAsync<StorageUnavailableException>(() => behind.WaitAsync(Patience));
        Assert.Contains("nothing was stored", notStarted.Message, StringComparison.Ordinal);
        Assert.False(writer.Health.IsHealthy);
        Assert.Contains(logger.Entries, e => e.Level == LogLevel.Error && e.Id == 3103);

        // Still stuck after the timeout: reported as such, not as recovered.
        await Task.Delay(WriteTimeout / 2);
        Assert.False(writer.Health.IsHealthy);
        Assert.True(writer.OldestWait > WriteTimeout);

        // The work finishes, its batch commits, and the writer is healthy again.
        release.TrySetResult();
        await WaitUntilAsync(() => writer.Health.IsHealthy);
        await writer.RunAsync(Insert(3)).WaitAsync(Patience);
        Assert.True(writer.Health.IsHealthy, writer.Health.Description);
        Assert.Equal(new[] { 1L, 3L }, await StoredIdsAsync(database));
        Assert.Equal(0, writer.Restarts);
    }

    [Fact]
    public async Task DatabaseLockedByAnotherConnection_CallerAnsweredWithinTimeout_WriterRecoversWhenItIsReleased()
    {
        using var data = new TempDirectory("writer-locked");
        var database = CreateDatabase(data);
        await using var writer = new GroupCommitWriter(() => new SqliteConnection(database), savepoints: true, new RecordingLogger(), WriteTimeout);
        await writer.RunAsync(Insert(1)).WaitAsync(Patience);

        // Another process (a backup, an operator's sqlite3) holds the file's lock; the writer's busy wait is far longer than the timeout.
        await using var other = new SqliteConnection(database);
        other.Open();
        await ExecuteAsync(other, "BEGIN EXCLUSIVE");

        var clock = Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<StorageUnavailableException>(() => writer.RunAsync(Insert(2)).WaitAsync(Patience));
        Assert.InRange(clock.Elapsed, WriteTimeout * 0.75, WriteTimeout + Slack);
        Assert.Contains("may or may not have been stored; retry with the same event_id", error.Message, StringComparison.Ordinal);
        Assert.False(writer.Health.IsHealthy);

        await ExecuteAsync(other, "ROLLBACK");
        await writer.RunAsync(Insert(3)).WaitAsync(Patience);
        Assert.True(writer.Health.IsHealthy, writer.Health.Description);
        Assert.Contains(3L, await StoredIdsAsync(database));
    }

    [Fact]
    public async Task ConnectionFactoryThrows_WritesFailAndWriterIsUnhealthy_UntilItRecovers()
    {
        using var data = new TempDirectory("writer-connect");
        var database = CreateDatabase(data);
        var reachable = 0;
        await using var writer = new GroupCommitWriter(
            () => Volatile.Read(ref reachable) == 1 ? new SqliteConnection(database) : throw new InvalidOperationException("the database is unreachable"),
            savepoints: true, new RecordingLogger(), WriteTimeout);

        for (var i = 0; i < 3; i++)
        {
            var clock = Stopwatch.StartNew();
            var error = await Assert.ThrowsAsync<StorageUnavailableException>(() => writer.RunAsync(Insert(10 + i)).WaitAsync(Patience));
            Assert.Contains("nothing was stored", error.Message, StringComparison.Ordinal);
            Assert.True(clock.Elapsed < WriteTimeout, "a failed connection is answered at once, not at the deadline");
            Assert.Equal(StorageWriterState.Failing, writer.Health.State);
        }

        Volatile.Write(ref reachable, 1);
        await writer.RunAsync(Insert(1)).WaitAsync(Patience);
        Assert.True(writer.Health.IsHealthy, writer.Health.Description);
        Assert.Equal(new[] { 1L }, await StoredIdsAsync(database));
        Assert.Equal(0, writer.Restarts);
    }

    [Fact]
    public async Task LoopDies_ItIsRestartedWithAFreshConnection_AndLaterWritesSucceed()
    {
        using var data = new TempDirectory("writer-dies");
        var database = CreateDatabase(data);
        var logger = new RecordingLogger();
        var connections = 0;

        // As on PostgreSQL (no savepoints): a failing statement fails the batch and the connection is thrown away;
        // closing this one fails too (its socket is gone), which escapes the per-batch handling and kills the loop.
        await using var writer = new GroupCommitWriter(
            () => Interlocked.Increment(ref connections) == 1 ? new FailsToClose(new SqliteConnection(database)) : new SqliteConnection(database),
            savepoints: false, logger, WriteTimeout);

        var error = await Assert.ThrowsAsync<StorageUnavailableException>(() =>
            writer.RunAsync<int>((connection, transaction, cancellationToken) => throw new InvalidOperationException("the statement failed")).WaitAsync(Patience));
        Assert.Contains("nothing was stored", error.Message, StringComparison.Ordinal);

        // The loop counts the restart before it logs why it died: wait for both, then check them.
        await WaitUntilAsync(() => writer.Restarts == 1 && logger.Entries.Any(e => e.Id == 3102));
        Assert.Contains(logger.Entries, e => e.Level == LogLevel.Critical && e.Id == 3102);
        Assert.False(writer.Health.IsHealthy);

        // Restarted on a fresh connection: writes go through and health comes back with the first commit.
        for (var i = 1; i <= 3; i++)
        {
            await writer.RunAsync(Insert(i)).WaitAsync(Patience);
        }

        Assert.True(writer.Health.IsHealthy, writer.Health.Description);
        Assert.Equal(1, writer.Restarts);
        Assert.Equal(2, Volatile.Read(ref connections));
        Assert.Equal(new[] { 1L, 2L, 3L }, await StoredIdsAsync(database));
    }

    private static string CreateDatabase(TempDirectory data)
    {
        var connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = Path.Combine(data.Path, "writer.db"),
            Pooling = false,
            // Far longer than the write timeout: a lock held elsewhere keeps the writer busy well past the deadline.
            DefaultTimeout = 30,
        }.ToString();
        using var connection = new SqliteConnection(connectionString);
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "CREATE TABLE t (id INTEGER PRIMARY KEY)";
        command.ExecuteNonQuery();
        return connectionString;
    }

    private static DbWork<int> Insert(long id) => async (connection, transaction, cancellationToken) =>
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "INSERT INTO t (id) VALUES (@id)";
        var parameter = command.CreateParameter();
        parameter.ParameterName = "@id";
        parameter.Value = id;
        command.Parameters.Add(parameter);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    };

    private static async Task<long[]> StoredIdsAsync(string database)
    {
        await using var connection = new SqliteConnection(database);
        connection.Open();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT id FROM t ORDER BY id";
        var ids = new List<long>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            ids.Add(reader.GetInt64(0));
        }

        return [.. ids];
    }

    private static async Task ExecuteAsync(SqliteConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < Patience, "the condition did not become true in time");
            await Task.Delay(20);
        }
    }

    /// <summary>A connection that works until it is closed, and then throws: a network failure while closing.</summary>
    private sealed class FailsToClose(SqliteConnection inner) : DbConnection
    {
        [AllowNull]
        public override string ConnectionString
        {
            get => inner.ConnectionString;
            set => inner.ConnectionString = value;
        }

        public override string Database => inner.Database;

        public override string DataSource => inner.DataSource;

        public override string ServerVersion => inner.ServerVersion;

        public override ConnectionState State => inner.State;

        public override void ChangeDatabase(string databaseName) => inner.ChangeDatabase(databaseName);

        public override void Close() => inner.Close();

        public override void Open() => inner.Open();

        public override async ValueTask DisposeAsync()
        {
            await inner.DisposeAsync();
            await base.DisposeAsync();
            throw new IOException("connection reset while closing");
        }

        protected override DbTransaction BeginDbTransaction(IsolationLevel isolationLevel) => inner.BeginTransaction(isolationLevel);

        protected override DbCommand CreateDbCommand() => inner.CreateCommand();
    }

    private sealed class RecordingLogger : ILogger<GroupCommitWriter>
    {
        public ConcurrentQueue<(LogLevel Level, int Id)> Entries { get; } = new();

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Entries.Enqueue((logLevel, eventId.Id));
    }
}
