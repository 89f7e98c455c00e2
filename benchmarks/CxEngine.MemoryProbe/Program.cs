using System.Diagnostics;
using System.Globalization;
using CxEngine;
using CxEngine.Customers;
using CxEngine.Scoring;
using CxEngine.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;

// Usage: cxengine-memory-probe [--customers 1000000] [--events-per-customer 1] [--storage Sqlite|Memory] [--baseline] [--hold-seconds N]
// Makes the customers resident in this process's silo (each applies its events and stays active),
// then forces a full compacting GC and prints the managed heap and the process's resident set per customer.
var customers = Arg("--customers", 1_000_000);
var eventsPerCustomer = Arg("--events-per-customer", 1);
var storage = Enum.Parse<StorageProvider>(Option("--storage") ?? "Sqlite", ignoreCase: true);
var baseline = args.Contains("--baseline");
var dataDirectory = Path.Combine(Path.GetTempPath(), $"cxengine-memory-probe-{Guid.NewGuid():N}");

using var host = Host.CreateDefaultBuilder()
    .ConfigureLogging(l => l.SetMinimumLevel(LogLevel.Warning))
    .UseOrleans(silo =>
    {
        silo.UseLocalhostClustering(siloPort: 22111, gatewayPort: 0);
        silo.Services.AddOptions<EngineOptions>();
        // Keep every customer resident for the whole measurement.
        silo.Configure<GrainCollectionOptions>(o => o.CollectionAge = TimeSpan.FromHours(2));
        silo.AddCxEngineGrains(new StorageOptions { Provider = storage, DataDirectory = dataDirectory });
    })
    .Build();
await host.StartAsync();
var grains = host.Services.GetRequiredService<IGrainFactory>();
var t0 = new DateTime(2026, 3, 1, 9, 0, 0, DateTimeKind.Utc);

async Task ActivateAsync(int from, int to)
{
    var pending = new List<Task>(2048);
    for (var c = from; c < to; c++)
    {
        var events = new CustomerEvent[eventsPerCustomer];
        for (var e = 0; e < eventsPerCustomer; e++)
        {
            events[e] = new CustomerEvent(
                string.Create(CultureInfo.InvariantCulture, $"probe-{c}-{e}"), Channel.Phone,
                new ScoringEvent(t0.AddMinutes(e * 30).Ticks, EventKind.Contact, new Signals { Csat = 3 + (c % 3), WaitSeconds = 40, Resolved = true }),
                (c % 3) switch { 0 => "basic", 1 => "standard", _ => "premium" });
        }

        var key = string.Create(CultureInfo.InvariantCulture, $"cust-{c:D7}");
        pending.Add(baseline
            ? grains.GetGrain<CxEngine.MemoryProbe.IBaselineGrain>(key).Touch()
            : grains.GetGrain<ICustomerGrain>(key).ApplyAsync(events));
        if (pending.Count == 2048)
        {
            await Task.WhenAll(pending);
            pending.Clear();
        }
    }

    await Task.WhenAll(pending);
}

static long Heap()
{
    GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
    GC.WaitForPendingFinalizers();
    GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
    return GC.GetTotalMemory(forceFullCollection: true);
}

// Warm every code path with a first thousand customers, then weigh the rest.
const int Warm = 1000;
await ActivateAsync(0, Warm);
var heapBefore = Heap();
var rssBefore = Process.GetCurrentProcess().WorkingSet64;
var clock = Stopwatch.StartNew();
for (var start = Warm; start < Warm + customers; start += 100_000)
{
    await ActivateAsync(start, Math.Min(Warm + customers, start + 100_000));
    Console.Error.Write($"\r  {start - Warm + Math.Min(100_000, Warm + customers - start):N0}/{customers:N0} customers resident ({clock.Elapsed.TotalSeconds:F0} s)");
}

Console.Error.WriteLine();
var heapAfter = Heap();
var rssAfter = Process.GetCurrentProcess().WorkingSet64;
Console.WriteLine(baseline
    ? $"empty Orleans activations resident: {customers:N0} (+{Warm:N0} warm-up): the activation's own cost"
    : $"customers resident: {customers:N0} (+{Warm:N0} warm-up), {eventsPerCustomer} event(s) each, storage {storage}");
Console.WriteLine($"managed heap after full GC: {heapBefore / 1048576.0:F1} MiB -> {heapAfter / 1048576.0:F1} MiB");
Console.WriteLine($"bytes per resident customer (managed heap): {(heapAfter - heapBefore) / (double)customers:F0}");
Console.WriteLine($"bytes per resident customer (process resident set): {(rssAfter - rssBefore) / (double)customers:F0}");
Console.WriteLine($"machine: {Environment.ProcessorCount} cores, .NET {Environment.Version}, server GC {System.Runtime.GCSettings.IsServerGC}");

// --hold-seconds N keeps the silo up after measuring, so a heap dump (dotnet-gcdump) can be taken.
await Task.Delay(TimeSpan.FromSeconds(Arg("--hold-seconds", 0)));
await host.StopAsync();
if (Directory.Exists(dataDirectory))
{
    Directory.Delete(dataDirectory, recursive: true);
}

return 0;

int Arg(string name, int fallback) => Option(name) is { } value ? int.Parse(value, CultureInfo.InvariantCulture) : fallback;

string? Option(string name)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}
