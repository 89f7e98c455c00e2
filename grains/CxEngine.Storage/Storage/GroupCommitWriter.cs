using System.Data.Common;
using System.Diagnostics;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace CxEngine.Storage;

/// <summary>What the storage writer is doing, as the health check reports it.</summary>
public enum StorageWriterState
{
    /// <summary>Committing, or idle: nothing has failed since the last commit and no write waits too long.</summary>
    Working = 0,

    /// <summary>A commit failed, or writes timed out, and no commit has succeeded since.</summary>
    Failing = 1,

    /// <summary>The oldest unanswered write has waited longer than the write timeout: the writer is stuck.</summary>
    Stalled = 2,

    /// <summary>The writer's loop died; it is restarted with a fresh connection after a short back-off.</summary>
    Restarting = 3,

    /// <summary>Disposed: the silo is stopping.</summary>
    Stopped = 4,
}

/// <summary>The storage writer's state and a sentence for the operator.</summary>
public readonly record struct StorageWriterHealth(StorageWriterState State, string Description)
{
    public bool IsHealthy => State == StorageWriterState.Working;
}

/// <summary>
/// Group commit. On SQLite, many connections writing at once wait on its file lock with sleep-and-retry,
/// one transaction (and one fsync) each, and block the threads they run on; on PostgreSQL each commit is
/// a round trip and a WAL flush. Here a single writer owns one connection, takes everything queued while
/// the previous commit was in progress, runs it in one transaction, and commits once: one flush for the
/// whole batch. Each caller's task completes only after that commit, so an acknowledgement that awaits
/// it is still an acknowledgement of durable state.
/// </summary>
/// <remarks>
/// No silent stalls: every write has a deadline (the write timeout) after which its caller is answered
/// UNAVAILABLE, whatever the loop is doing; the loop is supervised and restarted with a fresh connection if
/// it dies; and <see cref="Health"/> says when the writer is not working, for grpc.health.v1.
/// </remarks>
public sealed partial class GroupCommitWriter : IWriteQueue, IAsyncDisposable
{
    /// <summary>As <see cref="StorageOptions.WriteTimeout"/> when the caller does not say.</summary>
    public static readonly TimeSpan DefaultWriteTimeout = TimeSpan.FromSeconds(60);

    private const int MaxBatch = 4096;
    private static readonly TimeSpan MinBackoff = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(5);

    private readonly Func<DbConnection> _connect;
    private readonly bool _savepoints;
    private readonly TimeSpan _commitLatency;
    private readonly ILogger _logger;
    private readonly TimeSpan _writeTimeout;
    private readonly long _timeoutTicks;
    private readonly long _sweepTicks;

    // The queue, the batch in flight and the loop's wake-up live under one lock: the deadline sweep must reach
    // writes still queued (a channel would hide them) and writes in the batch, whatever the loop is doing.
    private readonly Lock _lock = new();
    private readonly Queue<IWorkItem> _queued = new();
    private readonly List<IWorkItem> _batch = new(MaxBatch);
    private TaskCompletionSource? _wake;
    private bool _stopping;
    private long _batchStarted; // Stopwatch timestamp; 0 while no batch is in flight.
    private CancellationTokenSource _batchCancel = new();

    private readonly Timer _sweeper;
    private readonly Task _loop;

    // Only the loop uses the connection; once the loop has died, the supervisor closes it.
    private DbConnection? _connection;

    private volatile bool _running = true;
    private volatile bool _stopped; // From the start of disposal: health says Stopped.
    private volatile string _lastError = "";
    private long _lastSuccess;
    private long _lastFailure;
    private long _commits;
    private long _writes;
    private long _restarts;

