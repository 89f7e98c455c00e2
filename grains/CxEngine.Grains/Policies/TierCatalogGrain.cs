using CxEngine.Scoring;
using CxEngine.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Utilities;

namespace CxEngine.Policies;

[GenerateSerializer, Alias("cx.TierCatalogState")]
public sealed class TierCatalogState
{
    [Id(0)] public long Version { get; set; }

    [Id(1)] public List<TierPolicy> Tiers { get; set; } = [];
}

/// <summary>
/// A tenant's one persisted catalog of tier policies (keyed <see cref="ITierCatalogGrain.KeyOf"/>). Starts from configuration, takes run-time upserts,
/// and tells every silo's <see cref="TierCatalogCache"/> about each new version.
/// </summary>
public sealed partial class TierCatalogGrain(
    [PersistentState("tiers", CxStorage.Name)] IPersistentState<TierCatalogState> state,
    IOptions<EngineOptions> options,
    TierCatalogCache localCache,
    ILogger<TierCatalogGrain> logger) : Grain, ITierCatalogGrain
{
    private readonly ObserverManager<ITierCatalogObserver> _observers = new(TierCatalogCache.SubscriptionLifetime, logger);
    private TierCatalog _catalog = null!;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        // Configured tiers that storage does not know yet are added; stored (possibly upserted) tiers win.
        var added = false;
        foreach (var configured in options.Value.EffectiveTiers())
        {
            if (state.State.Tiers.All(t => t.Name != configured.Name))
            {
                state.State.Tiers.Add(configured);
                added = true;
            }
        }

        if (added)
        {
            state.State.Version++;
            await state.WriteStateAsync(cancellationToken);
        }

        _catalog = Build();
    }

    public Task<TierCatalog> GetAsync() => Task.FromResult(_catalog);

    public async Task<TierCatalog> UpsertAsync(TierPolicy policy)
    {
        if (policy.Validate() is { } problem)
        {
            throw new InvalidPolicyException(problem);
        }

        var previous = state.State.Tiers.ToList();
        var version = state.State.Version;
        state.State.Tiers.RemoveAll(t => t.Name == policy.Name);
        state.State.Tiers.Add(policy);
        state.State.Version++;
        try
        {
            await state.WriteStateAsync();
        }
        catch (Exception ex)
        {
            state.State.Tiers = previous;
            state.State.Version = version;
            throw new StorageUnavailableException("storage is unavailable; the tier was not changed, retry the call", ex);
        }

        _catalog = Build();
        LogTierUpserted(logger, policy.Name, _catalog.Version);
        // This silo sees the change before the call returns; the others as soon as the notification lands.
        localCache.Offer(_catalog);
        await _observers.Notify(o => o.OnCatalogChanged(_catalog));
        return _catalog;
    }

    public Task SubscribeAsync(ITierCatalogObserver observer)
    {
        _observers.Subscribe(observer, observer);
        return Task.CompletedTask;
    }

    private TierCatalog Build() => new(
        state.State.Version,
        options.Value.DefaultTier,
        [.. state.State.Tiers.OrderBy(t => t.Name, StringComparer.Ordinal)],
        Customers.Tenants.TenantOf(this.GetPrimaryKeyString()));

    [LoggerMessage(EventId = 2001, Level = LogLevel.Information, Message = "Tier {Tier} upserted; catalog is now at version {Version}")]
    private static partial void LogTierUpserted(ILogger logger, string tier, long version);
}
