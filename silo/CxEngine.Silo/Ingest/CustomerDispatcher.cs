using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using CxEngine.Customers;
using CxEngine.Silo.Tracing;
using Microsoft.Extensions.Options;

namespace CxEngine.Silo.Ingest;

/// <summary>Why an event is answered UNAVAILABLE without an outcome from its grain.</summary>
public enum DispatchFailure
{
    /// <summary>The grain call failed (storage, silo lost, message rejected): the event was not applied.</summary>
    NotApplied = 0,

    /// <summary>The grain call timed out: the grain may still apply the event, so it may or may not have been.</summary>
    MayHaveApplied = 1,

    /// <summary>Never sent: an earlier event of the same customer failed, and applying this one first would reorder them.</summary>
    EarlierEventFailed = 2,
}

/// <summary>Receives the outcome of each submitted event, in submission order per customer.</summary>
public interface IOutcomeSink
{
    /// <summary>
    /// The sender whose order survives a failure (a stream, a batch call): once an event of a customer from this
    /// scope fails, the scope's later events of that customer are answered UNAVAILABLE unsent until the failed one
    /// is sent again. Each sink is its own scope unless it says otherwise.
    /// </summary>
    object OrderScope => this;

    void OnOutcome(EventOutcome outcome, string customerId);

    /// <summary>
    /// The event got no outcome from its grain. <paramref name="error"/> is the failed grain call's exception,
    /// or null when an earlier event came back UNAVAILABLE from the grain.
    /// </summary>
    void OnFailure(CustomerEvent evt, string customerId, DispatchFailure failure, Exception? error);
}

