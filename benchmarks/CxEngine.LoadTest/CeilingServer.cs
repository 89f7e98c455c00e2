using CxEngine.Contracts.V1;
using Grpc.Core;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace CxEngine.LoadTest;

/// <summary>
/// The ceiling: a gRPC server on loopback that answers each event at once with a fixed APPLIED result,
/// doing no work at all. The same messages through the same number of streams against it show what
/// gRPC and this machine allow; the engine's rate is reported as a fraction of that.
/// </summary>
internal static class CeilingServer
{
    /// <summary>Starts the no-op server on <paramref name="url"/> (default: loopback, a free port).</summary>
    public static async Task<WebApplication> StartAsync(string url = "http://127.0.0.1:0")
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls(url);
        builder.WebHost.ConfigureKestrel(k => k.ConfigureEndpointDefaults(e => e.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        var app = builder.Build();
        app.MapGrpcService<NoOpIngest>();
        await app.StartAsync();
        return app;
    }

    private sealed class NoOpIngest : Ingest.IngestBase
    {
        public override async Task StreamEvents(IAsyncStreamReader<InteractionEvent> requestStream, IServerStreamWriter<EventResult> responseStream, ServerCallContext context)
        {
            await foreach (var evt in requestStream.ReadAllAsync(context.CancellationToken))
            {
                await responseStream.WriteAsync(new EventResult { EventId = evt.EventId, CustomerId = evt.CustomerId, Status = EventStatus.Applied });
            }
        }
    }
}
