using System.Collections.Concurrent;
using CxEngine.Customers;
using Microsoft.Extensions.Logging;

namespace CxEngine.Policies;

/// <summary>
/// This silo's copy of each tenant's tier catalog, so a customer grain reads its policy without a grain call.
/// A tenant's catalog is loaded on its first use (the default tenant's at start); its catalog grain pushes every new
/// version here; a renewal loop keeps the subscriptions alive and re-reads the catalogs, so a lost notification is
/// corrected within <see cref="SubscriptionLifetime"/>/2.
/// </summary>
public sealed partial class TierCatalogCache(IGrainFactory grains, ILogger<TierCatalogCache> logger)
    : ITierCatalogObserver, ILifecycleParticipant<ISiloLifecycle>, IDisposable
{
    public static readonly TimeSpan SubscriptionLifetime = TimeSpan.FromMinutes(2);

    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<string, Held> _tenants = new(StringComparer.Ordinal);
    private ITierCatalogObserver? _self;
    private Task _renewal = Task.CompletedTask;

    private const long MissReloadIntervalMs = 250;

    /// <summary>
    /// The tenant's catalog this silo holds. Naming a tier the held catalog does not know re-reads the catalog
    /// first, so a tier created a moment ago on another silo is found.
    /// </summary>
    public ValueTask<TierCatalog> GetAsync(string tenant, string? tier)
    {
        if (_tenants.TryGetValue(tenant, out var held) && held.Catalog is { } catalog
            && (string.IsNullOrEmpty(tier) || catalog.Find(tier) is not null))
        {
            return new(catalog);
        }

        return new(LoadAsync(tenant, tier));
    }

    /// <summary>Takes a catalog read elsewhere (an upsert on this silo), if it is newer than the one held for its tenant.</summary>
    public void Offer(TierCatalog catalog)
    {
        var held = _tenants.GetOrAdd(catalog.Tenant, static _ => new Held());
        while (true)
        {
            var current = held.Catalog;
            if (current is not null && current.Version >= catalog.Version)
            {
                return;
            }

            if (Interlocked.CompareExchange(ref held.Catalog, catalog, current) == current)
            {
                return;
            }
        }
    }

    Task ITierCatalogObserver.OnCatalogChanged(TierCatalog catalog)
    {
        Offer(catalog);
        return Task.CompletedTask;
    }

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(TierCatalogCache), ServiceLifecycleStage.Active, OnStartAsync, OnStopAsync);

    private async Task OnStartAsync(CancellationToken cancellationToken)
    {
        _self = grains.CreateObjectReference<ITierCatalogObserver>(this);
        await RefreshAsync(Tenants.Default);
        _renewal = RenewLoopAsync(_stopping.Token);
    }

    private async Task OnStopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        await _renewal.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        if (_self is not null)
        {
            grains.DeleteObjectReference<ITierCatalogObserver>(_self);
        }
    }

    private async Task<TierCatalog> LoadAsync(string tenant, string? tier)
    {
        var held = _tenants.GetOrAdd(tenant, static _ => new Held());
        await held.Loading.WaitAsync();
        try
        {
            if (held.Catalog is { } loaded && (string.IsNullOrEmpty(tier) || loaded.Find(tier) is not null
                || Environment.TickCount64 - held.LastMissReload < MissReloadIntervalMs))
            {
                // Known now, or re-read a moment ago: a stream of made-up tier names must not hammer the catalog grain.
                return loaded;
            }

            if (held.Catalog is null)
            {
                // A tenant this silo had not served yet: hear of its changes from now on (the renewal loop keeps it).
                await RefreshAsync(tenant);
            }
            else
            {
                Offer(await grains.GetGrain<ITierCatalogGrain>(ITierCatalogGrain.KeyOf(tenant)).GetAsync());
            }

            held.LastMissReload = Environment.TickCount64;
            return held.Catalog!;
        }
        finally
        {
            held.Loading.Release();
        }
    }

    private async Task RefreshAsync(string tenant)
    {
        var catalog = grains.GetGrain<ITierCatalogGrain>(ITierCatalogGrain.KeyOf(tenant));
        if (_self is not null)
        {
            await catalog.SubscribeAsync(_self);
        }

        Offer(await catalog.GetAsync());
    }

    private async Task RenewLoopAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(SubscriptionLifetime / 2);
        while (await timer.WaitForNextTickAsync(cancellationToken))
        {
            foreach (var tenant in _tenants.Keys)
            {
                try
                {
                    await RefreshAsync(tenant);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    LogRenewFailed(logger, ex, tenant);
                }
            }
        }
    }

    public void Dispose()
    {
        _stopping.Dispose();
        foreach (var held in _tenants.Values)
        {
            held.Dispose();
        }
    }

    /// <summary>One tenant's catalog as this silo holds it.</summary>
    private sealed class Held : IDisposable
    {
        public TierCatalog? Catalog;
        public long LastMissReload = long.MinValue / 2;
        public readonly SemaphoreSlim Loading = new(1, 1);

        public void Dispose() => Loading.Dispose();
    }

    [LoggerMessage(EventId = 2101, Level = LogLevel.Warning, Message = "Renewing the tier catalog subscription of tenant {Tenant} failed; will retry")]
    private static partial void LogRenewFailed(ILogger logger, Exception exception, string tenant);
}
