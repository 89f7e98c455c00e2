using System.Globalization;
using System.Text.Json;
using CxEngine.Contracts.V1;
using CxEngine.LoadTest;
using CxEngine.Traffic;
using HdrHistogram;

switch (args.FirstOrDefault())
{
    case "report":
        return Report.Print(args[1..], Console.Out);
    case "ceiling-server":
        {
            // The ceiling as a process of its own, for a comparison that runs one server at a time.
            var url = args.Length == 3 && args[1] == "--urls" ? args[2] : "http://127.0.0.1:50051";
            await using var server = await CeilingServer.StartAsync(url);
            Console.WriteLine($"ceiling server (no-op Ingest) listening on {url}");
            await server.WaitForShutdownAsync();
            return 0;
        }
}

LoadOptions options;
try
{
    options = LoadOptions.Parse(args);
}
catch (Exception ex) when (ex is ArgumentException or FormatException)
{
    Console.Error.WriteLine(ex.Message);
    Console.Error.WriteLine(LoadOptions.Usage);
    return 2;
}

if (args.Contains("--help"))
{
    Console.WriteLine(LoadOptions.Usage);
    return 0;
}

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancel.Cancel();
};

var generator = new InteractionGenerator(options.Customers, options.Seed, customerPrefix: $"load{options.Seed}");
InteractionEvent[][] Batch(int count)
{
    // Customers are split over the streams, so one customer's events always travel on one stream, in order.
    var streams = Enumerable.Range(0, options.Streams).Select(_ => new List<InteractionEvent>(count / options.Streams + 1)).ToArray();
    // With --burst K a pick adds K consecutive events of that customer, so they go out back to back; K = 1 is
    // one random customer per event, the same sequence as before bursts existed.
    var random = new Random(options.Seed);
    for (var i = 0; i < count;)
    {
        var customer = random.Next(options.Customers);
        for (var k = 0; k < options.Burst && i < count; k++, i++)
        {
            streams[customer % options.Streams].Add(generator.NextFor(customer));
        }
    }

    return [.. streams.Select(s => s.ToArray())];
}

Console.WriteLine($"CxEngine load: {options.Events:N0} events over {options.Customers:N0} customers, {options.Streams} streams, " +
    $"{(options.Rate > 0 ? $"target {options.Rate:N0} ev/s (open loop)" : "maximum rate")}, against {options.Target}");
Console.WriteLine($"traffic: {options.Shape}");
Console.WriteLine($"machine: {Environment.ProcessorCount} cores, {Environment.OSVersion}, .NET {Environment.Version}");

LoadRun.Headers = options.Metadata();
if (options.Warmup > 0)
{
    await LoadRun.RunAsync(options.Target, Batch(options.Warmup), 0, "warm-up", cancel.Token);
}

var measuredEvents = Batch(options.Events);
var engine = await LoadRun.RunAsync(options.Target, measuredEvents, options.Rate, "engine", cancel.Token, options.Burst);

RunResult? reads = null;
if (options.GetScores > 0)
{
    var resident = measuredEvents.SelectMany(s => s).Select(e => e.CustomerId).Distinct().ToArray();
    reads = await ReadRun.RunAsync(LoadRun.Targets(options.Target)[0], resident, options.GetScores, concurrency: 8, cancel.Token);
}

RunResult? ceiling = null;
if (options.Ceiling)
{
    await using var noop = await CeilingServer.StartAsync();
    var url = noop.Urls.Single();
    await LoadRun.RunAsync(url, Batch(Math.Min(options.Warmup, 20_000)), 0, "ceiling warm-up", cancel.Token);
    ceiling = await LoadRun.RunAsync(url, measuredEvents, 0, "ceiling", cancel.Token);
}

Print("engine", engine);
if (reads is not null)
{
    Print("GetScore on resident customers (8 concurrent callers)", reads);
}
if (ceiling is not null)
{
    Print("ceiling (no-op gRPC server, same messages and streams)", ceiling);
    Console.WriteLine($"ratio to ceiling: {engine.EventsPerSecond / ceiling.EventsPerSecond:P1}");
}

