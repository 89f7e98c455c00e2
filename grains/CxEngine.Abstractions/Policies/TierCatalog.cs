using CxEngine.Scoring;

namespace CxEngine.Policies;

/// <summary>A tenant's tier policies at one version. Immutable: a change makes a new catalog.</summary>
[GenerateSerializer, Immutable, Alias("cx.TierCatalog")]
public sealed record TierCatalog(
    [property: Id(0)] long Version,
    [property: Id(1)] string DefaultTier,
    [property: Id(2)] IReadOnlyList<TierPolicy> Tiers,
    [property: Id(3)] string Tenant = Customers.Tenants.Default)
{
    // By index: found two or three times per event, and a foreach over the interface boxes an enumerator each time.
    public TierPolicy? Find(string name)
    {
        for (var i = 0; i < Tiers.Count; i++)
        {
            if (string.Equals(Tiers[i].Name, name, StringComparison.Ordinal))
            {
                return Tiers[i];
            }
        }

        return null;
    }

    /// <summary>The tier of that name, or (unknown or none given) the default tier.</summary>
    public TierPolicy FindOrDefault(string? name) =>
        (name is null ? null : Find(name)) ?? Find(DefaultTier) ?? throw new InvalidOperationException($"the catalog has no tier '{name}' and no default tier '{DefaultTier}'");

    public string KnownNames => string.Join(", ", Tiers.Select(t => t.Name).Order(StringComparer.Ordinal));
}

/// <summary>A tenant's one catalog of tier policies in the cluster, persisted; a new tenant's starts from the configured tiers.</summary>
[Alias("cx.ITierCatalogGrain")]
public interface ITierCatalogGrain : IGrainWithStringKey
{
    /// <summary>The default tenant's catalog (the key of the one catalog from before tenants).</summary>
    public const string Key = "tiers";

    /// <summary>The catalog grain's key for a tenant.</summary>
    public static string KeyOf(string tenant) => Customers.Tenants.Key(tenant, Key);

    [Alias("Get"), ReadOnly]
    Task<TierCatalog> GetAsync();

    /// <summary>Creates or replaces one tier; the policy must already be valid.</summary>
    [Alias("Upsert")]
    Task<TierCatalog> UpsertAsync(TierPolicy policy);

    /// <summary>Observers hear of every new catalog version; subscriptions expire, so renew them.</summary>
    [Alias("Subscribe")]
    Task SubscribeAsync(ITierCatalogObserver observer);
}

[Alias("cx.ITierCatalogObserver")]
public interface ITierCatalogObserver : IGrainObserver
{
    [Alias("OnCatalogChanged"), OneWay]
    Task OnCatalogChanged(TierCatalog catalog);
}
