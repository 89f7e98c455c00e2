using System.Diagnostics;
using CxEngine.Contracts.V1;
using Grpc.Net.Client;
using HdrHistogram;

namespace CxEngine.LoadTest;

/// <summary>GetScore latency on customers that are resident (the ingest run just touched them).</summary>
internal static class ReadRun
{
    public static async Task<RunResult> RunAsync(string target, IReadOnlyList<string> customers, int calls, int concurrency, CancellationToken cancellationToken)
    {
        using var channel = GrpcChannel.ForAddress(target);
        var scores = new Scores.ScoresClient(channel);
        var histograms = new LongHistogram[concurrency];
        var errors = new System.Collections.Concurrent.ConcurrentDictionary<string, long>();
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(worker => Task.Run(async () =>
        {
            var histogram = histograms[worker] = new LongHistogram(TimeSpan.FromMinutes(1).Ticks / 10, 3);
            var random = new Random(worker);
            for (var i = worker; i < calls; i += concurrency)
            {
                var request = new GetScoreRequest { CustomerId = customers[random.Next(customers.Count)] };
                var start = Stopwatch.GetTimestamp();
                try
                {
                    await scores.GetScoreAsync(request, LoadRun.Headers, cancellationToken: cancellationToken);
                }
                catch (Grpc.Core.RpcException ex)
                {
                    errors.AddOrUpdate(ex.StatusCode.ToString(), 1, (_, n) => n + 1);
                }

                histogram.RecordValue((Stopwatch.GetTimestamp() - start) * 1_000_000 / Stopwatch.Frequency);
            }
        }, cancellationToken)));
        clock.Stop();
        var merged = new LongHistogram(TimeSpan.FromMinutes(1).Ticks / 10, 3);
        foreach (var h in histograms)
        {
            merged.Add(h);
        }

        return new RunResult(calls, clock.Elapsed.TotalSeconds, calls / clock.Elapsed.TotalSeconds, merged, errors);
    }
}
