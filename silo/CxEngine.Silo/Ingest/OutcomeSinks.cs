using System.Threading.Channels;
using CxEngine.Customers;
using CxEngine.Silo.Services;
using Grpc.Core;
using V1 = CxEngine.Contracts.V1;

namespace CxEngine.Silo.Ingest;

// Where each ingest RPC's results go: one per RecordEvent, one per RecordEvents call (a slot per event), one per
// StreamEvents call.

/// <summary>One RecordEvent call's outcome.</summary>
internal sealed class UnarySink : IOutcomeSink
{
    private readonly TaskCompletionSource<EventOutcome> _outcome = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task<EventOutcome> Outcome => _outcome.Task;

    public void OnOutcome(EventOutcome outcome, string customerId) => _outcome.TrySetResult(outcome);

    public void OnFailure(CustomerEvent evt, string customerId, DispatchFailure failure, Exception? error) =>
        // An RpcException passes the error interceptor as it is, so the caller gets this event's own advice.
        _outcome.TrySetException(new RpcException(new Status(StatusCode.Unavailable, CustomerDispatcher.Describe(failure, error))));
}

/// <summary>The results of one RecordEvents call, each in its request's slot; complete when the last one arrives.</summary>
internal sealed class BatchSink(int count)
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

internal sealed class Slot(BatchSink batch, int index) : IOutcomeSink
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
internal sealed class StreamSession(int window, CancellationToken callCancelled) : IOutcomeSink, IDisposable
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