var sweep = new List<(double Rate, RunResult Result)>();
if (options.Plot is not null)
{
    foreach (var fraction in new[] { 0.25, 0.5, 0.75, 0.9 })
    {
        var rate = engine.EventsPerSecond * fraction;
        var result = await LoadRun.RunAsync(options.Target, Batch(Math.Max(20_000, (int)(rate * 10))), rate, $"sweep {fraction:P0}", cancel.Token, options.Burst);
        sweep.Add((rate, result));
        Console.WriteLine($"  sweep at {rate,10:N0} ev/s target: achieved {result.EventsPerSecond,10:N0} ev/s, p50 {Ms(result, 50):F2} ms, p99 {Ms(result, 99):F2} ms");
    }

    sweep.Add((engine.EventsPerSecond, engine));
    LatencyPlot.Write(options.Plot, sweep.Select(s => (s.Result.EventsPerSecond, Ms(s.Result, 50), Ms(s.Result, 99))).ToArray());
    Console.WriteLine($"plot written to {options.Plot}");
}

if (options.Json is not null)
{
    var summary = new Dictionary<string, object?>
    {
        ["target"] = options.Target,
        ["streams"] = options.Streams,
        ["customers"] = options.Customers,
        ["burst"] = options.Burst,
        ["seed"] = options.Seed,
        ["events"] = engine.Events,
        ["rate_target"] = options.Rate,
        ["events_per_second"] = Math.Round(engine.EventsPerSecond, 1),
        ["latency_ms"] = Latency(engine),
        ["errors"] = engine.Errors,
        ["get_score_latency_ms"] = reads is null ? null : Latency(reads),
        ["ceiling_events_per_second"] = ceiling is null ? null : Math.Round(ceiling.EventsPerSecond, 1),
        ["ratio_to_ceiling"] = ceiling is null ? null : Math.Round(engine.EventsPerSecond / ceiling.EventsPerSecond, 4),
        ["sweep"] = sweep.Select(s => new { rate_target = Math.Round(s.Rate), events_per_second = Math.Round(s.Result.EventsPerSecond, 1), latency_ms = Latency(s.Result) }),
        ["machine"] = new { cores = Environment.ProcessorCount, os = Environment.OSVersion.ToString(), dotnet = Environment.Version.ToString() },
    };
    await File.WriteAllTextAsync(options.Json, JsonSerializer.Serialize(summary, new JsonSerializerOptions { WriteIndented = true }));
    Console.WriteLine($"summary written to {options.Json}");
}

return engine.Errors.Count == 0 ? 0 : 1;

static double Ms(RunResult r, double percentile) => r.LatencyMicros.GetValueAtPercentile(percentile) / 1000.0;

static Dictionary<string, double> Latency(RunResult r) => new()
{
    ["p50"] = Math.Round(Ms(r, 50), 3),
    ["p90"] = Math.Round(Ms(r, 90), 3),
    ["p99"] = Math.Round(Ms(r, 99), 3),
    ["p999"] = Math.Round(Ms(r, 99.9), 3),
    ["max"] = Math.Round(r.LatencyMicros.GetMaxValue() / 1000.0, 3),
};

static void Print(string label, RunResult r)
{
    Console.WriteLine();
    Console.WriteLine($"{label}:");
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"  {r.Events:N0} events in {r.Seconds:F2} s = {r.EventsPerSecond:N0} events/s"));
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"  ack latency ms: p50 {Ms(r, 50):F2}  p90 {Ms(r, 90):F2}  p99 {Ms(r, 99):F2}  p99.9 {Ms(r, 99.9):F2}  max {r.LatencyMicros.GetMaxValue() / 1000.0:F2}"));
    Console.WriteLine(r.Errors.Count == 0 ? "  errors: none" : $"  errors: {string.Join(", ", r.Errors.Select(e => $"{e.Key} {e.Value}"))}");
}
