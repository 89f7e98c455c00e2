using System.Collections.Concurrent;
using System.Diagnostics;
using Grpc.Core;
using Spectre.Console;
using V1 = CxEngine.Contracts.V1;

namespace CxEngine.Silo.Tools;

/// <summary>What an import did: events by their final status, and the lines that could not be read.</summary>
public sealed record ImportSummary(long Read, IReadOnlyList<MalformedLine> Malformed, IReadOnlyDictionary<V1.EventStatus, long> ByStatus, TimeSpan Elapsed)
{
    public long Count(V1.EventStatus status) => ByStatus.GetValueOrDefault(status);

    /// <summary>
    /// What a script can act on: 4 when events stayed UNAVAILABLE (run again: nothing counts twice); 1 when nothing of
    /// the file was taken although it held lines (every line malformed or rejected), or, with <paramref name="strict"/>,
    /// when any line was; 0 otherwise: some lines left out is a normal import of real history, reported line by line.
    /// </summary>
    public int ExitCode(bool strict)
    {
        var leftOut = Malformed.Count + Count(V1.EventStatus.Rejected);
        var taken = Count(V1.EventStatus.Applied) + Count(V1.EventStatus.Duplicate);
        return Count(V1.EventStatus.Unavailable) > 0 ? 4
            : leftOut > 0 && (strict || taken == 0) ? 1
            : 0;
    }
}

/// <summary>
/// <c>cxengine import FILE [--url URL] [--api-key KEY] [--streams N]</c>: sends historical events to a running engine
/// through the normal ingest path (<c>StreamEvents</c>), each customer's events in event-time order.
/// The whole file is read first and sorted per customer (about 0.5 KB of memory per event: a million events take
/// about half a gigabyte); customers are spread over a few streams, each customer on one. Events the engine
/// answers UNAVAILABLE are sent again with the same ids (with the rest of that customer's events behind them, so
/// order holds; those already applied come back DUPLICATE). Re-running a file imports nothing twice: every
/// event id already applied is DUPLICATE.
/// </summary>
public static class ImportCommand
{
    private const int MaxRounds = 5;
    private const int MaxReportedLines = 50;

    public static async Task<int> RunAsync(string[] args)
    {
        var parsed = ToolArguments.Parse(args, "strict");
        if (parsed.Positionals.Count != 1)
        {
            await Console.Error.WriteLineAsync("usage: cxengine import FILE(.jsonl|.csv) [--url http://localhost:50051] [--api-key KEY] [--tenant T] [--streams 4] [--strict]");
            return 2;
        }

        var path = parsed.Positionals[0];
        if (!File.Exists(path))
        {
            await Console.Error.WriteLineAsync($"import failed: {path}: no such file (give a .jsonl or .csv file of events; `cx export events` writes one)");
            return 1;
        }

        try
        {
            var summary = await ImportAsync(path, EngineConnection.From(parsed), parsed.GetInt("streams", 4, 1, 64), ToolConsole.Create(), Console.Error, CancellationToken.None);
            return summary.ExitCode(parsed.Has("strict"));
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or IOException or RpcException)
        {
            await Console.Error.WriteLineAsync($"import failed: {ex.Message}");
            return 3;
        }
    }

    public static async Task<ImportSummary> ImportAsync(
        string path, EngineConnection connection, int streams, IAnsiConsole console, TextWriter errors, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var byCustomer = new Dictionary<string, List<FileEvent>>(StringComparer.Ordinal);
        var malformed = new List<MalformedLine>();
        long read = 0;
        EventFile.Read(path, e =>
        {
            read++;
            if (!byCustomer.TryGetValue(e.Event.CustomerId, out var list))
            {
                byCustomer[e.Event.CustomerId] = list = [];
            }

            list.Add(e);
        }, m =>
        {
            malformed.Add(m);
            if (malformed.Count <= MaxReportedLines)
            {
                errors.WriteLine($"{path}: {m} (skipped)");
            }
        }, cancellationToken);

        // Decay never runs backwards: a customer's events go in event-time order (file order among equal times).
        var customers = byCustomer.Values.Select(events =>
            events.OrderBy(e => e.Event.OccurredAt?.ToDateTime() ?? DateTime.MinValue).ThenBy(e => e.Line).ToArray()).ToList();

        var final = new ConcurrentDictionary<FileEvent, V1.EventStatus>();
        using var channel = connection.OpenChannel();
        var client = new V1.Ingest.IngestClient(channel);
        long rejectedReported = 0;

        await console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RateColumn("ev/s"), new RemainingTimeColumn())
            .StartAsync(async progress =>
            {
                var task = progress.AddTask($"importing {Path.GetFileName(path)}", maxValue: Math.Max(1, customers.Sum(c => c.Length)));
                var pending = customers;
                for (var round = 1; round <= MaxRounds && pending.Count > 0; round++)
                {
                    var retry = new ConcurrentBag<FileEvent[]>();
                    await Task.WhenAll(Enumerable.Range(0, streams).Select(s => SendAsync(
                        client, connection, pending.Where((_, i) => i % streams == s).ToArray(), round == 1 ? task : null,
                        (events, statuses) =>
                        {
                            var firstUnavailable = -1;
                            for (var i = 0; i < events.Length; i++)
                            {
                                // Applied in an earlier round and found again now: it was applied by this import.
                                final.AddOrUpdate(events[i], statuses[i], (_, before) =>
                                    before == V1.EventStatus.Applied && statuses[i] == V1.EventStatus.Duplicate ? before : statuses[i]);
                                if (firstUnavailable < 0 && statuses[i] == V1.EventStatus.Unavailable)
                                {
                                    firstUnavailable = i;
                                }
                            }

                            if (firstUnavailable >= 0)
                            {
                                // Everything before it is done; from it on, in order (those applied after it come back DUPLICATE).
                                retry.Add(events[firstUnavailable..]);
                            }
                        },
                        (e, error) =>
                        {
                            if (Interlocked.Increment(ref rejectedReported) <= MaxReportedLines)
                            {
                                errors.WriteLine($"{path}: line {e.Line}: rejected: {error}");
                            }
                        },
                        cancellationToken)));
                    pending = [.. retry];
                    if (pending.Count > 0)
                    {
                        await Task.Delay(TimeSpan.FromMilliseconds(200 * round), cancellationToken);
                    }
                }

                task.Value = task.MaxValue;
            });

