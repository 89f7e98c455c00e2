using CxEngine.Customers;
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
    EventAdmission admission,
    CallerLimits limits,
    IOptions<IngestOptions> options,
    ILogger<IngestService> logger) : V1.Ingest.IngestBase
{
    public override async Task<V1.EventResult> RecordEvent(V1.InteractionEvent request, ServerCallContext context)
    {
        var tenant = CallerTenant.Of(context);
        if (limits.TakeEvents(context, tenant, 1) is { } overRate)
        {
            throw overRate;
        }

        var (customer, evt, error) = await admission.AdmitAsync(tenant, request);
        if (error is not null)
        {
            throw new RequestValidationException(error.Value);
        }

        var sink = new UnarySink();
        dispatcher.Submit(customer, evt!, sink);
        var outcome = await sink.Outcome.WaitAsync(context.CancellationToken);
        return outcome.Status switch
        {
            EventStatus.Rejected => throw new RequestValidationException(outcome.Rejection ?? new FieldError("", outcome.Error ?? "invalid event")),
            EventStatus.Unavailable => throw new StorageUnavailableException(outcome.Error ?? "storage is unavailable"),
            _ => ContractMapper.ToResult(outcome, customer),
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

        var tenant = CallerTenant.Of(context);
        if (limits.TakeEvents(context, tenant, request.Events.Count) is { } overRate)
        {
            throw overRate;
        }

        var batch = new BatchSink(request.Events.Count);
        for (var i = 0; i < request.Events.Count; i++)
        {
            var e = request.Events[i];
            var (customer, evt, error) = await admission.AdmitAsync(tenant, e);
            if (error is not null)
            {
                batch.Set(i, ContractMapper.Rejected(e.EventId, e.CustomerId, error.Value.ToString()));
                continue;
            }

            dispatcher.Submit(customer, evt!, batch.SinkFor(i));
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
        var tenant = CallerTenant.Of(context);
        using var slot = limits.OpenStream(context);
        using var session = new StreamSession(options.Value.MaxInFlightPerStream, context.CancellationToken);
        var writing = session.WriteAllAsync(responseStream, context.CancellationToken);
        long received = 0, rejected = 0;
        ResourceExhaustedException? overRate = null;
        try
        {
            await foreach (var request in requestStream.ReadAllAsync(context.CancellationToken))
            {
                if ((overRate = limits.TakeEvents(context, tenant, 1)) is not null)
                {
                    // Over its rate: stop taking this caller's events, answer what was accepted, end with RESOURCE_EXHAUSTED.
                    break;
                }

                // Backpressure: with the window full we stop reading, and HTTP/2 flow control slows the sender.
                await session.AcquireAsync();
                received++;
                var (customer, evt, error) = await admission.AdmitAsync(tenant, request);
                if (error is not null)
                {
                    rejected++;
                    session.Write(ContractMapper.Rejected(request.EventId, request.CustomerId, error.Value.ToString()));
                    continue;
                }

                dispatcher.Submit(customer, evt!, session);
            }
        }
        finally
        {
            // Whatever was accepted is still answered (unless the caller went away).
            session.CompleteInput();
            await writing;
            LogStreamEnded(logger, received, rejected);
        }

        if (overRate is not null)
        {
            throw overRate;
        }
    }


    private const int MaxBatch = 1000;

    [LoggerMessage(EventId = 5001, Level = LogLevel.Debug, Message = "Event stream ended: {Received} events received, {Rejected} rejected")]
    private static partial void LogStreamEnded(ILogger logger, long received, long rejected);
}
