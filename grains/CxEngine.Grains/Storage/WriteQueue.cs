using System.Data.Common;
using System.Threading.Channels;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace CxEngine.Storage;

/// <summary>A unit of database work run inside a transaction; returns its result once the transaction commits.</summary>
public delegate Task<T> DbWork<T>(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken);

/// <summary>Where writes to the engine's database go.</summary>
public interface IWriteQueue
{
    /// <summary>
    /// Runs the work in a transaction and completes after the commit. Work of several statements that must
    /// stand or fall together says so with <paramref name="atomic"/>; a single statement is atomic anyway.
    /// </summary>
    Task<T> RunAsync<T>(DbWork<T> work, bool atomic = false);
}

/// <summary>
/// Group commit for SQLite. SQLite has one writer at a time; many connections writing at once wait
/// on its file lock with sleep-and-retry, one transaction (and one fsync) each, and block the threads
/// they run on. Here a single long-running writer owns one connection, takes everything queued while
/// the previous commit was in progress, runs each piece in a savepoint of one transaction, and commits
/// once: one fsync for the whole batch. Each caller's task completes only after that commit, so an
/// acknowledgement that awaits it is still an acknowledgement of durable state.
/// </summary>
public sealed partial class SqliteWriter : IWriteQueue, IAsyncDisposable
{
    private const int MaxBatch = 4096;

    private readonly Channel<IWorkItem> _queue = Channel.CreateUnbounded<IWorkItem>(new UnboundedChannelOptions { SingleReader = true });
    private readonly string _connectionString;
    private readonly ILogger _logger;
    private readonly Task _loop;

    public SqliteWriter(string connectionString, ILogger<SqliteWriter> logger)
    {
        _connectionString = connectionString;
        _logger = logger;
        _loop = Task.Factory.StartNew(LoopAsync, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
    }

    /// <summary>Commits so far and the writes they carried, for the benchmarks and logs.</summary>
    public long Commits => Interlocked.Read(ref _commits);

    public long Writes => Interlocked.Read(ref _writes);

    private long _commits;
    private long _writes;

    public Task<T> RunAsync<T>(DbWork<T> work, bool atomic = false)
    {
        var item = new WorkItem<T>(work, atomic);
        if (!_queue.Writer.TryWrite(item))
        {
            throw new StorageUnavailableException("the SQLite writer is stopped");
        }

        return item.Completion.Task;
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    private async Task LoopAsync()
    {
        SqliteConnection? connection = null;
        var batch = new List<IWorkItem>(MaxBatch);
        while (await _queue.Reader.WaitToReadAsync())
        {
            batch.Clear();
            while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var item))
            {
                batch.Add(item);
            }

            try
            {
                if (connection is null)
                {
                    connection = new SqliteConnection(_connectionString);
                    await connection.OpenAsync();
                }

                await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync();
                for (var i = 0; i < batch.Count; i++)
                {
                    // Each piece of work is all or nothing on its own; one failing does not undo the others.
                    // A single statement is undone by SQLite itself; several need a savepoint.
                    var atomic = batch[i].Atomic;
                    if (atomic)
                    {
                        await Savepoint(connection, transaction, "SAVEPOINT w");
                    }

                    try
                    {
                        await batch[i].RunAsync(connection, transaction);
                        if (atomic)
                        {
                            await Savepoint(connection, transaction, "RELEASE w");
                        }
                    }
                    catch (Exception ex) when (ex is not SqliteException { SqliteErrorCode: 10 or 13 }) // I/O error, disk full: the whole batch fails
                    {
                        if (atomic)
                        {
                            await Savepoint(connection, transaction, "ROLLBACK TO w");
                            await Savepoint(connection, transaction, "RELEASE w");
                        }

                        batch[i].Fail(ex);
                    }
                }

                await transaction.CommitAsync();
                Interlocked.Increment(ref _commits);
                Interlocked.Add(ref _writes, batch.Count);
                foreach (var item in batch)
                {
                    item.Complete();
                }
            }
            catch (Exception ex)
            {
                LogBatchFailed(_logger, ex, batch.Count);
                foreach (var item in batch)
                {
                    item.Fail(new StorageUnavailableException("SQLite could not commit the write; nothing was stored", ex));
                }

                // Start over with a fresh connection.
                if (connection is not null)
                {
                    await connection.DisposeAsync();
                    connection = null;
                }
            }
        }

        if (connection is not null)
        {
            await connection.DisposeAsync();
        }
    }

    private static async Task Savepoint(SqliteConnection connection, SqliteTransaction transaction, string sql)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    private interface IWorkItem
    {
        bool Atomic { get; }

        Task RunAsync(DbConnection connection, DbTransaction transaction);

        void Complete();

        void Fail(Exception error);
    }

    private sealed class WorkItem<T>(DbWork<T> work, bool atomic) : IWorkItem
    {
        public bool Atomic => atomic;

        private T _result = default!;
        private Exception? _error;

        public TaskCompletionSource<T> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async Task RunAsync(DbConnection connection, DbTransaction transaction) =>
            _result = await work(connection, transaction, CancellationToken.None);

        public void Complete()
        {
            if (_error is null)
            {
                Completion.TrySetResult(_result);
            }
            else
            {
                Completion.TrySetException(_error);
            }
        }

        public void Fail(Exception error)
        {
            _error = error;
            Completion.TrySetException(error);
        }
    }

    [LoggerMessage(EventId = 3101, Level = LogLevel.Error, Message = "A SQLite group commit of {Count} writes failed; every write in it is answered as not stored")]
    private static partial void LogBatchFailed(ILogger logger, Exception exception, int count);
}

/// <summary>For PostgreSQL: each piece of work in its own transaction on a pooled connection (PostgreSQL commits concurrently).</summary>
public sealed class DirectWriteQueue(Func<DbConnection> connect) : IWriteQueue
{
    public async Task<T> RunAsync<T>(DbWork<T> work, bool atomic = false)
    {
        await using var connection = connect();
        await connection.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        var result = await work(connection, transaction, CancellationToken.None);
        await transaction.CommitAsync();
        return result;
    }
}
