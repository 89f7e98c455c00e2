using System.Threading.Channels;
using CxEngine.Customers;
using CxEngine.Policies;
using CxEngine.Silo.Grpc;
using CxEngine.Silo.Hosting;
using CxEngine.Silo.Ingest;
using CxEngine.Silo.Security;
using Grpc.Core;
using Microsoft.Extensions.Options;
using V1 = CxEngine.Contracts.V1;

namespace CxEngine.Silo.Services;

/// <summary>
/// Ingest: validate and map at the edge, hand events to per-customer dispatch, answer each with its own result.
/// </summary>
[Microsoft.AspNetCore.Authorization.Authorize(Roles = Roles.Ingest)]
public sealed partial class IngestService(
    CustomerDispatcher dispatcher,
    TierCatalogCache tiers,
    EventValidation validation,
    CallerLimits limits,
    EngineMetrics metrics,
    IOptions<IngestOptions> options,
    ILogger<IngestService> logger) : V1.Ingest.IngestBase
{
    public override async Task<V1.EventResult> RecordEvent(V1.InteractionEvent request, ServerCallContext context)
    {
        if (!limits.TryTakeEvent(context))
        {
            throw limits.OverRate(context);
        }

        if (validation.TryMap(request, await tiers.GetAsync(request.Tier), out var evt) is { } error)
        {
            metrics.Event(EventStatus.Rejected, error.Field);
            throw new RequestValidationException(error);
        }

        var sink = new UnarySink();
        dispatcher.Submit(request.CustomerId, evt, sink);
        var outcome = await sink.Outcome.WaitAsync(context.CancellationToken);
        return outcome.Status switch
        {
            EventStatus.Rejected => throw new RequestValidationException(FieldError.Parse(outcome.Error ?? "invalid event")),
            EventStatus.Unavailable => throw new StorageUnavailableException(outcome.Error ?? "storage is unavailable"),
            _ => ContractMapper.ToResult(outcome, request.CustomerId),
        };
    }

    /// <summary>
    /// A batch for clients that cannot stream: every event goes through the same validation and per-customer
    /// dispatch as a stream's (so a customer's events are applied in batch order), and each gets its own result,
    /// in request order. A bad event is REJECTED and the rest go on; an event storage could not take is UNAVAILABLE.
    /// </summary>
    public override async Task<V1.RecordEventsResponse> RecordEvents(V1.RecordEventsRequest request, ServerCallContext context)
    {
        if (request.Events.Count == 0)
        {
            throw new RequestValidationException(new FieldError("events", "at least one event is required"));
        }

        if (request.Events.Count > MaxBatch)
        {
            throw new RequestValidationException(new FieldError("events", $"at most {MaxBatch} events per batch, got {request.Events.Count}"));
        }

        if (!limits.TryTakeEvents(context, request.Events.Count))
        {
            throw limits.OverRate(context);
        }

        var batch = new BatchSink(request.Events.Count);
        for (var i = 0; i < request.Events.Count; i++)
        {
            var e = request.Events[i];
            if (validation.TryMap(e, await tiers.GetAsync(e.Tier), out var evt) is { } error)
            {
                metrics.Event(EventStatus.Rejected, error.Field);
                batch.Set(i, ContractMapper.Rejected(e.EventId, e.CustomerId, error.ToString()));
                continue;
            }

            dispatcher.Submit(e.CustomerId, evt, batch.SinkFor(i));
        }

        var response = new V1.RecordEventsResponse();
        response.Results.AddRange(await batch.Results.WaitAsync(context.CancellationToken));
        return response;
    }

    public override async Task StreamEvents(
        IAsyncStreamReader<V1.InteractionEvent> requestStream,
        IServerStreamWriter<V1.EventResult> responseStream,
        ServerCallContext context)
    {
        using var slot = limits.OpenStream(context);
        using var session = new StreamSession(options.Value.MaxInFlightPerStream, context.CancellationToken);
        var writing = session.WriteAllAsync(responseStream, context.CancellationToken);
        long received = 0, rejected = 0;
        var overRate = false;
        try
        {
            await foreach (var request in requestStream.ReadAllAsync(context.CancellationToken))
            {
                if (!limits.TryTakeEvent(context))
                {
                    // Over its rate: stop taking this caller's events, answer what was accepted, end with RESOURCE_EXHAUSTED.
                    overRate = true;
                    break;
                }

                // Backpressure: with the window full we stop reading, and HTTP/2 flow control slows the sender.
                await session.AcquireAsync();
                received++;
                var error = validation.TryMap(request, await tiers.GetAsync(request.Tier), out var evt);
                if (error is { } e)
                {
                    rejected++;
                    metrics.Event(EventStatus.Rejected, e.Field);
                    session.Write(ContractMapper.Rejected(request.EventId, request.CustomerId, e.ToString()));
                    continue;
                }

                dispatcher.Submit(request.CustomerId, evt, session);
            }
        }
        finally
        {
            // Whatever was accepted is still answered (unless the caller went away).
            session.CompleteInput();
            await writing;
            LogStreamEnded(logger, received, rejected);
        }

        if (overRate)
        {
            throw limits.OverRate(context);
        }
    }


    private const int MaxBatch = 1000;

    [LoggerMessage(EventId = 5001, Level = LogLevel.Debug, Message = "Event stream ended: {Received} events received, {Rejected} rejected")]
    private static partial void LogStreamEnded(ILogger logger, long received, long rejected);

    private sealed class UnarySink : IOutcomeSink
    {
        private readonly TaskCompletionSource<EventOutcome> _outcome = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<EventOutcome> Outcome => _outcome.Task;

        public void OnOutcome(EventOutcome outcome, string customerId) => _outcome.TrySetResult(outcome);

        public void OnFailure(CustomerEvent evt, string customerId, DispatchFailure failure, Exception? error) =>
            // An RpcException passes the error interceptor as it is, so the caller gets this event's own advice.
            _outcome.TrySetException(new RpcException(new Status(StatusCode.Unavailable, CustomerDispatcher.Describe(failure, error))));
    }

    /// <summary>The results of one RecordEvents call, each in its request's slot; complete when the last one arrives.</summary>
    private sealed class BatchSink(int count)
    {
        private readonly V1.EventResult[] _results = new V1.EventResult[count];
        private readonly TaskCompletionSource<V1.EventResult[]> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _missing = count;

        public Task<V1.EventResult[]> Results => _done.Task;

        public IOutcomeSink SinkFor(int index) => new Slot(this, index);

        public void Set(int index, V1.EventResult result)
        {
            _results[index] = result;
            if (Interlocked.Decrement(ref _missing) == 0)
            {
                _done.TrySetResult(_results);
            }
        }

        private sealed class Slot(BatchSink batch, int index) : IOutcomeSink
        {
            // The call's events keep their order together, whichever slot failed.
            public object OrderScope => batch;

            public void OnOutcome(EventOutcome outcome, string customerId) => batch.Set(index, ContractMapper.ToResult(outcome, customerId));

            public void OnFailure(CustomerEvent evt, string customerId, DispatchFailure failure, Exception? error) =>
                batch.Set(index, ContractMapper.Unavailable(evt.EventId, customerId, CustomerDispatcher.Describe(failure, error)));
        }
    }

    /// <summary>
    /// One StreamEvents call: a window of accepted-but-unanswered events, and a single writer that sends
    /// results as they complete (the response stream takes one writer at a time).
    /// </summary>
    private sealed class StreamSession(int window, CancellationToken callCancelled) : IOutcomeSink, IDisposable
    {
        private static readonly WriteOptions Buffered = new(WriteFlags.BufferHint);
        private static readonly WriteOptions Flushed = new();
        // Cancelled with the call, or once the response writer has failed: then nothing frees the window again, and
        // the call ends instead of waiting for it forever.
        private readonly CancellationTokenSource _stopped = CancellationTokenSource.CreateLinkedTokenSource(callCancelled);

        private readonly SemaphoreSlim _window = new(window, window);
        private readonly Channel<V1.EventResult> _results = Channel.CreateUnbounded<V1.EventResult>(
            new UnboundedChannelOptions { SingleReader = true });

        private int _outstanding;
        private int _inputComplete;

        public async Task AcquireAsync()
        {
            await _window.WaitAsync(_stopped.Token);
            Interlocked.Increment(ref _outstanding);
        }

        public void OnOutcome(EventOutcome outcome, string customerId) =>
            Write(ContractMapper.ToResult(outcome, customerId));

        public void OnFailure(CustomerEvent evt, string customerId, DispatchFailure failure, Exception? error) =>
            Write(ContractMapper.Unavailable(evt.EventId, customerId, CustomerDispatcher.Describe(failure, error)));

        public void Write(V1.EventResult result)
        {
            _results.Writer.TryWrite(result);
            if (Interlocked.Decrement(ref _outstanding) == 0 && Volatile.Read(ref _inputComplete) == 1)
            {
                _results.Writer.TryComplete();
            }
        }

        public void CompleteInput()
        {
            // A full fence on both sides (here and the decrement in Write): whichever runs second sees the
            // other's write, so the results channel is always completed once the last result is in.
            Interlocked.Exchange(ref _inputComplete, 1);
            if (Volatile.Read(ref _outstanding) == 0)
            {
                _results.Writer.TryComplete();
            }
        }

        public async Task WriteAllAsync(IServerStreamWriter<V1.EventResult> responses, CancellationToken cancellationToken)
        {
            var reader = _results.Reader;
            try
            {
                while (await reader.WaitToReadAsync(cancellationToken))
                {
                    // Results that are ready together go out together: each one with another behind it is buffered, and
                    // the last flushes them all in one write to the connection instead of a flush each.
                    reader.TryRead(out var result);
                    while (result is not null)
                    {
                        var more = reader.TryRead(out var next);
                        responses.WriteOptions = more ? Buffered : Flushed;
                        await responses.WriteAsync(result, cancellationToken);
                        _window.Release();
                        result = more ? next : null;
                    }
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // The caller went away; events already dispatched still complete in their grains.
            }
            catch
            {
                // Writing a result failed (a broken connection, a serializer fault): stop reading the caller's events.
                _stopped.Cancel();
                throw;
            }
        }

        public void Dispose()
        {
            _window.Dispose();
            _stopped.Dispose();
        }
    }
}