    /// <param name="savepoints">
    /// SQLite: a failing statement is undone alone, so one failing write need not fail the batch (multi-statement
    /// work gets a savepoint). PostgreSQL: any error aborts the transaction, so a failing write fails the batch
    /// and every write in it is answered as not stored (writes do not fail on their own: conflicts return no row).
    /// It also says which driver runs the loop: SQLite's is synchronous, so its loop gets a thread of its own
    /// (<see cref="DedicatedThread"/>); PostgreSQL's is asynchronous I/O and stays on the thread pool.
    /// </param>
    /// <param name="writeTimeout">
    /// The longest a caller waits for its write to be committed before it is answered UNAVAILABLE
    /// (<see cref="StorageOptions.WriteTimeout"/>); <see cref="DefaultWriteTimeout"/> if not given.
    /// </param>
    /// <param name="commitLatency">Benchmarks only: added to every commit, as a database across a network adds (<see cref="StorageOptions.InjectedCommitLatency"/>).</param>
    public GroupCommitWriter(
        Func<DbConnection> connect, bool savepoints, ILogger<GroupCommitWriter> logger, TimeSpan? writeTimeout = null, TimeSpan commitLatency = default)
    {
        _commitLatency = commitLatency;
        _connect = connect;
        _savepoints = savepoints;
        _logger = logger;
        _writeTimeout = writeTimeout ?? DefaultWriteTimeout;
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(_writeTimeout, TimeSpan.Zero, nameof(writeTimeout));
        _timeoutTicks = ToTimestampTicks(_writeTimeout);

        // One sweep of the queue's oldest writes a few times per timeout instead of a timer per write: the hot
        // path only reads the clock. A write is answered at the latest at its deadline, at most one period early.
        var period = TimeSpan.FromTicks(Math.Clamp(_writeTimeout.Ticks / 8, TimeSpan.FromMilliseconds(20).Ticks, TimeSpan.FromSeconds(1).Ticks));
        _sweepTicks = ToTimestampTicks(period);
        _sweeper = new Timer(static state => ((GroupCommitWriter)state!).Sweep(), this, period, period);
        // PostgreSQL on the dedicated thread failed its crash tests (writes answered UNAVAILABLE), not yet understood.
        _loop = savepoints
            ? DedicatedThread.Run("cx-storage-writer", SuperviseAsync)
            : Task.Factory.StartNew(SuperviseAsync, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
    }

    /// <summary>
    /// Inside a piece of work: an object that stands for the transaction it runs in, new for every group commit, for
    /// what the writes of one transaction share (PostgreSQL's action-sequence range). Null outside a writer's work.
    /// </summary>
    public static object? CurrentTransaction => s_transactionScope.Value;

    private static readonly AsyncLocal<object?> s_transactionScope = new();

    /// <summary>Commits so far and the writes they carried, for the benchmarks and logs.</summary>
    public long Commits => Interlocked.Read(ref _commits);

    public long Writes => Interlocked.Read(ref _writes);

    /// <summary>How often the writer's loop died and was restarted.</summary>
    public long Restarts => Interlocked.Read(ref _restarts);

    /// <summary>Writes not answered yet: queued, or in the batch being committed.</summary>
    public int QueueLength
    {
        get
        {
            lock (_lock)
            {
                return _queued.Count + (_batchStarted != 0 ? _batch.Count : 0);
            }
        }
    }

    /// <summary>How long the oldest write not answered yet has waited (zero when there is none).</summary>
    public TimeSpan OldestWait
    {
        get
        {
            long oldest;
            lock (_lock)
            {
                // First in, first out: the batch in flight holds the oldest writes, then the head of the queue.
                oldest = _batchStarted != 0 ? _batch[0].Enqueued : _queued.TryPeek(out var head) ? head.Enqueued : 0;
            }

            return oldest == 0 ? TimeSpan.Zero : Stopwatch.GetElapsedTime(oldest);
        }
    }

    /// <summary>Whether the writer is working: what the silo's health check reports.</summary>
    public StorageWriterHealth Health
    {
        get
        {
            if (_stopped)
            {
                return new(StorageWriterState.Stopped, "the storage writer is stopped");
            }

            if (_loop.IsCompleted)
            {
                return new(StorageWriterState.Stopped, $"the storage writer's supervisor ended ({_lastError}); nothing will be written until the silo restarts");
            }

            if (!_running)
            {
                return new(StorageWriterState.Restarting, $"the storage writer's loop died ({_lastError}); it is restarting with a fresh connection");
            }

            var failure = Interlocked.Read(ref _lastFailure);
            if (failure != 0 && failure >= Interlocked.Read(ref _lastSuccess))
            {
                return new(StorageWriterState.Failing, $"no commit has succeeded since the last failure: {_lastError}");
            }

            var oldest = OldestWait;
            if (oldest > _writeTimeout)
            {
                return new(StorageWriterState.Stalled, $"the oldest write has waited {oldest.TotalSeconds:0.0} s, longer than the write timeout of {_writeTimeout.TotalSeconds:0.#} s");
            }

            return new(StorageWriterState.Working, $"{Commits} commits; {QueueLength} writes waiting");
        }
    }

    public Task<T> RunAsync<T>(DbWork<T> work, WriteIsolation isolation = WriteIsolation.Statement)
    {
        var item = new WorkItem<T>(work, isolation, Stopwatch.GetTimestamp(), StorageTracing.CurrentCommit);
        Enqueue(item);
        return item.Completion.Task;
    }

    public Task<TResult> RunAsync<TWrite, TResult>(IWriteGroup<TWrite, TResult> group, TWrite write)
    {
        var item = new GroupedItem<TWrite, TResult>(group, write, Stopwatch.GetTimestamp(), StorageTracing.CurrentCommit);
        Enqueue(item);
        return item.Completion.Task;
    }

    private void Enqueue(IWorkItem item)
    {
        TaskCompletionSource? wake;
        lock (_lock)
        {
            if (_stopping)
            {
                throw new StorageUnavailableException("the storage writer is stopped");
            }

            _queued.Enqueue(item);
            wake = _wake;
            _wake = null;
        }

        wake?.TrySetResult();
    }

    public async ValueTask DisposeAsync()
    {
        TaskCompletionSource? wake;
        lock (_lock)
        {
            _stopping = true;
            wake = _wake;
            _wake = null;
        }

        wake?.TrySetResult();
        _stopped = true;

        // What is queued is still committed, but a loop stuck in a batch must not hold up the silo's shutdown.
        await _loop.WaitAsync(_writeTimeout).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await _sweeper.DisposeAsync();
        lock (_lock)
        {
            FailAllLocked(
                () => new StorageUnavailableException("the storage writer stopped before the write was committed; it may or may not have been stored; retry with the same event_id"),
                () => new StorageUnavailableException("the storage writer stopped before the write was started; nothing was stored"));
        }
    }

    /// <summary>
    /// Runs the loop and, if it dies (an exception escaped the per-batch handling, e.g. closing a broken
    /// connection threw), answers every write it held, backs off briefly and starts it again on a fresh connection.
    /// </summary>
    private async Task SuperviseAsync()
    {
        var backoff = MinBackoff;
        var commitsAtStart = 0L;
        while (true)
        {
            try
            {
                _running = true;
                await LoopAsync();
                return;
            }
            catch (Exception ex)
            {
                _running = false;
                MarkFailure($"the writer's loop died: {ex.Message}");
                Interlocked.Increment(ref _restarts);
                if (Commits > commitsAtStart)
                {
                    // It worked for a while since its last start: a new fault, not the same one again.
                    backoff = MinBackoff;
                }

                int failed;
                lock (_lock)
                {
                    // A batch the loop died in was never committed: its transaction goes with the connection.
                    failed = FailAllLocked(
                        () => new StorageUnavailableException("the storage writer failed before committing the write; nothing was stored", ex),
                        () => new StorageUnavailableException("the storage writer failed and is restarting; the write was not started; nothing was stored", ex));
                }

                LogLoopDied(_logger, ex, failed, backoff);
                await CloseConnectionQuietlyAsync();
                await Task.Delay(backoff);
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));
                commitsAtStart = Commits;
            }
        }
    }

    private async Task LoopAsync()
    {
        while (await TakeBatchAsync())
        {
            var batch = _batch;
            var cancellationToken = _batchCancel.Token;
            try
            {
                var connection = _connection;
                if (connection is null)
                {
                    connection = _connection = _connect();
                    await connection.OpenAsync(cancellationToken);
                }

                // Work gets the batch's token, cancelled once the batch has run longer than the write timeout. The
                // commit does not: once the work is done, committing it is the point.
                await using var transaction = await connection.BeginTransactionAsync();
                // A fresh identity per transaction: drivers reuse their transaction objects (Npgsql does).
                s_transactionScope.Value = new object();
                for (var i = 0; i < batch.Count; i++)
                {
                    if (batch[i].Isolation is not { } isolation)
                    {
                        // A group's write takes the writes of its group that follow it along; a throw fails the batch.
                        i += await batch[i].RunAsync(connection, transaction, batch, i, cancellationToken) - 1;
                        continue;
                    }

                    // Each piece of work of its own is all or nothing; one failing does not undo the others. A single
                    // statement is undone by SQLite itself; several need a savepoint.
                    var savepoint = _savepoints && isolation == WriteIsolation.Savepoint;
                    if (savepoint)
                    {
                        await Savepoint(connection, transaction, "SAVEPOINT w");
                    }

                    try
                    {
                        await batch[i].RunAsync(connection, transaction, batch, i, cancellationToken);
                        if (savepoint)
                        {
                            await Savepoint(connection, transaction, "RELEASE w");
                        }
                    }
                    catch (Exception ex) when (_savepoints && ex is not SqliteException { SqliteErrorCode: 10 or 13 }) // I/O error, disk full: the whole batch fails
                    {
                        if (savepoint)
                        {
                            await Savepoint(connection, transaction, "ROLLBACK TO w");
                            await Savepoint(connection, transaction, "RELEASE w");
                        }

                        batch[i].Fail(ex);
                    }
                }

                await transaction.CommitAsync();
                if (_commitLatency > TimeSpan.Zero)
                {
                    await Task.Delay(_commitLatency);
                }

                // Out of flight before the success is recorded, so that a sweep cannot mark these writes as timed out after it.
                EndBatch();
                Interlocked.Exchange(ref _lastSuccess, Stopwatch.GetTimestamp());
                Interlocked.Increment(ref _commits);
                Interlocked.Add(ref _writes, batch.Count);
                foreach (var item in batch)
                {
                    item.Trace?.SetTag(StorageTracing.BatchSizeTag, batch.Count);
                    item.Complete();
                }
            }
            catch (Exception ex)
            {
                MarkFailure(ex.Message);
                LogBatchFailed(_logger, ex, batch.Count);
                foreach (var item in batch)
                {
                    item.Fail(new StorageUnavailableException("the database could not commit the write; nothing was stored", ex));
                }

                EndBatch();

                // Start over with a fresh connection. If closing the broken one throws, the loop dies and its
                // supervisor restarts it.
                if (_connection is { } broken)
                {
                    _connection = null;
                    await broken.DisposeAsync();
                }
            }
        }

        if (_connection is { } last)
        {
            _connection = null;
            await last.DisposeAsync();
        }
    }

    /// <summary>Fills the batch with what is queued, waiting for work; false once stopped with nothing left.</summary>
    private async ValueTask<bool> TakeBatchAsync()
    {
        while (true)
        {
            Task wake;
            lock (_lock)
            {
                _batch.Clear();
                while (_batch.Count < MaxBatch && _queued.TryDequeue(out var item))
                {
                    _batch.Add(item);
                }

                if (_batch.Count > 0)
                {
                    if (!_batchCancel.TryReset())
                    {
                        // Cancelled by the sweep; its callbacks may still run, so it is left to the collector.
                        _batchCancel = new CancellationTokenSource();
                    }

                    _batchStarted = Stopwatch.GetTimestamp();
                    return true;
                }

                if (_stopping)
                {
                    return false;
                }

                // Continuations run on the pool: a writer's TrySetResult must not run the loop on the caller's thread.
                _wake ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                wake = _wake.Task;
            }

            await wake;
        }
    }

    private void EndBatch()
    {
        lock (_lock)
        {
            _batchStarted = 0;
        }
    }

    /// <summary>
    /// Answers every write whose deadline falls before the next sweep, queued or in flight; asks a batch that has
    /// run longer than the write timeout to stop. Runs on a timer, so the loop being stuck does not stop it.
    /// </summary>
    private void Sweep()
    {
        try
        {
            var now = Stopwatch.GetTimestamp();
            var due = now + _sweepTicks - _timeoutTicks;
            int started = 0, waiting = 0;
            var cancelled = false;
            lock (_lock)
            {
                var inFlight = _batchStarted != 0;
                if ((inFlight && _batch[0].Enqueued <= due) || (_queued.TryPeek(out var head) && head.Enqueued <= due))
                {
                    // Unhealthy before any caller hears of it, and until a commit succeeds after this.
                    MarkFailure($"writes waited longer than the write timeout ({_writeTimeout.TotalSeconds:0.#} s)");
                }

                if (inFlight)
                {
                    for (var i = 0; i < _batch.Count && _batch[i].Enqueued <= due; i++)
                    {
                        // Still in the transaction, which may yet commit.
                        if (_batch[i].Expire(new StorageUnavailableException(
                            $"the write was not committed within the write timeout ({_writeTimeout.TotalSeconds:0.#} s); it may or may not have been stored; retry with the same event_id")))
                        {
                            started++;
                        }
                    }

                    if (now - _batchStarted >= _timeoutTicks && !_batchCancel.IsCancellationRequested)
                    {
                        // Asynchronously: a driver's cancellation callback (a network round trip) must not run under the lock.
                        _ = _batchCancel.CancelAsync();
                        cancelled = true;
                    }
                }

                while (_queued.TryPeek(out var item) && item.Enqueued <= due)
                {
                    // Taken out of the queue here, so the loop never starts it.
                    _queued.Dequeue();
                    item.Fail(new StorageUnavailableException(
                        $"the write was not started within the write timeout ({_writeTimeout.TotalSeconds:0.#} s); nothing was stored; retry with the same event_id"));
                    waiting++;
                }
            }

            if (started + waiting > 0)
            {
                LogWritesTimedOut(_logger, started + waiting, started, _writeTimeout);
            }

            if (cancelled)
            {
                LogBatchCancelled(_logger, _writeTimeout);
            }
        }
        catch (Exception ex)
        {
            // A timer callback that throws would end the process.
            LogSweepFailed(_logger, ex);
        }
    }

    /// <summary>Fails the batch in flight and everything queued; returns how many writes that answered.</summary>
    private int FailAllLocked(Func<Exception> inFlight, Func<Exception> queued)
    {
        var failed = 0;
        if (_batchStarted != 0)
        {
            foreach (var item in _batch)
            {
                failed += item.Expire(inFlight()) ? 1 : 0;
            }

            _batchStarted = 0;
        }

        while (_queued.TryDequeue(out var item))
        {
            item.Fail(queued());
            failed++;
        }

        return failed;
    }

    private void MarkFailure(string error)
    {
        _lastError = error;
        Interlocked.Exchange(ref _lastFailure, Stopwatch.GetTimestamp());
    }

    private async Task CloseConnectionQuietlyAsync()
    {
        if (_connection is not { } connection)
        {
            return;
        }

        _connection = null;
        try
        {
            await connection.DisposeAsync();
        }
        catch (Exception ex)
        {
            // It is being replaced because something went wrong with it; that closing it fails too changes nothing.
            LogCloseFailed(_logger, ex);
        }
    }

    private static long ToTimestampTicks(TimeSpan time) => (long)(time.TotalSeconds * Stopwatch.Frequency);

    private async Task Savepoint(DbConnection connection, DbTransaction transaction, string sql)
    {
        // Two to four of these run for every atomic write: compiled once per connection, not once per write.
        var commands = _savepointCommands.GetValue(connection, static _ => new Dictionary<string, DbCommand>(StringComparer.Ordinal));
        if (!commands.TryGetValue(sql, out var command))
        {
            command = connection.CreateCommand();
            command.CommandText = sql;
            commands[sql] = command;
        }

        command.Transaction = transaction;
        await command.ExecuteNonQueryAsync();
    }

    private readonly System.Runtime.CompilerServices.ConditionalWeakTable<DbConnection, Dictionary<string, DbCommand>> _savepointCommands = [];

    private interface IWorkItem
    {
        /// <summary>How work of its own fails alone; null for a write of a group (<see cref="IWriteGroup{TWrite, TResult}"/>), whose throw fails the batch.</summary>
        WriteIsolation? Isolation { get; }

        /// <summary>When it was queued (Stopwatch timestamp).</summary>
        long Enqueued { get; }

        /// <summary>The storage span it was queued under (tracing on, and a customer's commit).</summary>
        Activity? Trace { get; }

        /// <summary>
        /// Runs this write, which is <paramref name="batch"/>[<paramref name="start"/>]; a group's write runs the writes of its
        /// group that follow it too. Returns how many writes of the batch it ran.
        /// </summary>
        Task<int> RunAsync(DbConnection connection, DbTransaction transaction, List<IWorkItem> batch, int start, CancellationToken cancellationToken);

        void Complete();

        void Fail(Exception error);

        /// <summary>Answers the caller now, whatever the batch does later; false if it was answered already.</summary>
        bool Expire(Exception error);
    }

    /// <summary>What every write carries: its caller's task, its result until the commit, its queueing time and trace.</summary>
    private abstract class WorkItemBase<T>(long enqueued, Activity? trace)
    {
        public long Enqueued => enqueued;

        public Activity? Trace => trace;

        private T _result = default!;
        private Exception? _error;

        /// <summary>The result, answered once the transaction commits.</summary>
        public void Store(T result) => _result = result;

        public TaskCompletionSource<T> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

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

        public bool Expire(Exception error) => Completion.TrySetException(error);
    }

    private sealed class WorkItem<T>(DbWork<T> work, WriteIsolation isolation, long enqueued, Activity? trace)
        : WorkItemBase<T>(enqueued, trace), IWorkItem
    {
        public WriteIsolation? Isolation => isolation;

        public async Task<int> RunAsync(DbConnection connection, DbTransaction transaction, List<IWorkItem> batch, int start, CancellationToken cancellationToken)
        {
            Store(await work(connection, transaction, cancellationToken));
            return 1;
        }
    }

    private sealed class GroupedItem<TWrite, TResult>(IWriteGroup<TWrite, TResult> group, TWrite write, long enqueued, Activity? trace)
        : WorkItemBase<TResult>(enqueued, trace), IWorkItem
    {
        public WriteIsolation? Isolation => null;

        public async Task<int> RunAsync(DbConnection connection, DbTransaction transaction, List<IWorkItem> batch, int start, CancellationToken cancellationToken)
        {
            var end = start + 1;
            while (end < batch.Count && batch[end] is GroupedItem<TWrite, TResult> next && ReferenceEquals(next.Group, group))
            {
                end++;
            }

            var writes = new TWrite[end - start];
            for (var i = 0; i < writes.Length; i++)
            {
                writes[i] = ((GroupedItem<TWrite, TResult>)batch[start + i]).Write;
            }

            var results = new TResult[writes.Length];
            await group.RunAsync(connection, transaction, writes, results, cancellationToken);
            for (var i = 0; i < results.Length; i++)
            {
                ((GroupedItem<TWrite, TResult>)batch[start + i]).Store(results[i]);
            }

            return writes.Length;
        }

        private IWriteGroup<TWrite, TResult> Group => group;

        private TWrite Write => write;
    }

    [LoggerMessage(EventId = 3101, Level = LogLevel.Error, Message = "A group commit of {Count} writes failed; every write in it is answered as not stored")]
    private static partial void LogBatchFailed(ILogger logger, Exception exception, int count);

    [LoggerMessage(EventId = 3102, Level = LogLevel.Critical, Message = "The storage writer's loop died; {Count} writes it held are answered as not stored; it restarts with a fresh connection in {Backoff}")]
    private static partial void LogLoopDied(ILogger logger, Exception exception, int count, TimeSpan backoff);

    [LoggerMessage(EventId = 3103, Level = LogLevel.Error, Message = "{Count} writes ({InFlight} of them in the transaction) were not committed within the write timeout ({Timeout}); their callers are answered UNAVAILABLE")]
    private static partial void LogWritesTimedOut(ILogger logger, int count, int inFlight, TimeSpan timeout);

    [LoggerMessage(EventId = 3104, Level = LogLevel.Error, Message = "A group commit has run longer than the write timeout ({Timeout}); its work is asked to stop")]
    private static partial void LogBatchCancelled(ILogger logger, TimeSpan timeout);

    [LoggerMessage(EventId = 3105, Level = LogLevel.Error, Message = "The storage writer's deadline sweep failed")]
    private static partial void LogSweepFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 3106, Level = LogLevel.Warning, Message = "Closing the storage writer's broken connection failed")]
    private static partial void LogCloseFailed(ILogger logger, Exception exception);
}
