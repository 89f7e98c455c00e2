using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net.Http.Headers;
using CxEngine.Customers;
using CxEngine.Recovery;
using CxEngine.Scoring;
using CxEngine.Silo.Services;
using CxEngine.Silo.Tracing;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Options;
using V1 = CxEngine.Contracts.V1;

namespace CxEngine.Silo.Webhooks;

/// <summary>What this silo knows of one endpoint's delivery, for metrics; the stored row is what the read RPC shows.</summary>
public sealed class WebhookEndpointState(WebhookEndpointOptions options, byte[] key)
{
    private long _position;
    private long _pendingSinceTicks;
    private long _attempts;
    private long _failures;
    private long _delivered;
    private int _pendingAttempts;
    private long _lastErrorTicks;

    public WebhookEndpointOptions Options { get; } = options;

    public string Key => Options.Key;

    internal byte[] SigningKey { get; } = key;

    internal HashSet<string>? Tiers { get; } = options.Tiers.Count == 0 ? null : options.Tiers.ToHashSet(StringComparer.Ordinal);

    /// <summary>This silo holds the endpoint's lease and delivers to it.</summary>
    public bool Delivering { get; internal set; }

    public long Position { get => Interlocked.Read(ref _position); internal set => Interlocked.Exchange(ref _position, value); }

    /// <summary>When the oldest entry not yet delivered was logged; null when caught up.</summary>
    public DateTime? PendingSince
    {
        get => Interlocked.Read(ref _pendingSinceTicks) is var t and > 0 ? new DateTime(t, DateTimeKind.Utc) : null;
        internal set => Interlocked.Exchange(ref _pendingSinceTicks, value?.Ticks ?? 0);
    }

    /// <summary>POSTs made, successful or not.</summary>
    public long Attempts => Interlocked.Read(ref _attempts);

    public long Failures => Interlocked.Read(ref _failures);

    public long Delivered => Interlocked.Read(ref _delivered);

    /// <summary>Failed attempts at the entry now pending.</summary>
    public int PendingAttempts => Volatile.Read(ref _pendingAttempts);

    public DateTime? LastErrorAt => Interlocked.Read(ref _lastErrorTicks) is var t and > 0 ? new DateTime(t, DateTimeKind.Utc) : null;

    internal bool Passes(RecoveryActionRecord entry) =>
        (Options.Tenant == Tenants.Platform || Tenants.Owns(Options.Tenant, entry.CustomerId))
        && (Tiers is null || Tiers.Contains(entry.Tier)) && entry.Severity >= Options.Severity;

    internal int Failed(DateTime at)
    {
        Interlocked.Increment(ref _attempts);
        Interlocked.Increment(ref _failures);
        Interlocked.Exchange(ref _lastErrorTicks, at.Ticks);
        return Interlocked.Increment(ref _pendingAttempts);
    }

    internal void Succeeded()
    {
        Interlocked.Increment(ref _attempts);
        Interlocked.Increment(ref _delivered);
        Volatile.Write(ref _pendingAttempts, 0);
    }
}

/// <summary>
/// Pushes every action-log entry to each configured endpoint, in log order, at least once. One loop per
/// endpoint: take the endpoint's lease (one silo of a cluster delivers to it at a time), read the log after
/// the stored position a batch at a time, POST each entry the filters pass (retried with exponential back-off
/// until a 2xx), store the new position, and when caught up wait on <see cref="ActionFeed"/> for the next
/// append instead of polling. It reads the log, never the ingest path, so a slow or dead endpoint only falls
/// behind: the feed cuts off a subscriber that does not keep up, and the loop reads the log again.
/// </summary>
public sealed partial class WebhookDispatcher : ILifecycleParticipant<ISiloLifecycle>, IDisposable
{
    public const string HttpClientName = "cx-webhooks";

    private static readonly JsonFormatter Json = new(JsonFormatter.Settings.Default.WithFormatDefaultValues(true));
    private static readonly MediaTypeHeaderValue JsonType = new("application/json") { CharSet = "utf-8" };

