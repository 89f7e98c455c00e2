using CxEngine.Customers;
using Microsoft.Extensions.DependencyInjection;

namespace CxEngine.Recovery;

/// <summary>
/// The single writer of the action log. Reentrant so that appends from many customers arriving while a
/// write is in progress wait together and go to the database as the next batch (one transaction);
/// batches commit strictly one after another, so sequences become visible in order, without gaps.
/// </summary>
[Reentrant]
public sealed class ActionLogGrain(
    RecoveryStore store,
    ActionFeed feed,
    EngineMetrics metrics,
    [FromKeyedServices(EngineClock.Key)] TimeProvider clock) : Grain, IActionLogGrain
{
    private List<Pending> _waiting = [];
    private Task _writing = Task.CompletedTask;

    public async Task<long[]> AppendAsync(IReadOnlyList<RecoveryActionRecord> entries)
    {
        var pending = new Pending(entries, new TaskCompletionSource<long[]>(TaskCreationOptions.RunContinuationsAsynchronously));
        _waiting.Add(pending);
        if (_writing.IsCompleted)
        {
            _writing = WriteLoopAsync();
        }

        return await pending.Done.Task;
    }

    private async Task WriteLoopAsync()
    {
        while (_waiting.Count > 0)
        {
            var batch = _waiting;
            _waiting = [];
            var all = batch.SelectMany(p => p.Entries).ToArray();
            try
            {
                var sequences = await store.AppendAsync(all, clock.GetUtcNow().UtcDateTime);
                var offset = 0;
                foreach (var p in batch)
                {
                    p.Done.TrySetResult(sequences[offset..(offset + p.Entries.Count)]);
                    offset += p.Entries.Count;
                }

                feed.Wake();
                foreach (var entry in all)
                {
                    metrics.Action(entry);
                }
            }
            catch (Exception ex)
            {
                foreach (var p in batch)
                {
                    p.Done.TrySetException(new StorageUnavailableException("the action log could not be written; retry", ex));
                }
            }
        }
    }

    private sealed record Pending(IReadOnlyList<RecoveryActionRecord> Entries, TaskCompletionSource<long[]> Done);
}
