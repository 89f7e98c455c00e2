using System.Diagnostics;
using System.Globalization;
using CxEngine.Contracts.V1;
using CxEngine.Traffic;
using Grpc.Core;
using Grpc.Net.Client;

// Usage: cxengine-simulator [--target URL] [--customers N] [--rate EVENTS_PER_SECOND] [--duration SECONDS] [--seed N]
var settings = Args.Parse(args);
var generator = new InteractionGenerator(settings.Customers, settings.Seed);
Console.WriteLine($"Simulating {settings.Customers} customers at {(settings.Rate > 0 ? $"{settings.Rate} events/s" : "full speed")} for {settings.Duration} s against {settings.Target}");
Console.WriteLine("Ctrl+C stops early.");

using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(settings.Duration));
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stop.Cancel();
};

using var channel = GrpcChannel.ForAddress(settings.Target);
var ingest = new Ingest.IngestClient(channel);
using var call = ingest.StreamEvents();
var stats = new Stats();

var reader = Task.Run(async () =>
{
    await foreach (var result in call.ResponseStream.ReadAllAsync())
    {
        stats.Record(result);
    }
});

var clock = Stopwatch.StartNew();
var lastReport = TimeSpan.Zero;
long sent = 0;
try
{
    while (!stop.IsCancellationRequested)
    {
        if (settings.Rate > 0)
        {
            var due = TimeSpan.FromSeconds((double)sent / settings.Rate);
            if (due > clock.Elapsed)
            {
                await Task.Delay(due - clock.Elapsed, stop.Token);
            }
        }

        await call.RequestStream.WriteAsync(generator.Next());
        sent++;
        if (clock.Elapsed - lastReport >= TimeSpan.FromSeconds(1))
        {
            lastReport = clock.Elapsed;
            stats.Report(sent, clock.Elapsed);
        }
    }
}
catch (OperationCanceledException)
{
}

await call.RequestStream.CompleteAsync();
await reader;
stats.Report(sent, clock.Elapsed);
stats.Summary();

internal sealed record Args(string Target, int Customers, double Rate, int Duration, int Seed)
{
    public static Args Parse(string[] args)
    {
        string Get(string name, string fallback)
        {
            var i = Array.IndexOf(args, name);
            return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
        }

        return new Args(
            Get("--target", "http://localhost:50051"),
            int.Parse(Get("--customers", "300"), CultureInfo.InvariantCulture),
            double.Parse(Get("--rate", "200"), CultureInfo.InvariantCulture),
            int.Parse(Get("--duration", "30"), CultureInfo.InvariantCulture),
            int.Parse(Get("--seed", "1"), CultureInfo.InvariantCulture));
    }
}

internal sealed class Stats
{
    private readonly Lock _lock = new();
    private readonly Dictionary<EventStatus, long> _byStatus = [];
    private readonly Dictionary<(ActionStatus, Severity), long> _actions = [];
    private readonly Dictionary<string, CustomerScore> _latest = [];
    private long _answered;
    private int _printedThisSecond;

    public void Record(EventResult result)
    {
        lock (_lock)
        {
            _answered++;
            _byStatus[result.Status] = _byStatus.GetValueOrDefault(result.Status) + 1;
            if (result.Score is { } score)
            {
                _latest[score.CustomerId] = score;
            }

            if (result.Action is { } action)
            {
                _actions[(action.Status, action.Severity)] = _actions.GetValueOrDefault((action.Status, action.Severity)) + 1;
                if (_printedThisSecond++ < 5)
                {
                    var verb = action.Status switch
                    {
                        ActionStatus.Open => "RAISED   ",
                        ActionStatus.Escalated => "ESCALATED",
                        ActionStatus.Recovered => "RECOVERED",
                        _ => action.Status.ToString().ToUpperInvariant(),
                    };
                    Console.WriteLine(
                        $"  {verb} {action.Severity,-6} {action.Tier,-8} {action.CustomerId}  score {action.Score,5:F1} vs baseline {action.Baseline:F0}" +
                        (action.Status == ActionStatus.Recovered ? "" : $"  suggest {action.SuggestedCompensation:F0}{(action.RequiresApproval ? " (needs approval)" : "")}"));
                }
            }

            if (result.Status == EventStatus.Rejected)
            {
                Console.WriteLine($"  REJECTED {result.EventId}: {result.Error}");
            }
        }
    }

    public void Report(long sent, TimeSpan elapsed)
    {
        lock (_lock)
        {
            _printedThisSecond = 0;
            var below = _latest.Values.Count(s => s.BelowBaseline);
            var mean = _latest.Count == 0 ? 0 : _latest.Values.Average(s => s.Score);
            Console.WriteLine(
                $"[{elapsed:mm\\:ss}] sent {sent,8}  answered {_answered,8}  {_answered / Math.Max(elapsed.TotalSeconds, 0.001),7:F0}/s  " +
                $"mean score {mean,5:F1}  below baseline {below,5}/{_latest.Count}  open actions {_latest.Values.Count(s => s.OpenAction is not null),5}");
        }
    }

    public void Summary()
    {
        lock (_lock)
        {
            Console.WriteLine();
            Console.WriteLine("Results by status:");
            foreach (var (status, count) in _byStatus.OrderBy(p => p.Key))
            {
                Console.WriteLine($"  {status,-12} {count,8}");
            }

            Console.WriteLine("Recovery actions (changes seen):");
            foreach (var ((status, severity), count) in _actions.OrderBy(p => p.Key))
            {
                Console.WriteLine($"  {status,-10} {severity,-6} {count,6}");
            }

            Console.WriteLine("Lowest scores now:");
            foreach (var s in _latest.Values.OrderBy(s => s.Score - s.Baseline).Take(5))
            {
                Console.WriteLine($"  {s.CustomerId} {s.Tier,-8} score {s.Score,5:F1} baseline {s.Baseline:F0} expectation {s.Expectation:F1}");
            }
        }
    }
}
