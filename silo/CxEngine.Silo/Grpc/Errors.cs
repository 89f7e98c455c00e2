using CxEngine.Silo.Ingest;

namespace CxEngine.Silo.Grpc;

/// <summary>A bad request; the interceptor answers INVALID_ARGUMENT with a BadRequest naming the field.</summary>
public sealed class RequestValidationException(FieldError error) : Exception(error.ToString())
{
    public FieldError Error { get; } = error;

    public static void ThrowIf(FieldError? error)
    {
        if (error is { } e)
        {
            throw new RequestValidationException(e);
        }
    }
}

/// <summary>A read of something that does not exist; answered NOT_FOUND.</summary>
public sealed class NotFoundException(string message) : Exception(message);

/// <summary>
/// The caller is over one of its limits; answered RESOURCE_EXHAUSTED (HTTP 429) with a Retry-After of
/// <see cref="RetryAfterSeconds"/>.
/// </summary>
public sealed class ResourceExhaustedException(string message, int retryAfterSeconds) : Exception(message)
{
    public int RetryAfterSeconds { get; } = retryAfterSeconds;
}
