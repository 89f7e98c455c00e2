using CxEngine.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Orleans.TestingHost;

namespace CxEngine.Tests.Grains;

/// <summary>One in-process Orleans cluster for the grain tests, on a throwaway SQLite database, with a fake engine clock.</summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    private readonly TempDirectory _data = new("grains");

    public FakeTimeProvider Clock { get; } = new(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));

    public InProcessTestCluster Cluster { get; private set; } = null!;

    public IGrainFactory Grains => Cluster.Client;

    public async Task InitializeAsync()
    {
        var builder = new InProcessTestClusterBuilder(1);
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddCxEngineGrains(new StorageOptions { DataDirectory = _data.Path });
            // Small enough that the tests cross snapshots, replays and forgotten ids.
            silo.Services.AddOptions<EngineOptions>().Configure(o =>
            {
                o.Customers.SnapshotEvery = 5;
                o.Customers.RecentEventIds = 64;
            });
            silo.Services.AddKeyedSingleton<TimeProvider>(EngineClock.Key, Clock);
        });
        Cluster = builder.Build();
        await Cluster.DeployAsync();
    }

    public async Task DisposeAsync()
    {
        await Cluster.DisposeAsync();
        _data.Dispose();
    }
}

[CollectionDefinition(Name)]
public sealed class ClusterCollection : ICollectionFixture<ClusterFixture>
{
    public const string Name = "cluster";
}
