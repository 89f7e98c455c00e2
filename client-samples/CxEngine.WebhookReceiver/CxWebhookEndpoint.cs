using Google.Protobuf;
using StandardWebhooks;
using StandardWebhooks.Diagnostics;
using V1 = CxEngine.Contracts.V1;

namespace CxEngine.WebhookReceiver;

/// <summary>One action-log entry as received: its webhook-id ("{action_id}:{revision}") and the action.</summary>
public sealed record ReceivedWebhook(string Id, V1.RecoveryAction Action);

/// <summary>
/// The receiving end of CxEngine's webhooks, to map into any ASP.NET Core app. A request whose Standard Webhooks
/// signature does not verify under the endpoint's secret (wrong key, altered body, a timestamp more than five
/// minutes off) is answered 401 and goes no further; the comparison is constant-time (StandardWebhooks).
/// Delivery is at least once, so an entry seen before (same webhook-id) is answered 200 again without being
/// handled twice. An entry the handler throws on is answered 500, and the engine sends it again.
/// </summary>
public static class CxWebhookEndpoint
{
    private static readonly JsonParser Parser = new(JsonParser.Settings.Default.WithIgnoreUnknownFields(true));

    public static RouteHandlerBuilder MapCxWebhooks(
        this IEndpointRouteBuilder routes, string pattern, string secret, Func<ReceivedWebhook, Task> handle, int remember = 100_000)
    {
        var verifier = new StandardWebhook(secret);
        var seen = new RecentIds(remember);
        return routes.MapPost(pattern, async (HttpRequest request) =>
        {
            using var reader = new StreamReader(request.Body, System.Text.Encoding.UTF8);
            var body = await reader.ReadToEndAsync(request.HttpContext.RequestAborted);
            try
            {
                verifier.Verify(body, request.Headers);
            }
            catch (WebhookVerificationException)
            {
                return Results.Unauthorized();
            }

            var id = request.Headers["webhook-id"].ToString();
            if (seen.Contains(id))
            {
                return Results.Ok();
            }

            V1.RecoveryAction action;
            try
            {
                action = Parser.Parse<V1.RecoveryAction>(body);
            }
            catch (InvalidProtocolBufferException ex)
            {
                return Results.BadRequest(ex.Message);
            }

            await handle(new ReceivedWebhook(id, action));
            seen.Add(id);
            return Results.Ok();
        });
    }

    /// <summary>The latest ids handled, oldest forgotten first: redeliveries come soon after the original.</summary>
    private sealed class RecentIds(int capacity)
    {
        private readonly Lock _lock = new();
        private readonly HashSet<string> _ids = new(StringComparer.Ordinal);
        private readonly Queue<string> _order = new();

        public bool Contains(string id)
        {
            lock (_lock)
            {
                return _ids.Contains(id);
            }
        }

        public void Add(string id)
        {
            lock (_lock)
            {
                if (!_ids.Add(id))
                {
                    return;
                }

                _order.Enqueue(id);
                if (_order.Count > capacity)
                {
                    _ids.Remove(_order.Dequeue());
                }
            }
        }
    }
}
