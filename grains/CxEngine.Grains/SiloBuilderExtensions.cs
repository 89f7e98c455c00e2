using CxEngine.Policies;
using CxEngine.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Orleans.Serialization;
using Orleans.Storage;

namespace CxEngine;

public static class SiloBuilderExtensions
{
    /// <summary>
    /// Everything CxEngine's grains need in a silo: the grain storage chosen by <paramref name="storage"/>
    /// and this silo's tier-catalog cache. The host binds <see cref="EngineOptions"/> itself.
    /// </summary>
    public static ISiloBuilder AddCxEngineGrains(this ISiloBuilder silo, StorageOptions storage)
    {
        silo.Services.TryAddKeyedSingleton<TimeProvider>(EngineClock.Key, static (sp, _) => sp.GetRequiredService<TimeProvider>());
        silo.Services.AddSingleton<TierCatalogCache>();
        silo.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<TierCatalogCache>());

        switch (storage.Provider)
        {
            case StorageProvider.Sqlite:
                var connectionString = SqliteSchema.ConnectionStringFor(storage.SqliteDatabasePath);
                silo.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp =>
                    new SqliteSchema(connectionString, sp.GetRequiredService<ILogger<SqliteSchema>>()));
                silo.AddAdoNetGrainStorage(CxStorage.Name, options =>
                {
                    options.Invariant = CxStorage.SqliteInvariant;
                    options.ConnectionString = connectionString;
                });
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(storage), storage.Provider, "unknown storage provider");
        }

        // Compact, version-tolerant binary state (the provider's default is JSON).
        silo.Services.AddOptions<AdoNetGrainStorageOptions>(CxStorage.Name)
            .PostConfigure<Serializer>((options, serializer) => options.GrainStorageSerializer = new OrleansGrainStorageSerializer(serializer));
        return silo;
    }
}
