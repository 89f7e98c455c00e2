using System.Diagnostics;
using System.Globalization;
using CxEngine.Contracts.V1;
using CxEngine.Traffic;
using Grpc.Core;
using Grpc.Net.Client;

// Usage: cxengine-simulator [--target URL] [--customers N] [--rate EVENTS_PER_SECOND] [--duration SECONDS] [--seed N] [--no-open-promises]
var settings = Args.Parse(args);
var generator = new InteractionGenerator(settings.Customers, settings.Seed, openPromises: settings.OpenPromises);
Console.WriteLine($"Simulating {settings.Customers} customers at {(settings.Rate > 0 ? $"{settings.Rate} events/s" : "full speed")} for {settings.Duration} s against {settings.Target}");
Console.WriteLine("Ctrl+C stops early. Actions are printed as they come, at most 5 a second (the counts below have them all).");

using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(settings.Duration));
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stop.Cancel();
};

using var channel = GrpcChannel.ForAddress(settings.Target);
var ingest = new Ingest.IngestClient(channel);
var stats = new Stats();

// The action log as a recovery desk sees it, missed promises' actions included (those come from the engine's clock,
// not from an event's result): live from now on.
var tiers = await new Policies.PoliciesClient(channel).ListTiersAsync(new ListTiersRequest());
var episodes = new Episodes(tiers.Tiers.ToDictionary(t => t.Name, t => TimeSpan.FromDays(t.ReopenWindowDays)));
using var watching = CancellationTokenSource.CreateLinkedTokenSource(stop.Token);
using var watch = new Recovery.RecoveryClient(channel).WatchActions(new WatchActionsRequest { AfterSequence = -1 }, cancellationToken: watching.Token);
var watcher = Task.Run(async () =>
{
    try
    {
        await foreach (var entry in watch.ResponseStream.ReadAllAsync(watching.Token))
        {
            episodes.Record(entry);
        }
    }
    catch (Exception ex) when (ex is OperationCanceledException or RpcException { StatusCode: StatusCode.Cancelled })
    {
    }
});

using var call = ingest.StreamEvents();

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
            // The clock read once: read twice, it can pass the due time in between and the wait turn negative.
            var wait = TimeSpan.FromSeconds((double)sent / settings.Rate) - clock.Elapsed;
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, stop.Token);
            }
        }

        var next = generator.Next();
        stats.Sent(next);
        await call.RequestStream.WriteAsync(next);
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

// Promises the engine applied as missed by itself are in the customers' histories as "promise-missed:{id}".
var scores = new Scores.ScoresClient(channel);
var missed = 0;
foreach (var customerId in generator.CustomerIds)
{
    var request = new GetHistoryRequest { CustomerId = customerId, PageSize = 1000 };
    try
    {
        do
        {
            var page = await scores.GetHistoryAsync(request);
            missed += page.Changes.Count(c => c.EventId.StartsWith("promise-missed:", StringComparison.Ordinal));
            request.PageToken = page.NextPageToken;
        }
        while (request.PageToken.Length > 0);
    }
    catch (RpcException ex) when (ex.StatusCode == StatusCode.NotFound)
    {
    }
}

stats.Promises(missed);
await Task.Delay(500); // the last entries of the action log
await watching.CancelAsync();
await watcher;
episodes.Summary();

internal sealed record Args(string Target, int Customers, double Rate, int Duration, int Seed, bool OpenPromises)
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
            int.Parse(Get("--seed", "1"), CultureInfo.InvariantCulture),
            !args.Contains("--no-open-promises"));
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
    private long _registered;
    private long _kept;
    private long _late;

    /// <summary>What an event says about promises: an order placed (registered), or delivered on time or late.</summary>
    public void Sent(InteractionEvent evt)
    {
        if (evt.Signals.Promise is not { PromiseId.Length: > 0 } promise)
        {
            return;
        }

        lock (_lock)
        {
            if (promise.FulfilledAt is null)
            {
                _registered++;
            }
            else if (promise.FulfilledAt.ToDateTime() <= promise.PromisedAt.ToDateTime())
            {
                _kept++;
            }
            else
            {
                _late++;
            }
        }
    }

    public void Promises(int missed)
    {
        lock (_lock)
        {
            Console.WriteLine("Open promises:");
            Console.WriteLine($"  registered {_registered,8}");
            Console.WriteLine($"  kept       {_kept,8}");
            Console.WriteLine($"  late       {_late,8}   (delivered after promised_at; the hopelessly late ones were missed first)");
            Console.WriteLine($"  missed     {missed,8}   (applied by the engine itself: nothing by promised_at + 4 x tolerance)");
            Console.WriteLine("  (so far: promises still open are applied as overdue or missed by the engine's clock after this run ends)");
        }
    }

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

/// <summary>
/// The desk's view of alert noise: per customer, an episode is a run of falls where each new fall comes within the
/// tier's reopen_window of the last close. Version 2 reopens the same action inside the window, so a desk sees one
/// RAISED per episode; version 1 raised a new action each time the score crossed the line.
/// </summary>
internal sealed class Episodes(IReadOnlyDictionary<string, TimeSpan> reopenWindows)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, (DateTime? LastClose, int Episodes, int Raises)> _customers = [];
    private readonly Dictionary<ActionChange, int> _changes = [];

    public void Record(RecoveryAction entry)
    {
        lock (_lock)
        {
            _changes[entry.Change] = _changes.GetValueOrDefault(entry.Change) + 1;
            var (lastClose, episodes, raises) = _customers.GetValueOrDefault(entry.CustomerId);
            var at = entry.UpdatedAt.ToDateTime();
            var window = reopenWindows.GetValueOrDefault(entry.Tier, TimeSpan.FromDays(7));
            switch (entry.Change)
            {
                case ActionChange.Raised:
                    episodes += lastClose is { } closed && at - closed < window ? 0 : 1;
                    raises++;
                    lastClose = null;
                    break;
                case ActionChange.Reopened:
                    lastClose = null;
                    break;
                case ActionChange.Recovered or ActionChange.Resolved:
                    lastClose = at;
                    break;
            }

            _customers[entry.CustomerId] = (lastClose, episodes, raises);
        }
    }

    public void Summary()
    {
        lock (_lock)
        {
            Console.WriteLine("Action log (every change, as a recovery desk watching it sees them):");
            foreach (var (change, count) in _changes.OrderBy(p => p.Key))
            {
                Console.WriteLine($"  {change,-12} {count,6}");
            }

            var episodes = _customers.Values.Sum(c => c.Episodes);
            var raises = _customers.Values.Sum(c => c.Raises);
            Console.WriteLine(
                $"Raised per customer episode: {(episodes == 0 ? 0 : (double)raises / episodes):F2} " +
                $"({raises} RAISED over {episodes} episodes of {_customers.Count(c => c.Value.Episodes > 0)} customers)");
        }
    }
}