        var byStatus = final.Values.GroupBy(s => s).ToDictionary(g => g.Key, g => (long)g.LongCount());
        var summary = new ImportSummary(read, malformed, byStatus, clock.Elapsed);
        console.MarkupLineInterpolated(
            $"{path}: {summary.Read + malformed.Count} lines, {summary.Read} events read, {malformed.Count} malformed; APPLIED {summary.Count(V1.EventStatus.Applied)}, DUPLICATE {summary.Count(V1.EventStatus.Duplicate)}, REJECTED {summary.Count(V1.EventStatus.Rejected)}, UNAVAILABLE {summary.Count(V1.EventStatus.Unavailable)}; {summary.Elapsed.TotalSeconds:F1} s, {summary.Read / Math.Max(0.001, summary.Elapsed.TotalSeconds):F0} ev/s");
        return summary;
    }

    /// <summary>One stream: each customer's events in order; results matched back by (customer, event id, occurrence).</summary>
    private static async Task SendAsync(
        V1.Ingest.IngestClient client, EngineConnection connection, FileEvent[][] customers, ProgressTask? task,
        Action<FileEvent[], V1.EventStatus[]> onCustomerDone, Action<FileEvent, string> onRejected, CancellationToken cancellationToken)
    {
        if (customers.Length == 0)
        {
            return;
        }

        using var call = client.StreamEvents(connection.Headers(), cancellationToken: cancellationToken);
        // Results of a customer come back in order, except that a rejected event is answered at once: match each
        // result by (customer, event id), and a customer is done when all its events are answered.
        var waiting = new Dictionary<(string, string), Queue<(Sent Customer, int Index)>>();
        var all = new List<Sent>(customers.Length);
        foreach (var events in customers)
        {
            var sent = new Sent(events);
            all.Add(sent);
            for (var i = 0; i < events.Length; i++)
            {
                var key = (events[i].Event.CustomerId, events[i].Event.EventId);
                (waiting.TryGetValue(key, out var q) ? q : waiting[key] = new()).Enqueue((sent, i));
            }
        }

        var reading = Task.Run(async () =>
        {
            await foreach (var result in call.ResponseStream.ReadAllAsync(cancellationToken))
            {
                var (sent, index) = waiting[(result.CustomerId, result.EventId)].Dequeue();
                sent.Statuses[index] = result.Status;
                if (result.Status == V1.EventStatus.Rejected)
                {
                    onRejected(sent.Events[index], result.Error);
                }

                task?.Increment(1);
                if (--sent.Remaining == 0)
                {
                    onCustomerDone(sent.Events, sent.Statuses);
                }
            }
        }, cancellationToken);

        try
        {
            foreach (var events in customers)
            {
                foreach (var e in events)
                {
                    await call.RequestStream.WriteAsync(e.Event, cancellationToken);
                }
            }

            await call.RequestStream.CompleteAsync();
            await reading;
        }
        catch (Exception ex) when (ex is RpcException or IOException or InvalidOperationException && !cancellationToken.IsCancellationRequested)
        {
            // The stream broke: what it did not answer may or may not be applied; it is sent again (same ids) next round.
            await reading.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            foreach (var sent in all.Where(c => c.Remaining > 0))
            {
                for (var i = 0; i < sent.Statuses.Length; i++)
                {
                    sent.Statuses[i] = sent.Statuses[i] == V1.EventStatus.Unspecified ? V1.EventStatus.Unavailable : sent.Statuses[i];
                }

                onCustomerDone(sent.Events, sent.Statuses);
            }
        }
    }

    private sealed class Sent(FileEvent[] events)
    {
        public FileEvent[] Events { get; } = events;

        public V1.EventStatus[] Statuses { get; } = new V1.EventStatus[events.Length];

        public int Remaining { get; set; } = events.Length;
    }

    /// <summary>Items per second over the task's run, for the progress bar.</summary>
    private sealed class RateColumn(string unit) : ProgressColumn
    {
        public override Spectre.Console.Rendering.IRenderable Render(Spectre.Console.Rendering.RenderOptions options, ProgressTask task, TimeSpan deltaTime) =>
            new Text(task.Speed is { } speed ? $"{speed:F0} {unit}" : $"- {unit}");
    }
}
