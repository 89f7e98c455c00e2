using Microsoft.Extensions.Logging;

namespace CxEngine.Policies;

/// <summary>
/// This silo's copy of the tier catalog, so a customer grain reads its policy without a grain call.
/// The catalog grain pushes every new version to it; a renewal loop keeps the subscription alive and
/// re-reads the catalog, so a lost notification is corrected within <see cref="SubscriptionLifetime"/>/2.
/// </summary>
public sealed partial class TierCatalogCache(IGrainFactory grains, ILogger<TierCatalogCache> logger)
    : ITierCatalogObserver, ILifecycleParticipant<ISiloLifecycle>, IDisposable
{
    public static readonly TimeSpan SubscriptionLifetime = TimeSpan.FromMinutes(2);

    private readonly CancellationTokenSource _stopping = new();
    private readonly SemaphoreSlim _loading = new(1, 1);
    private TierCatalog? _catalog;
    private ITierCatalogObserver? _self;
    private Task _renewal = Task.CompletedTask;
    private long _lastMissReload = long.MinValue / 2;

    private const long MissReloadIntervalMs = 250;

    /// <summary>
    /// The catalog this silo holds. Naming a tier the held catalog does not know re-reads the catalog
    /// first, so a tier created a moment ago on another silo is found.
    /// </summary>
    public ValueTask<TierCatalog> GetAsync(string? tier = null)
    {
        if (_catalog is { } catalog && (string.IsNullOrEmpty(tier) || catalog.Find(tier) is not null))
        {
            return new(catalog);
        }

        return new(LoadAsync(tier));
    }

    /// <summary>Takes a catalog read elsewhere (an upsert on this silo), if it is newer than the one held.</summary>
    public void Offer(TierCatalog catalog)
    {
        while (true)
        {
            var current = _catalog;
            if (current is not null && current.Version >= catalog.Version)
            {
                return;
            }

            if (Interlocked.CompareExchange(ref _catalog, catalog, current) == current)
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
        await RefreshAsync();
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

    private async Task<TierCatalog> LoadAsync(string? tier)
    {
        await _loading.WaitAsync();
        try
        {
            if (_catalog is { } loaded && (string.IsNullOrEmpty(tier) || loaded.Find(tier) is not null
                || Environment.TickCount64 - _lastMissReload < MissReloadIntervalMs))
            {
                // Known now, or re-read a moment ago: a stream of made-up tier names must not hammer the catalog grain.
                return loaded;
            }

            var catalog = await grains.GetGrain<ITierCatalogGrain>(ITierCatalogGrain.Key).GetAsync();
            _lastMissReload = Environment.TickCount64;
            Offer(catalog);
            return _catalog!;
        }
        finally
        {
            _loading.Release();
        }
    }

    private async Task RefreshAsync()
    {
        var catalog = grains.GetGrain<ITierCatalogGrain>(ITierCatalogGrain.Key);
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
            try
            {
                await RefreshAsync();
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogRenewFailed(logger, ex);
            }
        }
    }

    public void Dispose()
    {
        _stopping.Dispose();
        _loading.Dispose();
    }

    [LoggerMessage(EventId = 2101, Level = LogLevel.Warning, Message = "Renewing the tier catalog subscription failed; will retry")]
    private static partial void LogRenewFailed(ILogger logger, Exception exception);
}
