using Grpc.AspNetCore.Server;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Grpc.JsonTranscoding;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace CxEngine.Silo.Hosting;

/// <summary>The listener a connection arrived on.</summary>
public enum Listener
{
    Grpc = 1,
    Rest = 2,
    Operator = 3,
}

/// <summary>Endpoint metadata: the endpoint answers on the REST listener only (health, the OpenAPI document).</summary>
public sealed class RestListenerOnly;

/// <summary>
/// Keeps every route on its own listener: native gRPC on the HTTP/2 gRPC port, the JSON transcoding of the same
/// services (and /healthz, /readyz, /openapi.json) on the REST listener. Kestrel endpoints share one routing table,
/// so each connection is tagged with its listener when it is accepted and a request for another listener's route
/// is answered 404, before authentication. The tag follows the connection, not the Host header, so it holds behind
/// proxies and on ephemeral ports.
/// </summary>
public static class Listeners
{
    private static readonly object Key = typeof(Listener);

    public static void Tag(ListenOptions listen, Listener listener) =>
        listen.Use(next => connection =>
        {
            connection.Items[Key] = listener;
            return next(connection);
        });

    public static Listener? Of(HttpContext context) =>
        context.Features.Get<IConnectionItemsFeature>()?.Items.TryGetValue(Key, out var listener) == true ? (Listener)listener! : null;

    /// <summary>The listener an endpoint belongs to, or null for endpoints that say so themselves (the operator's RequireHost).</summary>
    public static Listener? For(Endpoint endpoint) =>
        endpoint.Metadata.GetMetadata<GrpcJsonTranscodingMetadata>() is not null || endpoint.Metadata.GetMetadata<RestListenerOnly>() is not null
            ? Listener.Rest
            : endpoint.Metadata.GetMetadata<GrpcMethodMetadata>() is not null || IsGrpcCatchAll(endpoint) ? Listener.Grpc : null;

    /// <summary>grpc-dotnet's "unimplemented service/method" endpoints carry no method metadata, only their name.</summary>
    private static bool IsGrpcCatchAll(Endpoint endpoint) =>
        endpoint.DisplayName?.StartsWith("gRPC - Unimplemented", StringComparison.Ordinal) == true;

    /// <summary>Middleware, after routing: a route of another listener is not found here; REST bodies get the gRPC message limit.</summary>
    public static Func<HttpContext, RequestDelegate, Task> Filter(int maxRequestBytes) => (context, next) =>
    {
        var arrived = Of(context);
        if (context.GetEndpoint() is { } endpoint && For(endpoint) is { } wanted && wanted != arrived)
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return Task.CompletedTask;
        }

        if (arrived == Listener.Rest && context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            size.MaxRequestBodySize = maxRequestBytes;
        }

        return next(context);
    };
}