    private readonly WebhookOptions _options;
    private readonly RecoveryStore _store;
    private readonly ActionFeed _feed;
    private readonly WebhookPositions _positions;
    private readonly IHttpClientFactory _http;
    private readonly TimeProvider _clock;
    private readonly ILocalSiloDetails _silo;
    private readonly ILogger<WebhookDispatcher> _logger;
    private readonly CancellationTokenSource _stopping = new();
    private Task[] _loops = [];

    public WebhookDispatcher(
        IOptions<WebhookOptions> options, RecoveryStore store, ActionFeed feed, WebhookPositions positions, IHttpClientFactory http,
        [FromKeyedServices(EngineClock.Key)] TimeProvider clock, ILocalSiloDetails silo, IMeterFactory meters, ILogger<WebhookDispatcher> logger)
    {
        _options = options.Value;
        _store = store;
        _feed = feed;
        _positions = positions;
        _http = http;
        _clock = clock;
        _silo = silo;
        _logger = logger;
        Endpoints = [.. _options.Endpoints.Select((e, i) =>
            new WebhookEndpointState(e, WebhookSignature.TryParseSecret(e.Secret, out var key) ? key : throw new OptionsValidationException(
                WebhookOptions.SectionName, typeof(WebhookOptions), [$"{WebhookOptions.SectionName}:Endpoints:{i}:Secret: not a whsec_ secret"])))];
        WebhookMetrics.Observe(meters, this, clock);
    }

    public IReadOnlyList<WebhookEndpointState> Endpoints { get; }

    /// <summary>The newest sequence this silo's feed has seen.</summary>
    public long Head => _feed.Head;

    /// <summary>Names this silo in the lease: its address and generation, so a restarted silo is a new owner.</summary>
    private string Owner => _silo.SiloAddress.ToString();

    private DateTime Now => _clock.GetUtcNow().UtcDateTime;

