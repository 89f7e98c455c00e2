using System.Diagnostics.Metrics;

namespace CxEngine.Silo.Webhooks;

/// <summary>
/// Each endpoint's delivery on the engine's meter ("CxEngine", beside <see cref="EngineMetrics"/>), tagged with
/// the endpoint's name. Only the silo delivering to an endpoint reports it, so a cluster's series are not doubled:
/// position, lag in entries and seconds, attempts and failures, failed attempts at the pending entry, and when
/// the last failure was (its text is in the log and in Recovery.ListWebhookDeliveries).
/// </summary>
public static class WebhookMetrics
{
    public static void Observe(IMeterFactory meters, WebhookDispatcher dispatcher, TimeProvider clock)
    {
        var meter = meters.Create(EngineMetrics.MeterName);
        IEnumerable<Measurement<T>> Each<T>(Func<WebhookEndpointState, T?> value)
            where T : struct
        {
            foreach (var endpoint in dispatcher.Endpoints)
            {
                if (endpoint.Delivering && value(endpoint) is { } v)
                {
                    yield return new Measurement<T>(v, new KeyValuePair<string, object?>("endpoint", endpoint.Key));
                }
            }
        }

        meter.CreateObservableGauge("cx.webhooks.position", () => Each<long>(e => e.Position), "{sequence}",
            "The last action-log entry delivered to the endpoint (or passed over by its filters)");
        meter.CreateObservableGauge("cx.webhooks.lag.entries", () => Each<long>(e => Math.Max(0, dispatcher.Head - e.Position)), "{entry}",
            "Action-log entries not yet delivered to the endpoint (on PostgreSQL, whose sequences are not consecutive, the distance in sequence numbers; Recovery.ListWebhookDeliveries counts entries)");
        meter.CreateObservableGauge("cx.webhooks.lag", () => Each<double>(e => e.PendingSince is { } since
            ? Math.Max(0, (clock.GetUtcNow().UtcDateTime - since).TotalSeconds) : 0), "s",
            "Age of the oldest entry not yet delivered to the endpoint; 0 when caught up");
        meter.CreateObservableCounter("cx.webhooks.attempts", () => Each<long>(e => e.Attempts), "{attempt}", "POSTs to the endpoint, successful or not");
        meter.CreateObservableCounter("cx.webhooks.failures", () => Each<long>(e => e.Failures), "{attempt}", "POSTs to the endpoint that failed (no 2xx)");
        meter.CreateObservableCounter("cx.webhooks.delivered", () => Each<long>(e => e.Delivered), "{entry}", "Entries the endpoint answered with a 2xx");
        meter.CreateObservableGauge("cx.webhooks.pending.attempts", () => Each<int>(e => e.PendingAttempts), "{attempt}",
            "Failed attempts at the entry now pending; 0 after a success");
        meter.CreateObservableGauge("cx.webhooks.last_error.time", () => Each<double>(e => e.LastErrorAt is { } at
            ? new DateTimeOffset(at).ToUnixTimeMilliseconds() / 1000.0 : null), "s",
            "Unix time of the endpoint's latest failed attempt");
    }
}
