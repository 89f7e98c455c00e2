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
/// Group commit. On SQLite, many connections writing at once wait on its file lock with sleep-and-retry,
/// one transaction (and one fsync) each, and block the threads they run on; on PostgreSQL each commit is
/// a round trip and a WAL flush. Here a single writer owns one connection, takes everything queued while
/// the previous commit was in progress, runs it in one transaction, and commits once: one flush for the
/// whole batch. Each caller's task completes only after that commit, so an acknowledgement that awaits
/// it is still an acknowledgement of durable state.
/// </summary>
public sealed partial class GroupCommitWriter : IWriteQueue, IAsyncDisposable
{
    private const int MaxBatch = 4096;

    private readonly Channel<IWorkItem> _queue = Channel.CreateUnbounded<IWorkItem>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Func<DbConnection> _connect;
    private readonly bool _savepoints;
    private readonly ILogger _logger;
    private readonly Task _loop;

    /// <param name="savepoints">
    /// SQLite: a failing statement is undone alone, so one failing write need not fail the batch (multi-statement
    /// work gets a savepoint). PostgreSQL: any error aborts the transaction, so a failing write fails the batch
    /// and every write in it is answered as not stored (writes do not fail on their own: conflicts return no row).
    /// </param>
    public GroupCommitWriter(Func<DbConnection> connect, bool savepoints, ILogger<GroupCommitWriter> logger)
    {
        _connect = connect;
        _savepoints = savepoints;
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
            throw new StorageUnavailableException("the storage writer is stopped");
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
        DbConnection? connection = null;
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
                    connection = _connect();
                    await connection.OpenAsync();
                }

                await using var transaction = await connection.BeginTransactionAsync();
                for (var i = 0; i < batch.Count; i++)
                {
                    // Each piece of work is all or nothing on its own; one failing does not undo the others.
                    // A single statement is undone by SQLite itself; several need a savepoint.
                    var atomic = _savepoints && batch[i].Atomic;
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
                    catch (Exception ex) when (_savepoints && ex is not SqliteException { SqliteErrorCode: 10 or 13 }) // I/O error, disk full: the whole batch fails
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
                    item.Fail(new StorageUnavailableException("the database could not commit the write; nothing was stored", ex));
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

    private static async Task Savepoint(DbConnection connection, DbTransaction transaction, string sql)
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

    [LoggerMessage(EventId = 3101, Level = LogLevel.Error, Message = "A group commit of {Count} writes failed; every write in it is answered as not stored")]
    private static partial void LogBatchFailed(ILogger logger, Exception exception, int count);
}
