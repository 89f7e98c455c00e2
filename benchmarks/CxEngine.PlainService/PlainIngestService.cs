using System.Threading.Channels;
using Grpc.Core;
using V1 = CxEngine.Contracts.V1;

namespace CxEngine.PlainService;

/// <summary>
/// cx.v1 Ingest over <see cref="CustomerStore"/>. A stream keeps up to <see cref="MaxInFlight"/> events under way
/// (the engine's default window) and answers each as its commit completes, so customers do not wait on each other.
/// </summary>
internal sealed class PlainIngestService(CustomerStore store) : V1.Ingest.IngestBase
{
    private const int MaxInFlight = 2048;

    public override Task<V1.EventResult> RecordEvent(V1.InteractionEvent request, ServerCallContext context) =>
        store.SubmitAsync(request);

    public override async Task<V1.RecordEventsResponse> RecordEvents(V1.RecordEventsRequest request, ServerCallContext context)
    {
        // Submitted in request order, so one customer's events keep theirs.
        var results = await Task.WhenAll(request.Events.Select(store.SubmitAsync).ToArray());
        return new V1.RecordEventsResponse { Results = { results } };
    }

    public override async Task StreamEvents(
        IAsyncStreamReader<V1.InteractionEvent> requestStream, IServerStreamWriter<V1.EventResult> responseStream, ServerCallContext context)
    {
        var window = new SemaphoreSlim(MaxInFlight, MaxInFlight);
        var results = Channel.CreateUnbounded<V1.EventResult>(new UnboundedChannelOptions { SingleReader = true });
        var outstanding = 1; // the reading loop itself, until it ends

        void Finished()
        {
            if (Interlocked.Decrement(ref outstanding) == 0)
            {
                results.Writer.TryComplete();
            }
        }

        async Task AnswerAsync(Task<V1.EventResult> running)
        {
            results.Writer.TryWrite(await running);
            window.Release();
            Finished();
        }

        var sending = Task.Run(async () =>
        {
            await foreach (var result in results.Reader.ReadAllAsync(context.CancellationToken))
            {
                await responseStream.WriteAsync(result, context.CancellationToken);
            }
        });

        try
        {
            await foreach (var request in requestStream.ReadAllAsync(context.CancellationToken))
            {
                await window.WaitAsync(context.CancellationToken);
                Interlocked.Increment(ref outstanding);
                _ = AnswerAsync(store.SubmitAsync(request));
            }
        }
        finally
        {
            Finished();
        }

        await sending;
    }
}
