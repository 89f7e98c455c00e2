using BenchmarkDotNet.Attributes;
using CxEngine.Customers;
using CxEngine.Scoring;
using CxEngine.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CxEngine.Benchmarks;

/// <summary>
/// The customer grain's batch path inside a real in-process silo: one grain call applying a batch of
/// events to an already active customer and storing it once. Storage is Orleans' memory provider (with
/// the binary serializer) or the SQLite group-commit provider, so the figure is the grain path plus
/// one state write, without gRPC.
/// </summary>
[MemoryDiagnoser]
public class GrainBatchBenchmarks
{
    private const int Customers = 256;
    private static readonly DateTime T0 = new(2026, 3, 1, 9, 0, 0, DateTimeKind.Utc);

    private IHost _host = null!;
    private ICustomerGrain[] _grains = null!;
    private string _dataDirectory = null!;
    private long _next;

    [Params(1, 16)]
    public int BatchSize { get; set; }

    [Params(StorageProvider.Memory, StorageProvider.Sqlite)]
    public StorageProvider Storage { get; set; }

    [GlobalSetup]
    public async Task Setup()
    {
        _dataDirectory = Path.Combine(Path.GetTempPath(), $"cxengine-bench-{Guid.NewGuid():N}");
        _host = Host.CreateDefaultBuilder()
            .ConfigureLogging(l => l.SetMinimumLevel(LogLevel.Warning))
            .UseOrleans(silo =>
            {
                silo.UseLocalhostClustering(siloPort: 21111, gatewayPort: 0);
                silo.Services.AddOptions<EngineOptions>();
                silo.AddCxEngineGrains(new StorageOptions { Provider = Storage, DataDirectory = _dataDirectory });
            })
            .Build();
        await _host.StartAsync();
        var factory = _host.Services.GetRequiredService<IGrainFactory>();
        _grains = [.. Enumerable.Range(0, Customers).Select(i => factory.GetGrain<ICustomerGrain>($"bench-{i}"))];
        foreach (var grain in _grains)
        {
            await grain.ApplyAsync(Batch());
        }
    }

    [GlobalCleanup]
    public async Task Cleanup()
    {
        await _host.StopAsync();
        _host.Dispose();
        if (Directory.Exists(_dataDirectory))
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
    }

    /// <summary>One call: a batch of good contacts for the next customer in turn.</summary>
    [Benchmark]
    public Task<EventOutcomes> ApplyBatch() => _grains[_next % Customers].ApplyAsync(Batch());

    private CustomerEvent[] Batch()
    {
        var batch = new CustomerEvent[BatchSize];
        for (var i = 0; i < batch.Length; i++)
        {
            var n = Interlocked.Increment(ref _next);
            batch[i] = new CustomerEvent($"b{n}", Channel.Phone, new ScoringEvent(
                T0.AddMinutes(n).Ticks, EventKind.Contact, new Signals { Csat = 4 + (int)(n % 2), WaitSeconds = 30, Resolved = true }), "standard");
        }

        return batch;
    }
}
