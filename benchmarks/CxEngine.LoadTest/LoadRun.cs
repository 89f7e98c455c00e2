using System.Diagnostics;
using CxEngine.Contracts.V1;
using Grpc.Core;
using Grpc.Net.Client;
using HdrHistogram;

namespace CxEngine.LoadTest;

public sealed record RunResult(
    long Events,
    double Seconds,
    double EventsPerSecond,
    LongHistogram LatencyMicros,
    IReadOnlyDictionary<string, long> Errors);

/// <summary>
/// One measured run: the same pre-built messages through N concurrent streams, customers partitioned
/// over the streams so each customer's events keep their order. With a target rate the schedule is
/// fixed in advance (open loop) and latency is measured from each event's intended send time, so a
/// stall shows up in the latency instead of silently lowering the rate.
/// </summary>
internal static class LoadRun
{
    /// <summary>Metadata on every call against the engine (--header: an API key, x-cx-tenant); the ceiling ignores it.</summary>
    public static Grpc.Core.Metadata? Headers { get; set; }

    /// <param name="burst">
    /// Events that travel together: each stream's array is made of runs of this many events of one customer, and
    /// with a target rate a run's events share one intended send time (the average rate stays the same).
    /// </param>
    /// <summary>The URLs of a --target: one engine, or the silos of a cluster, comma-separated.</summary>
    public static string[] Targets(string target) =>
        target.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    public static async Task<RunResult> RunAsync(
        string target, IReadOnlyList<InteractionEvent[]> perStream, double rate, string label, CancellationToken cancellationToken, int burst = 1)
    {
        // Several targets (comma-separated, the silos of a cluster): stream s goes to target s mod n, and since each
        // customer has one stream, each customer enters the cluster through one silo.
        var channels = Targets(target)
            .Select(t => GrpcChannel.ForAddress(t, new GrpcChannelOptions { HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true } }))
            .ToArray();
        using var disposeChannels = new Disposables(channels);
        var clients = channels.Select(c => new Ingest.IngestClient(c)).ToArray();
        var total = perStream.Sum(s => s.Length);
        var perStreamRate = rate > 0 ? rate / perStream.Count : 0;
        var answered = 0L;
        var errors = new System.Collections.Concurrent.ConcurrentDictionary<string, long>();
        var histograms = perStream.Select(_ => new LongHistogram(TimeSpan.FromMinutes(5).Ticks / 10, 3)).ToArray();

        var clock = Stopwatch.StartNew();
        using var progress = new Timer(_ =>
        {
            var done = Interlocked.Read(ref answered);
            Console.Error.Write($"\r  {label}: {done,10:N0}/{total:N0} answered  {done / Math.Max(clock.Elapsed.TotalSeconds, 0.001),10:N0} ev/s   ");
        }, null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));

        var tasks = perStream.Select((events, s) => Task.Run(async () =>
        {
            // Send time of every event (Stopwatch ticks), by its index in this stream.
            var sentAt = new long[events.Length];
            var index = events.Select((e, i) => (e.EventId, i)).ToDictionary(p => p.EventId, p => p.i);
            using var call = clients[s % clients.Length].StreamEvents(Headers, cancellationToken: cancellationToken);
            var reader = Task.Run(async () =>
            {
                await foreach (var result in call.ResponseStream.ReadAllAsync(cancellationToken))
                {
                    var now = Stopwatch.GetTimestamp();
                    if (index.TryGetValue(result.EventId, out var i))
                    {
                        var micros = (now - sentAt[i]) * 1_000_000 / Stopwatch.Frequency;
                        histograms[s].RecordValue(Math.Max(0, micros));
                    }

                    if (result.Status is not (EventStatus.Applied or EventStatus.Duplicate))
                    {
                        errors.AddOrUpdate(result.Status.ToString(), 1, (_, n) => n + 1);
                    }

                    Interlocked.Increment(ref answered);
                }
            }, cancellationToken);

            var start = Stopwatch.GetTimestamp();
            for (var i = 0; i < events.Length; i++)
            {
                if (perStreamRate > 0)
                {
                    var intended = start + (long)(i / burst * burst / perStreamRate * Stopwatch.Frequency);
                    var wait = intended - Stopwatch.GetTimestamp();
                    if (wait > Stopwatch.Frequency / 1000)
                    {
                        await Task.Delay(TimeSpan.FromSeconds((double)wait / Stopwatch.Frequency), cancellationToken);
                    }

                    sentAt[i] = intended;
                }
                else
                {
                    sentAt[i] = Stopwatch.GetTimestamp();
                }

                await call.RequestStream.WriteAsync(events[i], cancellationToken);
            }

            await call.RequestStream.CompleteAsync();
            try
            {
                await reader;
            }
            catch (RpcException ex)
            {
                errors.AddOrUpdate($"stream {ex.StatusCode}", 1, (_, n) => n + 1);
            }
        }, cancellationToken)).ToArray();

        await Task.WhenAll(tasks);
        clock.Stop();
        Console.Error.WriteLine();

        var merged = new LongHistogram(TimeSpan.FromMinutes(5).Ticks / 10, 3);
        foreach (var h in histograms)
        {
            merged.Add(h);
        }

        var count = Interlocked.Read(ref answered);
        return new RunResult(count, clock.Elapsed.TotalSeconds, count / clock.Elapsed.TotalSeconds, merged, errors);
    }
}

internal sealed class Disposables(IEnumerable<IDisposable> items) : IDisposable
{
    public void Dispose()
    {
        foreach (var item in items)
        {
            item.Dispose();
        }
    }
}