/// <summary>
/// Per-customer dispatch for every ingest path on this silo. Events for one customer queue up while
/// that customer's grain is busy and go to it as one batch when it is free, so a burst costs one grain
/// call and one storage write instead of one each, and a customer's events stay in the order they
/// were submitted. Customers with nothing waiting hold no queue.
/// </summary>
/// <remarks>
/// Order is kept across failures too: when a batch fails (the call throws, or any event in it comes back
/// UNAVAILABLE), the customer's events already queued behind it are answered UNAVAILABLE without being
/// sent, so none is applied ahead of the failed ones and a client that resends in order restores the order.
/// A sender that goes on regardless cannot reorder either: its later events of the customer (those of the same
/// <see cref="IOutcomeSink.OrderScope"/>) are answered UNAVAILABLE unsent until it resends the first failed one.
/// </remarks>
public sealed partial class CustomerDispatcher(
    IGrainFactory grains,
    IOptions<EngineOptions> options,
    EngineMetrics metrics,
    ILogger<CustomerDispatcher> logger)
{
    /// <summary>What a client is told about an event that got no outcome from its grain, and what to do.</summary>
    public static string Describe(DispatchFailure failure, Exception? error) => failure switch
    {
        // A timed-out grain call may still complete; resending is safe since a stored event_id is a duplicate.
        DispatchFailure.MayHaveApplied =>
            $"the event may or may not have been applied ({error?.GetType().Name}): resend it with the same event_id",
        DispatchFailure.EarlierEventFailed =>
            "not applied: an earlier event of this customer failed; retry them in order with the same event_ids",
        // The grain's own words say best what storage did (e.g. a write that may or may not have been stored).
        _ when error is StorageUnavailableException => error.Message,
        _ => $"the event was not applied ({error?.GetType().Name ?? "unavailable"}); retry it with the same event_id",
    };

    private readonly ConcurrentDictionary<string, CustomerQueue> _queues = new(StringComparer.Ordinal);

    // Per order scope (a stream, a batch call), the customers whose events failed in it; gone with the scope.
    private readonly ConditionalWeakTable<object, FailedCustomers> _fences = [];
    private readonly int _maxBatch = options.Value.Customers.MaxBatchSize;

    public void Submit(string customerId, CustomerEvent evt, IOutcomeSink sink)
    {
        // The caller's span is kept only while tracing listens, as a reference: a Pending of four words.
        var pending = new Pending(evt, sink, Stopwatch.GetTimestamp(), EngineTracing.Ingest.HasListeners() ? Activity.Current : null);
        while (true)
        {
            var queue = _queues.GetOrAdd(customerId, static id => new CustomerQueue(id));
            bool startDrain, blocked;
            lock (queue)
            {
                if (queue.Retired)
                {
                    // The drainer removed this queue between our lookup and the lock: take a fresh one.
                    continue;
                }

                // Checked under the queue's lock, where failures are recorded before they are answered: an event
                // that arrives after its scope's failure can neither be sent nor slip in between.
                blocked = _fences.TryGetValue(sink.OrderScope, out var failed) && failed.Blocks(customerId, evt.EventId);
                startDrain = false;
                if (!blocked)
                {
                    queue.Add(pending);
                    startDrain = !queue.Draining;
                    queue.Draining = true;
                }
            }

            if (blocked)
            {
                Fail(customerId, pending, DispatchFailure.EarlierEventFailed, null);
                return;
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
        // Kept outside the loop so that, whatever breaks it, the finally block knows which events of the
        // batch in hand are still unanswered.
        Pending[] batch = [];
        var answered = 0;
        var retired = false;
        Exception? unexpected = null;
        try
        {
            // Leave the submitter's thread at once: it goes back to reading its stream.
            await Task.Yield();
            var grain = grains.GetCustomer(queue.CustomerId);
            while (true)
            {
                lock (queue)
                {
                    if (queue.Count == 0)
                    {
                        Retire(queue);
                        retired = true;
                        return;
                    }

                    batch = queue.Take(_maxBatch);
                    answered = 0;
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
                    using var trace = StartDispatchSpan(batch);
                    outcomes = await grain.ApplyAsync(events);
                }
                catch (Exception ex)
                {
                    // A timed-out call may still run in the grain; any other failure stopped before storing.
                    var failure = ex is TimeoutException ? DispatchFailure.MayHaveApplied : DispatchFailure.NotApplied;
                    LogBatchFailed(logger, ex, queue.CustomerId, batch.Length, failure);
                    var queuedBehind = FenceAndTakeBehind(queue, batch);
                    for (; answered < batch.Length; answered++)
                    {
                        Fail(queue.CustomerId, batch[answered], failure, ex);
                    }

                    FailBehind(queue.CustomerId, queuedBehind, ex);
                    continue;
                }

                if (outcomes.Count != batch.Length)
                {
                    // A bug, not an outage: the finally block answers the batch as possibly applied.
                    throw new InvalidOperationException(
                        $"the customer grain answered {outcomes.Count} outcomes for {batch.Length} events");
                }

                var now = Stopwatch.GetTimestamp();
                try
                {
                    metrics.Applied(Stopwatch.GetElapsedTime(calledAt, now));
                }
                catch (Exception ex)
                {
                    LogMetricsFailed(logger, ex, queue.CustomerId);
                }

                // The failures are recorded before any of them is answered (see Submit).
                Pending[] behind = [];
                if (AnyUnavailable(outcomes))
                {
                    LogBatchUnavailable(logger, queue.CustomerId, batch.Length);
                    behind = FenceAndTakeBehind(queue, batch.Where((_, i) => outcomes[i].Status == EventStatus.Unavailable));
                }

                for (; answered < batch.Length; answered++)
                {
                    Answer(queue.CustomerId, batch[answered], outcomes[answered], now);
                }

                FailBehind(queue.CustomerId, behind, null);
            }
        }
        catch (Exception ex)
        {
            unexpected = ex;
            LogDrainFailed(logger, ex, queue.CustomerId);
        }
        finally
        {
            if (!retired)
            {
                // Only reached when something unexpected broke the loop. No event may wait forever and the
                // customer may not stay marked as draining (its later events would never be sent): answer
                // what is left of the batch, then release the queue and answer what was waiting in it.
                Pending[] left = [];
                try
                {
                    lock (queue)
                    {
                        Fence(queue.CustomerId, batch.Skip(answered));
                    }

                    for (; answered < batch.Length; answered++)
                    {
                        // The call may have reached the grain before the failure, so it may have been applied.
                        Fail(queue.CustomerId, batch[answered], DispatchFailure.MayHaveApplied, unexpected);
                    }
                }
                finally
                {
                    lock (queue)
                    {
                        left = queue.Take(int.MaxValue);
                        Fence(queue.CustomerId, left);
                        Retire(queue);
                    }
                }

                var failure = batch.Length > 0 ? DispatchFailure.EarlierEventFailed : DispatchFailure.NotApplied;
                foreach (var p in left)
                {
                    Fail(queue.CustomerId, p, failure, unexpected);
                }
            }
        }
    }

    /// <summary>
    /// After a batch failed, before any of it is answered: records the failed events' scopes (their later events of the
    /// customer are refused until the first failed one comes again) and takes the customer's events queued behind the
    /// batch, which are answered UNAVAILABLE unsent (<see cref="FailBehind"/>), so none is applied ahead of the failed ones.
    /// </summary>
    private Pending[] FenceAndTakeBehind(CustomerQueue queue, IEnumerable<Pending> failed)
    {
        lock (queue)
        {
            Fence(queue.CustomerId, failed);
            var behind = queue.Take(int.MaxValue);
            Fence(queue.CustomerId, behind);
            return behind;
        }
    }

    private void FailBehind(string customerId, Pending[] behind, Exception? error)
    {
        if (behind.Length == 0)
        {
            return;
        }

        LogQueuedFailed(logger, customerId, behind.Length);
        foreach (var p in behind)
        {
            Fail(customerId, p, DispatchFailure.EarlierEventFailed, error);
        }
    }

    // A loop, not LINQ: this runs for every batch, and an enumerator per batch is an allocation per call.
    private static bool AnyUnavailable(IReadOnlyList<EventOutcome> outcomes)
    {
        for (var i = 0; i < outcomes.Count; i++)
        {
            if (outcomes[i].Status == EventStatus.Unavailable)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Caller holds the customer's queue lock.</summary>
    private void Fence(string customerId, IEnumerable<Pending> failed)
    {
        foreach (var p in failed)
        {
            _fences.GetOrCreateValue(p.Sink.OrderScope).Add(customerId, p.Event.EventId);
        }
    }

    /// <summary>Caller holds the queue's lock. New submissions for the customer take a fresh queue.</summary>
    private void Retire(CustomerQueue queue)
    {
        queue.Draining = false;
        queue.Retired = true;
        _queues.TryRemove(new KeyValuePair<string, CustomerQueue>(queue.CustomerId, queue));
    }

    // Answer and Fail never throw: a broken sink or metric must cost only its own event, never the
    // events behind it or the customer's queue.
    private void Answer(string customerId, Pending p, EventOutcome outcome, long now)
    {
        try
        {
            metrics.Event(outcome.Status, outcome.Rejection?.Field);
            metrics.Acknowledged(Stopwatch.GetElapsedTime(p.SubmittedAt, now));
        }
        catch (Exception ex)
        {
            LogMetricsFailed(logger, ex, customerId);
        }

        try
        {
            p.Sink.OnOutcome(outcome, customerId);
        }
        catch (Exception ex)
        {
            LogSinkFailed(logger, ex, customerId, p.Event.EventId);
        }
    }

    private void Fail(string customerId, Pending p, DispatchFailure failure, Exception? error)
    {
        try
        {
            metrics.Event(EventStatus.Unavailable);
        }
        catch (Exception ex)
        {
            LogMetricsFailed(logger, ex, customerId);
        }

        try
        {
            p.Sink.OnFailure(p.Event, customerId, failure, error);
        }
        catch (Exception ex)
        {
            LogSinkFailed(logger, ex, customerId, p.Event.EventId);
        }
    }

    [LoggerMessage(EventId = 5101, Level = LogLevel.Warning,
        Message = "Customer {CustomerId}: a batch of {Count} events failed in the grain call ({Failure}); answered UNAVAILABLE")]
    private static partial void LogBatchFailed(ILogger logger, Exception exception, string customerId, int count, DispatchFailure failure);

    [LoggerMessage(EventId = 5102, Level = LogLevel.Warning,
        Message = "Customer {CustomerId}: the grain answered UNAVAILABLE for events of a batch of {Count}")]
    private static partial void LogBatchUnavailable(ILogger logger, string customerId, int count);

    [LoggerMessage(EventId = 5103, Level = LogLevel.Information,
        Message = "Customer {CustomerId}: {Count} events queued behind a failed batch answered UNAVAILABLE unsent, to keep the customer's order")]
    private static partial void LogQueuedFailed(ILogger logger, string customerId, int count);

    [LoggerMessage(EventId = 5104, Level = LogLevel.Error,
        Message = "Customer {CustomerId}: answering event {EventId} failed; the events after it are still answered")]
    private static partial void LogSinkFailed(ILogger logger, Exception exception, string customerId, string eventId);

    [LoggerMessage(EventId = 5105, Level = LogLevel.Error,
        Message = "Customer {CustomerId}: recording ingest metrics failed")]
    private static partial void LogMetricsFailed(ILogger logger, Exception exception, string customerId);

    [LoggerMessage(EventId = 5106, Level = LogLevel.Error,
        Message = "Customer {CustomerId}: dispatch failed unexpectedly; its unanswered events are answered UNAVAILABLE and its queue released")]
    private static partial void LogDrainFailed(ILogger logger, Exception exception, string customerId);

    /// <summary>
    /// The span of one grain call (tracing on): a child of the first event's caller, linked to the other callers whose
    /// events joined the batch (each event's trace then shows the call that applied it).
    /// </summary>
    private static Activity? StartDispatchSpan(Pending[] batch)
    {
        if (!EngineTracing.Ingest.HasListeners())
        {
            return null;
        }

        var parent = batch[0].Trace?.Context ?? default;
        List<ActivityLink>? links = null;
        foreach (var pending in batch.AsSpan(1))
        {
            if (pending.Trace?.Context is { } trace && trace.TraceId != parent.TraceId && links?.Exists(l => l.Context.TraceId == trace.TraceId) != true)
            {
                (links ??= []).Add(new ActivityLink(trace));
            }
        }

        var activity = EngineTracing.Ingest.StartActivity("cx.dispatch", ActivityKind.Internal, parent, links: links);
        activity?.SetTag("cx.dispatch.events", batch.Length);
        return activity;
    }

    /// <summary>An event waiting for its customer's grain call, with its caller's span (tracing on).</summary>
    private readonly record struct Pending(CustomerEvent Event, IOutcomeSink Sink, long SubmittedAt, Activity? Trace);

    /// <summary>The customers of one order scope with a failed event, and the first such event of each.</summary>
    private sealed class FailedCustomers
    {
        private readonly Dictionary<string, string> _firstFailed = new(StringComparer.Ordinal);

        public void Add(string customerId, string eventId)
        {
            lock (_firstFailed)
            {
                _firstFailed.TryAdd(customerId, eventId);
            }
        }

        /// <summary>Whether the event must wait for an earlier failed one; the first failed event itself, sent again, lifts the fence.</summary>
        public bool Blocks(string customerId, string eventId)
        {
            lock (_firstFailed)
            {
                if (!_firstFailed.TryGetValue(customerId, out var first))
                {
                    return false;
                }

                if (first != eventId)
                {
                    return true;
                }

                _firstFailed.Remove(customerId);
                return false;
            }
        }
    }

    /// <summary>
    /// A customer's waiting events, in order; the caller holds its lock. Most customers have one event waiting at a
    /// time, so the first is held in place and a list is made only for a second.
    /// </summary>
    private sealed class CustomerQueue(string customerId)
    {
        private Pending _first;
        private List<Pending>? _rest;

        public string CustomerId { get; } = customerId;

        public int Count { get; private set; }

        public bool Draining { get; set; }

        public bool Retired { get; set; }

        public void Add(in Pending pending)
        {
            if (Count == 0)
            {
                _first = pending;
            }
            else
            {
                (_rest ??= []).Add(pending);
            }

            Count++;
        }

        /// <summary>Takes up to <paramref name="max"/> of the oldest waiting events, in order.</summary>
        public Pending[] Take(int max)
        {
            var count = Math.Min(Count, max);
            if (count == 0)
            {
                return [];
            }

            var taken = new Pending[count];
            taken[0] = _first;
            _rest?.CopyTo(0, taken, 1, count - 1);
            if (Count > count)
            {
                _first = _rest![count - 1];
                _rest.RemoveRange(0, count);
            }
            else
            {
                _first = default;
                _rest?.Clear();
            }

            Count -= count;
            return taken;
        }
    }
}
