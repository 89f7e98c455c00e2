using CxEngine.Customers;
using CxEngine.Silo.Ingest;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Orleans.Runtime;
using Orleans.Storage;

namespace CxEngine.Silo.Grpc;

/// <summary>
/// The one place domain failures become gRPC status codes, for unary and streaming calls alike.
/// Nothing escapes as UNKNOWN: what is not recognised is logged and answered INTERNAL.
/// </summary>
public sealed partial class ErrorInterceptor(ILogger<ErrorInterceptor> logger) : Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(request, context);
        }
        catch (Exception ex) when (ex is not RpcException)
        {
            throw Translate(ex, context);
        }
    }

    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream,
        ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(requestStream, responseStream, context);
        }
        catch (Exception ex) when (ex is not RpcException)
        {
            throw Translate(ex, context);
        }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream,
        ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(request, responseStream, context);
        }
        catch (Exception ex) when (ex is not RpcException)
        {
            throw Translate(ex, context);
        }
    }

    private RpcException Translate(Exception ex, ServerCallContext context)
    {
        switch (ex)
        {
            case RequestValidationException v:
                return BadRequest(v.Error);
            case UnknownTierException t:
                return BadRequest(new FieldError("tier", t.Message));
            case InvalidPolicyException p:
                return BadRequest(p.Error);
            case NotFoundException or ActionNotFoundException:
                return new RpcException(new global::Grpc.Core.Status(StatusCode.NotFound, AsIds(ex.Message)));
            case ResourceExhaustedException r:
                // HTTP callers (429) are told when to come back; gRPC callers see it as a response header.
                if (context.GetHttpContext() is { Response.HasStarted: false } http)
                {
                    http.Response.Headers.RetryAfter = r.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
                }

                return new RpcException(new global::Grpc.Core.Status(StatusCode.ResourceExhausted, ex.Message));
            case ActionTransitionException:
                return new RpcException(new global::Grpc.Core.Status(StatusCode.FailedPrecondition, AsIds(ex.Message)));
            case OperationCanceledException or IOException when context.CancellationToken.IsCancellationRequested:
                // The caller went away or gave up: nothing to report to anyone.
                return new RpcException(new global::Grpc.Core.Status(StatusCode.Cancelled, "the call was cancelled"));
            case StorageUnavailableException or InconsistentStateException or SiloUnavailableException
                or OrleansMessageRejectionException or TimeoutException or OperationCanceledException:
                LogUnavailable(logger, ex, context.Method);
                return new RpcException(new global::Grpc.Core.Status(StatusCode.Unavailable,
                    "the engine could not complete the call (storage or silo unavailable); nothing acknowledged was lost, retry it"));
            default:
                LogUnexpected(logger, ex, context.Method);
                return new RpcException(new global::Grpc.Core.Status(StatusCode.Internal, "internal error; the server log has the details"));
        }
    }

    /// <summary>
    /// A message from inside the engine names customers and actions by key (<see cref="Tenants"/>); the caller knows
    /// them by id, and its tenant's name is no part of them.
    /// </summary>
    private static string AsIds(string message) =>
        message.Contains(Tenants.Separator, StringComparison.Ordinal) ? TenantPrefix().Replace(message, "") : message;

    [System.Text.RegularExpressions.GeneratedRegex("[a-z0-9_-]{1,64}\u001F")]
    private static partial System.Text.RegularExpressions.Regex TenantPrefix();

    private static RpcException BadRequest(FieldError error)
    {
        var status = new Google.Rpc.Status
        {
            Code = (int)Code.InvalidArgument,
            Message = error.ToString(),
            Details =
            {
                Any.Pack(new BadRequest
                {
                    FieldViolations = { new BadRequest.Types.FieldViolation { Field = error.Field, Description = error.Problem } },
                }),
            },
        };
        return status.ToRpcException();
    }


    [LoggerMessage(EventId = 4001, Level = LogLevel.Warning, Message = "{Method} answered UNAVAILABLE")]
    private static partial void LogUnavailable(ILogger logger, Exception exception, string method);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Error, Message = "{Method} failed unexpectedly; answered INTERNAL")]
    private static partial void LogUnexpected(ILogger logger, Exception exception, string method);
}
