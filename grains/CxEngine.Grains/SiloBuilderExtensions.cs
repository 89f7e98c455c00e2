using CxEngine.Customers;
using CxEngine.Policies;
using CxEngine.Recovery;
using CxEngine.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Runtime.Hosting;
using Orleans.Serialization;
using Orleans.Storage;

namespace CxEngine;

public static class SiloBuilderExtensions
{
    /// <summary>
    /// Everything CxEngine's grains need in a silo: the database chosen by <paramref name="storage"/> (with its
    /// schema applied first), the customer and recovery stores on it, the grain storage for the tier catalog,
    /// and this silo's tier-catalog cache. The host binds <see cref="EngineOptions"/>
    /// and chooses clustering.
    /// </summary>
    public static ISiloBuilder AddCxEngineGrains(this ISiloBuilder silo, StorageOptions storage)
    {
        silo.Services.TryAddKeyedSingleton<TimeProvider>(EngineClock.Key, static (sp, _) => sp.GetRequiredService<TimeProvider>());
        silo.Services.AddMetrics();
        silo.Services.TryAddSingleton<EngineMetrics>();
        silo.Services.AddSingleton<TierCatalogCache>();
        silo.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<TierCatalogCache>());

        // The customers' event log and rows, the action log and the current actions: one database, one writer.
        silo.Services.AddSingleton(sp =>
        {
            var database = new CxDatabase(storage, sp.GetRequiredService<ILoggerFactory>());
            sp.GetRequiredService<EngineMetrics>().ObserveWriter(database.Writer);
            return database;
        });
        silo.Services.AddSingleton(sp => new RecoveryStore(sp.GetRequiredService<CxDatabase>(), sp.GetRequiredService<Serializer>()));
        silo.Services.AddSingleton<CustomerStore>();
        // What a customer grain may do with storage: its own journal, nothing across customers.
        silo.Services.AddSingleton<ICustomerJournal>(sp => sp.GetRequiredService<CustomerStore>());

        // Memory that levels off: idle customers leave after Customers.IdleAfter, and under memory pressure Orleans
        // sheds the least recently used ones first (each comes back from its snapshot and log on its next event).
        silo.Services.AddOptions<GrainCollectionOptions>().Configure<IOptions<EngineOptions>>((collection, engine) =>
        {
            collection.ClassSpecificCollectionAge[typeof(CustomerGrain).FullName!] = engine.Value.Customers.IdleAfter;
            collection.EnableActivationSheddingOnMemoryPressure = true;
        });
        silo.Services.AddSingleton<ActionFeed>();
        silo.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<ActionFeed>());
        silo.Services.AddSingleton<RetentionSweeper>();
        silo.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<RetentionSweeper>());
        silo.Services.AddSingleton<DeadlineSweeper>();
        silo.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<DeadlineSweeper>());

        // The memory database is new at every start, so it always needs its tables.
        if (storage.ApplySchemaOnStart || storage.Provider is StorageProvider.Memory or StorageProvider.None)
        {
            silo.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp =>
                new SchemaInstaller(storage, sp.GetRequiredService<CxDatabase>().ConnectionString, sp.GetRequiredService<ILogger<SchemaInstaller>>()));
        }

        switch (storage.Provider)
        {
            case StorageProvider.Memory or StorageProvider.None:
            case StorageProvider.Sqlite or StorageProvider.PostgreSql when storage.EffectiveStateWriter == StateWriter.GroupCommit:
                // Memory is the same group-commit path on an in-memory SQLite database: volatile, nothing else different.
                silo.Services.AddGrainStorage(CxStorage.Name, (sp, _) => new GroupCommitGrainStorage(
                    sp.GetRequiredService<CxDatabase>(),
                    sp.GetRequiredService<IOptions<ClusterOptions>>().Value.ServiceId,
                    sp.GetRequiredService<Serializer>()));
                break;
            case StorageProvider.Sqlite:
            case StorageProvider.PostgreSql:
                silo.AddAdoNetGrainStorage(CxStorage.Name, options =>
                {
                    options.Invariant = storage.Provider == StorageProvider.Sqlite ? CxStorage.SqliteInvariant : CxStorage.PostgreSqlInvariant;
                    options.ConnectionString = storage.EffectiveConnectionString;
                });
                // Compact, version-tolerant binary state (the provider's default is JSON).
                silo.Services.AddOptions<AdoNetGrainStorageOptions>(CxStorage.Name)
                    .PostConfigure<Serializer>((options, serializer) => options.GrainStorageSerializer = new OrleansGrainStorageSerializer(serializer));
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(storage), storage.Provider, "unknown storage provider");
        }

        return silo;
    }
}