    private DateTime LeaseEnd => Now + _options.LeaseDuration;

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(WebhookDispatcher), ServiceLifecycleStage.Active, StartAsync, StopAsync);

    private Task StartAsync(CancellationToken cancellationToken)
    {
        _loops = [.. Endpoints.Select(e => Task.Run(() => RunAsync(e, _stopping.Token), CancellationToken.None))];
        return Task.CompletedTask;
    }

    private async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        await Task.WhenAll(_loops).WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    /// <summary>Holds the endpoint's lease whenever it can and delivers while it does; starts over after any failure.</summary>
    private async Task RunAsync(WebhookEndpointState endpoint, CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                var position = await _positions.TryAcquireAsync(endpoint.Key, Owner, Now, LeaseEnd);
                if (position is null)
                {
                    // Another silo delivers to it; look again when its lease could have run out.
                    endpoint.Delivering = false;
                    await Task.Delay(_options.LeaseDuration / 3, _clock, stopping);
                    continue;
                }

                LogDelivering(_logger, endpoint.Key == endpoint.Options.DisplayUrl ? endpoint.Key : $"{endpoint.Key} ({endpoint.Options.DisplayUrl})", position.Value);
                endpoint.Position = position.Value;
                endpoint.Delivering = true;
                using var lease = CancellationTokenSource.CreateLinkedTokenSource(stopping);
                var renewing = RenewAsync(endpoint, lease);
                try
                {
                    await DeliverAsync(endpoint, position.Value, lease.Token);
                }
                catch (Exception ex) when (ex is LeaseLostException || (ex is OperationCanceledException && lease.IsCancellationRequested && !stopping.IsCancellationRequested))
                {
                    LogLeaseLost(_logger, endpoint.Key);
                }
                finally
                {
                    endpoint.Delivering = false;
                    await lease.CancelAsync();
                    await renewing;
                    if (stopping.IsCancellationRequested)
                    {
                        await ReleaseAsync(endpoint);
                    }
                }
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                LogLoopFailed(_logger, endpoint.Key, ex);
                try
                {
                    await Task.Delay(_options.RetryBaseDelay, _clock, stopping);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private async Task DeliverAsync(WebhookEndpointState endpoint, long position, CancellationToken cancellationToken)
    {
        var client = _http.CreateClient(HttpClientName);
        var saved = position;
        var savedAt = Now;
        while (true)
        {
            // Subscribed before reading, so an entry appended after the read below still wakes us.
            using var subscription = _feed.Subscribe(watcher: false);
            while (true)
            {
                var page = await _store.ReadLogAsync(position, _options.BatchSize, cancellationToken);
                if (page.Count == 0)
                {
                    endpoint.PendingSince = null;
                    if (!await WaitForAppendAsync(subscription, cancellationToken))
                    {
                        break;
                    }

                    continue;
                }

                for (var i = 0; i < page.Count; i++)
                {
                    var entry = page[i];
                    endpoint.PendingSince = entry.UpdatedAt;
                    if (endpoint.Passes(entry))
                    {
                        await SendAsync(client, endpoint, entry, cancellationToken);
                    }

                    position = entry.Sequence;
                    endpoint.Position = position;
                    if (Now - savedAt >= TimeSpan.FromSeconds(1))
                    {
                        await SaveAsync(endpoint, position);
                        (saved, savedAt) = (position, Now);
                    }
                }

                if (saved != position)
                {
                    await SaveAsync(endpoint, position);
                    (saved, savedAt) = (position, Now);
                }
            }
        }
    }

    /// <summary>True when something was appended; false when the feed cut the subscription off (subscribe again).</summary>
    private static async Task<bool> WaitForAppendAsync(ActionFeed.Subscription subscription, CancellationToken cancellationToken)
    {
        var reader = subscription.Reader;
        var any = false;
        while (reader.TryRead(out _))
        {
            any = true;
        }

        return any || await reader.WaitToReadAsync(cancellationToken);
    }

    private async Task SendAsync(HttpClient client, WebhookEndpointState endpoint, RecoveryActionRecord entry, CancellationToken cancellationToken)
    {
        var body = System.Text.Encoding.UTF8.GetBytes(Json.Format(ContractMapper.ToAction(entry)));
        using var request = new HttpRequestMessage(HttpMethod.Post, endpoint.Options.Url)
        {
            Content = new ByteArrayContent(body) { Headers = { ContentType = JsonType } },
        };
        var id = $"{entry.ActionId}:{entry.Revision}";

        // Tracing on: one span per entry delivered, its retried POSTs (the HTTP client's spans) below it.
        using var trace = EngineTracing.Webhooks.StartActivity("cx.webhook.deliver", ActivityKind.Internal);
        trace?.SetTag("cx.webhook.endpoint", endpoint.Key);
        trace?.SetTag("cx.webhook.id", id);
        trace?.SetTag("cx.action.sequence", entry.Sequence);
        // Before each attempt the entry is looked up again: one whose customer was erased meanwhile is dropped, not sent.
        request.Options.Set(WebhookSigningHandler.MessageKey, new WebhookMessage(id, endpoint.SigningKey, body,
            error => FailedAsync(endpoint, id, error), cancellationToken, () => _store.IsLoggedAsync(entry.Sequence, cancellationToken)));

        // The resilience handler retries until a 2xx or until the delivery is cancelled (silo stopping, lease lost).
        try
        {
            using var response = await client.SendAsync(request, cancellationToken);
            response.EnsureSuccessStatusCode();
            endpoint.Succeeded();
        }
        catch (WebhookEntryErasedException)
        {
            LogDropped(_logger, endpoint.Key, id);
        }
    }

    private async Task FailedAsync(WebhookEndpointState endpoint, string id, string error)
    {
        var attempts = endpoint.Failed(Now);
        LogAttemptFailed(_logger, endpoint.Key, id, attempts, error);
        try
        {
            if (!await _positions.FailedAsync(endpoint.Key, Owner, attempts, error, Now, LeaseEnd))
            {
                LogLeaseLost(_logger, endpoint.Key);
            }
        }
        catch (Exception ex)
        {
            // Only the report is lost; the delivery goes on retrying.
            LogLoopFailed(_logger, endpoint.Key, ex);
        }
    }

    private async Task SaveAsync(WebhookEndpointState endpoint, long position)
    {
        if (!await _positions.SaveAsync(endpoint.Key, Owner, position, Now, Now, LeaseEnd))
        {
            throw new LeaseLostException();
        }
    }

    /// <summary>Renews the lease every third of its duration while delivering; cancels the delivery if it was lost.</summary>
    private async Task RenewAsync(WebhookEndpointState endpoint, CancellationTokenSource lease)
    {
        try
        {
            while (true)
            {
                await Task.Delay(_options.LeaseDuration / 3, _clock, lease.Token);
                bool held;
                try
                {
                    held = await _positions.RenewAsync(endpoint.Key, Owner, Now, LeaseEnd);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    LogLoopFailed(_logger, endpoint.Key, ex);
                    continue;
                }

                if (!held)
                {
                    await lease.CancelAsync();
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task ReleaseAsync(WebhookEndpointState endpoint)
    {
        try
        {
            await _positions.ReleaseAsync(endpoint.Key, Owner);
        }
        catch (Exception ex)
        {
            // The lease runs out on its own (LeaseDuration).
            LogLoopFailed(_logger, endpoint.Key, ex);
        }
    }

    /// <summary>The tenant's configured endpoints as stored (so any silo answers the same), for Recovery.ListWebhookDeliveries.</summary>
    public async Task<V1.ListWebhookDeliveriesResponse> ListAsync(string tenant, CancellationToken cancellationToken)
    {
        var rows = (await _positions.ReadAllAsync(cancellationToken)).ToDictionary(r => r.Endpoint, StringComparer.Ordinal);
        var head = await _store.MaxSequenceAsync(cancellationToken);
        var now = Now;
        var response = new V1.ListWebhookDeliveriesResponse { Head = head };
        foreach (var endpoint in Endpoints.Where(e => e.Options.Tenant == tenant))
        {
            var row = rows.GetValueOrDefault(endpoint.Key);
            var position = row?.Sequence ?? 0;
            var delivery = new V1.WebhookDelivery
            {
                Name = endpoint.Key,
                Url = endpoint.Options.DisplayUrl,
                Position = position,
                LagEntries = head > position ? await _store.CountLogAsync(position, head, cancellationToken) : 0,
                Attempts = row?.Attempts ?? 0,
                LastError = row?.LastError ?? "",
                Silo = row is not null && row.LeaseUntil > now ? row.Owner : "",
            };
            if (head > position && (await _store.ReadLogAsync(position, 1, cancellationToken)) is [var next])
            {
                delivery.LagSeconds = Math.Max(0, (now - next.UpdatedAt).TotalSeconds);
            }

            if (row?.LastErrorAt is { } failedAt)
            {
                delivery.LastErrorAt = Timestamp.FromDateTime(failedAt);
            }

            if (row?.DeliveredAt is { } deliveredAt)
            {
                delivery.LastDeliveredAt = Timestamp.FromDateTime(deliveredAt);
            }

            response.Deliveries.Add(delivery);
        }

        return response;
    }

    public void Dispose() => _stopping.Dispose();

    /// <summary>The endpoint's lease ran out and another silo took it: stop delivering, try to take it again later.</summary>
    private sealed class LeaseLostException : Exception;

    [LoggerMessage(EventId = 7001, Level = LogLevel.Information, Message = "Delivering webhooks to {Endpoint} from after sequence {Position}")]
    private static partial void LogDelivering(ILogger logger, string endpoint, long position);

    [LoggerMessage(EventId = 7002, Level = LogLevel.Warning, Message = "Webhook {Id} to {Endpoint} failed (attempt {Attempt}): {Error}; retrying with back-off")]
    private static partial void LogAttemptFailed(ILogger logger, string endpoint, string id, int attempt, string error);

    [LoggerMessage(EventId = 7005, Level = LogLevel.Information, Message = "Webhook {Id} to {Endpoint} dropped before its next attempt: its customer was erased")]
    private static partial void LogDropped(ILogger logger, string endpoint, string id);

    [LoggerMessage(EventId = 7003, Level = LogLevel.Warning, Message = "Lost the lease of webhook endpoint {Endpoint}: another silo delivers to it now")]
    private static partial void LogLeaseLost(ILogger logger, string endpoint);

    [LoggerMessage(EventId = 7004, Level = LogLevel.Error, Message = "Webhook delivery to {Endpoint} failed; starting over from its stored position")]
    private static partial void LogLoopFailed(ILogger logger, string endpoint, Exception exception);
}
