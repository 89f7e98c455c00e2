namespace CxEngine.Storage;

/// <summary>
/// The silo's storage writers: one <see cref="GroupCommitWriter"/> per writer connection. On PostgreSQL several commit
/// at once, so the database overlaps their flushes (and, across a network, their round trips); SQLite has one. A write
/// goes to the writer with the fewest writes waiting. A customer never has two commits in flight (its grain awaits
/// each), and the action log needs no order between transactions (<see cref="Recovery.ActionSequences"/>), so writes
/// of different connections need no order among them.
/// </summary>
public sealed class WriterPool : IWriteQueue, IAsyncDisposable
{
    private readonly GroupCommitWriter[] _writers;

    public WriterPool(int connections, Func<GroupCommitWriter> create)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(connections, 1);
        _writers = [.. Enumerable.Range(0, connections).Select(_ => create())];
    }

    public int Connections => _writers.Length;

    public long Commits => _writers.Sum(w => w.Commits);

    public long Writes => _writers.Sum(w => w.Writes);

    public long Restarts => _writers.Sum(w => w.Restarts);

    public int QueueLength => _writers.Sum(w => w.QueueLength);

    public TimeSpan OldestWait => _writers.Max(w => w.OldestWait);

    /// <summary>Working when every writer is; otherwise the worst writer's state, and how many share it.</summary>
    public StorageWriterHealth Health
    {
        get
        {
            if (_writers.Length == 1)
            {
                return _writers[0].Health;
            }

            var each = _writers.Select(w => w.Health).ToArray();
            var worst = each.MaxBy(h => h.State);
            return worst.IsHealthy
                ? new(StorageWriterState.Working, $"{Commits} commits over {_writers.Length} writer connections; {QueueLength} writes waiting")
                : worst with { Description = $"{each.Count(h => h.State == worst.State)} of {_writers.Length} writer connections: {worst.Description}" };
        }
    }

    public Task<T> RunAsync<T>(DbWork<T> work, WriteIsolation isolation = WriteIsolation.Statement) => Pick().RunAsync(work, isolation);

    public Task<TResult> RunAsync<TWrite, TResult>(IWriteGroup<TWrite, TResult> group, TWrite write) => Pick().RunAsync(group, write);

    private GroupCommitWriter Pick()
    {
        var best = _writers[0];
        if (_writers.Length == 1)
        {
            return best;
        }

        var fewest = best.QueueLength;
        for (var i = 1; i < _writers.Length && fewest > 0; i++)
        {
            var waiting = _writers[i].QueueLength;
            if (waiting < fewest)
            {
                (best, fewest) = (_writers[i], waiting);
            }
        }

        return best;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var writer in _writers)
        {
            await writer.DisposeAsync();
        }
    }
}
