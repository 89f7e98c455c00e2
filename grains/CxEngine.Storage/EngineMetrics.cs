using System.Diagnostics.Metrics;
using CxEngine.Customers;

namespace CxEngine;

/// <summary>
/// The engine's own meter ("CxEngine"), exported with Orleans' meters for Prometheus: events by outcome
/// (and by the field that was wrong), how long applying and acknowledging take, actions by change, tier
/// and severity, and the watchers connected.
/// </summary>
public sealed class EngineMetrics : IDisposable
{
    public const string MeterName = "CxEngine";

    private readonly Meter _meter;
    private readonly Counter<long> _events;
    private readonly Histogram<double> _apply;
    private readonly Histogram<double> _ack;
    private readonly Counter<long> _actions;

    public EngineMetrics(IMeterFactory meters)
    {
        _meter = meters.Create(MeterName);
        _events = _meter.CreateCounter<long>("cx.events", "{event}", "Events answered, by status and, when rejected, by the field that was wrong");
        _apply = _meter.CreateHistogram<double>("cx.apply.duration", "ms", "One customer grain call: apply a batch and store it");
        _ack = _meter.CreateHistogram<double>("cx.ack.duration", "ms", "From an event's arrival to its result");
        _actions = _meter.CreateCounter<long>("cx.actions", "{change}", "Recovery-action changes, by change, tier and severity");
    }

    public void Event(EventStatus status, string? field = null)
    {
        if (field is null)
        {
            _events.Add(1, new KeyValuePair<string, object?>("status", StatusName(status)));
        }
        else
        {
            _events.Add(1, new KeyValuePair<string, object?>("status", StatusName(status)), new KeyValuePair<string, object?>("field", field));
        }
    }

    public void Applied(TimeSpan elapsed) => _apply.Record(elapsed.TotalMilliseconds);

    public void Acknowledged(TimeSpan elapsed) => _ack.Record(elapsed.TotalMilliseconds);

    /// <summary>An action changed; counted by tenant too (action changes are a few per hundred events, so the label is cheap there).</summary>
    public void Action(RecoveryActionRecord action) => _actions.Add(1,
        new KeyValuePair<string, object?>("change", action.Change.ToString().ToLowerInvariant()),
        new KeyValuePair<string, object?>("tier", action.Tier),
        new KeyValuePair<string, object?>("severity", action.Severity.ToString().ToLowerInvariant()),
        new KeyValuePair<string, object?>("tenant", Tenants.TenantOf(action.CustomerId)));

    /// <summary>Reports the number of watchers whenever metrics are collected.</summary>
    public void ObserveWatchers(Func<int> watchers) =>
        _meter.CreateObservableGauge("cx.watchers", watchers, "{watcher}", "WatchActions calls connected to this silo");

    /// <summary>
    /// Group commits and the writes they carried (their ratio is the batching the writer achieves), the writes
    /// waiting and how long the oldest has, and restarts of the writer's loop: a writer that stalls shows here.
    /// </summary>
    public void ObserveWriter(Storage.WriterPool writer)
    {
        _meter.CreateObservableCounter("cx.storage.commits", () => writer.Commits, "{commit}", "Group commits of this silo's storage writer");
        _meter.CreateObservableCounter("cx.storage.writes", () => writer.Writes, "{write}", "Writes carried by those commits");
        _meter.CreateObservableGauge("cx.storage.queue.length", () => writer.QueueLength, "{write}", "Writes not answered yet: queued or in the commit in progress");
        _meter.CreateObservableGauge("cx.storage.queue.oldest_wait", () => writer.OldestWait.TotalSeconds, "s", "How long the oldest write not answered yet has waited");
        _meter.CreateObservableCounter("cx.storage.writer.restarts", () => writer.Restarts, "{restart}", "Restarts of the storage writer's loop after it died");
    }

    private static string StatusName(EventStatus status) => status switch
    {
        EventStatus.Applied => "applied",
        EventStatus.Duplicate => "duplicate",
        EventStatus.Rejected => "rejected",
        _ => "unavailable",
    };

    public void Dispose() => _meter.Dispose();
}
