namespace CxEngine.Silo.Webhooks;

/// <summary>One action-log entry on its way to one endpoint: what is signed, and who hears how each attempt went.</summary>
public sealed class WebhookMessage(
    string id, byte[] key, byte[] body, Func<string, Task> failed, CancellationToken stopping, Func<Task<bool>>? stillLogged = null)
{
    public string Id { get; } = id;

    public byte[] Key { get; } = key;

    public byte[] Body { get; } = body;

    /// <summary>Told of every failed attempt, with a description fit for logs and responses (no secret, no body).</summary>
    public Func<string, Task> Failed { get; } = failed;

    /// <summary>The delivery's own cancellation: an attempt cancelled by anything else timed out.</summary>
    public CancellationToken Stopping { get; } = stopping;

    /// <summary>
    /// Asked before every attempt: false when the entry is no longer in the action log (its customer was erased since
    /// the entry was read, or while it was being retried). A lookup by sequence, small beside the POST.
    /// </summary>
    public Func<Task<bool>>? StillLogged { get; } = stillLogged;
}

/// <summary>A queued delivery whose entry left the action log (its customer was erased): dropped, never retried.</summary>
public sealed class WebhookEntryErasedException(string id) : Exception($"webhook {id}: its customer was erased; the delivery is dropped");

/// <summary>
/// The innermost handler of the webhook client, so it runs once per attempt, inside the retries: it stamps
/// the Standard Webhooks headers with the attempt's own time (a retry hours later must not carry a timestamp
/// the receiver's 5-minute tolerance refuses) and reports each failed attempt.
/// </summary>
public sealed class WebhookSigningHandler([FromKeyedServices(EngineClock.Key)] TimeProvider clock) : DelegatingHandler
{
    public static readonly HttpRequestOptionsKey<WebhookMessage> MessageKey = new("cx.webhook");

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (!request.Options.TryGetValue(MessageKey, out var message))
        {
            return await base.SendAsync(request, cancellationToken);
        }

        if (message.StillLogged is { } stillLogged && !await stillLogged())
        {
            throw new WebhookEntryErasedException(message.Id);
        }

        var timestamp = clock.GetUtcNow().ToUnixTimeSeconds();
        request.Headers.Remove("webhook-id");
        request.Headers.Remove("webhook-timestamp");
        request.Headers.Remove("webhook-signature");
        request.Headers.TryAddWithoutValidation("webhook-id", message.Id);
        request.Headers.TryAddWithoutValidation("webhook-timestamp", timestamp.ToString(System.Globalization.CultureInfo.InvariantCulture));
        request.Headers.TryAddWithoutValidation("webhook-signature", WebhookSignature.Sign(message.Key, message.Id, timestamp, message.Body));

        HttpResponseMessage response;
        try
        {
            response = await base.SendAsync(request, cancellationToken);
        }
        catch (Exception ex) when (!message.Stopping.IsCancellationRequested)
        {
            await message.Failed(ex is OperationCanceledException
                ? "no answer within CxEngine:Webhooks:AttemptTimeout"
                : Describe(ex));
            throw;
        }

        if (!response.IsSuccessStatusCode)
        {
            await message.Failed($"HTTP {(int)response.StatusCode} {response.ReasonPhrase}");
        }

        return response;
    }

    /// <summary>The exception's type and message (an HttpRequestException names the host and port, never the query or the body).</summary>
    private static string Describe(Exception ex)
    {
        var inner = ex.InnerException is { } cause && !ex.Message.Contains(cause.Message, StringComparison.Ordinal) ? $" ({cause.Message})" : "";
        var text = $"{ex.GetType().Name}: {ex.Message}{inner}";
        return text.Length <= 500 ? text : text[..500];
    }
}
