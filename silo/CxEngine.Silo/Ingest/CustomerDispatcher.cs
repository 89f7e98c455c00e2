using System.Collections.Concurrent;
using System.Diagnostics;
using CxEngine.Customers;
using Microsoft.Extensions.Options;

namespace CxEngine.Silo.Ingest;

/// <summary>Receives the outcome of each submitted event, in submission order per customer.</summary>
public interface IOutcomeSink
{
    void OnOutcome(EventOutcome outcome, string customerId);

    /// <summary>The grain call for this event failed as a whole (storage, silo or timeout).</summary>
    void OnFailure(CustomerEvent evt, string customerId, Exception error);
}

/// <summary>
/// Per-customer dispatch for every ingest path on this silo. Events for one customer queue up while
/// that customer's grain is busy and go to it as one batch when it is free, so a burst costs one grain
/// call and one storage write instead of one each, and a customer's events stay in the order they
/// were submitted. Customers with nothing waiting hold no queue.
/// </summary>
public sealed class CustomerDispatcher(IGrainFactory grains, IOptions<EngineOptions> options, EngineMetrics metrics)
{
    private readonly ConcurrentDictionary<string, CustomerQueue> _queues = new(StringComparer.Ordinal);
    private readonly int _maxBatch = options.Value.Customers.MaxBatchSize;

    public void Submit(string customerId, CustomerEvent evt, IOutcomeSink sink)
    {
        var pending = new Pending(evt, sink, Stopwatch.GetTimestamp());
        while (true)
        {
            var queue = _queues.GetOrAdd(customerId, static id => new CustomerQueue(id));
            bool startDrain;
            lock (queue)
            {
                if (queue.Retired)
                {
                    // The drainer removed this queue between our lookup and the lock: take a fresh one.
                    continue;
                }

                queue.Waiting.Add(pending);
                startDrain = !queue.Draining;
                queue.Draining = true;
            }

            if (startDrain)
            {
                _ = DrainAsync(queue);
            }

            return;
        }
    }

    private async Task DrainAsync(CustomerQueue queue)
    {
        // Leave the submitter's thread at once: it goes back to reading its stream.
        await Task.Yield();
        var grain = grains.GetGrain<ICustomerGrain>(queue.CustomerId);
        while (true)
        {
            Pending[] batch;
            lock (queue)
            {
                if (queue.Waiting.Count == 0)
                {
                    queue.Draining = false;
                    queue.Retired = true;
                    _queues.TryRemove(new KeyValuePair<string, CustomerQueue>(queue.CustomerId, queue));
                    return;
                }

                batch = new Pending[Math.Min(queue.Waiting.Count, _maxBatch)];
                queue.Waiting.CopyTo(0, batch, 0, batch.Length);
                queue.Waiting.RemoveRange(0, batch.Length);
            }

            var events = new CustomerEvent[batch.Length];
            for (var i = 0; i < batch.Length; i++)
            {
                events[i] = batch[i].Event;
            }

            IReadOnlyList<EventOutcome> outcomes;
            var calledAt = Stopwatch.GetTimestamp();
            try
            {
                outcomes = await grain.ApplyAsync(events);
            }
            catch (Exception ex)
            {
                foreach (var p in batch)
                {
                    metrics.Event(EventStatus.Unavailable);
                    p.Sink.OnFailure(p.Event, queue.CustomerId, ex);
                }

                continue;
            }

            var now = Stopwatch.GetTimestamp();
            metrics.Applied(Stopwatch.GetElapsedTime(calledAt, now));
            for (var i = 0; i < batch.Length; i++)
            {
                metrics.Event(outcomes[i].Status);
                metrics.Acknowledged(Stopwatch.GetElapsedTime(batch[i].SubmittedAt, now));
                batch[i].Sink.OnOutcome(outcomes[i], queue.CustomerId);
            }
        }
    }

    private readonly record struct Pending(CustomerEvent Event, IOutcomeSink Sink, long SubmittedAt);

    private sealed class CustomerQueue(string customerId)
    {
        public string CustomerId { get; } = customerId;

        public List<Pending> Waiting { get; } = [];

        public bool Draining { get; set; }

        public bool Retired { get; set; }
    }
}
