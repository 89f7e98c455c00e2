using System.Globalization;
using System.Text;
using System.Text.Json;
using CsvHelper;
using Google.Protobuf;
using Grpc.Core;
using Spectre.Console;
using V1 = CxEngine.Contracts.V1;

namespace CxEngine.Silo.Tools;

/// <summary>
/// <c>cxengine export scores|actions|events|history --format csv|jsonl [--customer ID] [--tier T] --out FILE</c>: reads
/// through the engine's gRPC API (ExportScores; ListActions; GetHistory a page at a time for each customer
/// ExportScores lists, or for one) and writes CSV (CsvHelper) or JSON lines (proto3 JSON). <c>events</c> are the
/// customers' events as they arrived, oldest first, as JSON lines of cx.v1 <c>InteractionEvent</c>: exactly what
/// <c>import</c> and <c>calibrate --events</c> read (the engine's own promise steps are left out: a replay makes them
/// again); <c>history</c> is the explained changes (x, E, d, ΔS, S) of every logged entry.
/// </summary>
public static class ExportCommand
{
    private static readonly string[] ScoreColumns =
        ["customer_id", "tier", "score", "expectation", "baseline", "below_baseline", "events_applied", "last_event_at", "open_action_id", "open_action_severity", "open_action_status"];

    private static readonly string[] ActionColumns =
        ["action_id", "sequence", "customer_id", "tier", "severity", "status", "change", "revision", "score", "expectation", "baseline",
         "trigger_event_id", "raised_at", "updated_at", "due_by", "acknowledged_by", "resolved_by", "resolution_outcome", "note"];

    private static readonly string[] HistoryColumns =
        ["customer_id", "event_id", "kind", "channel", "occurred_at", "applied_at", "experience", "expectation_before", "disconfirmation",
         "event_satisfaction", "score_before", "decay", "delta", "score_after", "expectation_after"];

    private static readonly JsonFormatter Json = new(JsonFormatter.Settings.Default.WithFormatDefaultValues(true));

    public static async Task<int> RunAsync(string[] args)
    {
        var parsed = ToolArguments.Parse(args);
        var what = parsed.Positionals is [var verb] ? verb : "";
        var format = parsed.Get("format", what == "events" ? "jsonl" : "csv");
        if (what is not ("scores" or "actions" or "events" or "history") || format is not ("csv" or "jsonl") || parsed.Get("out") is null)
        {
            await Console.Error.WriteLineAsync("usage: cxengine export scores|actions|events|history --format csv|jsonl [--customer ID] [--tier T] --out FILE [--url URL] [--api-key KEY] [--tenant T]");
            return 2;
        }

        if (what == "events" && format != "jsonl")
        {
            await Console.Error.WriteLineAsync("export events writes JSON lines (--format jsonl), the form import and calibrate --events read; the explained changes as CSV: export history --format csv");
            return 2;
        }

        try
        {
            await ExportAsync(what, format, parsed.Get("customer"), parsed.Get("tier"), parsed.Get("out")!,
                EngineConnection.From(parsed), ToolConsole.Create(), CancellationToken.None);
            return 0;
        }
        catch (Exception ex) when (ex is ArgumentException or IOException or RpcException)
        {
            await Console.Error.WriteLineAsync($"export failed: {ex.Message}");
            return 3;
        }
    }

    /// <summary>Writes the export; returns how many records it wrote.</summary>
    public static async Task<long> ExportAsync(
        string what, string format, string? customer, string? tier, string path, EngineConnection connection, IAnsiConsole console, CancellationToken cancellationToken)
    {
        using var channel = connection.OpenChannel();
        var scores = new V1.Scores.ScoresClient(channel);
        var recovery = new V1.Recovery.RecoveryClient(channel);
        await using var file = File.Create(path);
        await using var sink = new Sink(file, format, what switch { "scores" => ScoreColumns, "actions" => ActionColumns, _ => HistoryColumns });
        long written = 0;
        await console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new SpinnerColumn(), new ElapsedTimeColumn())
            .StartAsync(async progress =>
            {
                var task = progress.AddTask($"exporting {what}").IsIndeterminate();
                void Count()
                {
                    written++;
                    task.Description = $"exporting {what}: {written:N0}";
                }

                switch (what)
                {
                    case "scores":
                        await foreach (var score in ScoresAsync(scores, connection, customer, tier, cancellationToken))
                        {
                            await sink.WriteAsync(score, () => ScoreRow(score), cancellationToken);
                            Count();
                        }

                        break;
                    case "actions":
                        await foreach (var action in ActionsAsync(recovery, connection, customer, tier, cancellationToken))
                        {
                            await sink.WriteAsync(action, () => ActionRow(action), cancellationToken);
                            Count();
                        }

                        break;
                    case "events":
                        await foreach (var score in ScoresAsync(scores, connection, customer, tier, cancellationToken))
                        {
                            await foreach (var change in HistoryAsync(scores, connection, score.CustomerId, cancellationToken, events: true))
                            {
                                if (!Scoring.PromiseSignal.IsEngineEventId(change.EventId))
                                {
                                    await sink.WriteAsync(change.Event, () => [], cancellationToken);
                                    Count();
                                }
                            }
                        }

                        break;
                    default:
                        await foreach (var score in ScoresAsync(scores, connection, customer, tier, cancellationToken))
                        {
                            await foreach (var change in HistoryAsync(scores, connection, score.CustomerId, cancellationToken))
                            {
                                await sink.WriteAsync(change, () => EventRow(score.CustomerId, change), cancellationToken, score.CustomerId);
                                Count();
                            }
                        }

                        break;
                }

                task.StopTask();
            });
        console.MarkupLineInterpolated($"{written} {what} written to {path}");
        return written;
    }

    private static async IAsyncEnumerable<V1.CustomerScore> ScoresAsync(
        V1.Scores.ScoresClient scores, EngineConnection connection, string? customer, string? tier,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (customer is not null)
        {
            yield return await scores.GetScoreAsync(new V1.GetScoreRequest { CustomerId = customer }, connection.Headers(), cancellationToken: cancellationToken);
            yield break;
        }

        using var call = scores.ExportScores(new V1.ExportScoresRequest { Tier = tier ?? "" }, connection.Headers(), cancellationToken: cancellationToken);
        await foreach (var score in call.ResponseStream.ReadAllAsync(cancellationToken))
        {
            yield return score;
        }
    }

    private static async IAsyncEnumerable<V1.RecoveryAction> ActionsAsync(
        V1.Recovery.RecoveryClient recovery, EngineConnection connection, string? customer, string? tier,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var request = new V1.ListActionsRequest { CustomerId = customer ?? "", Tier = tier ?? "", PageSize = 1000 };
        do
        {
            var page = await recovery.ListActionsAsync(request, connection.Headers(), cancellationToken: cancellationToken);
            foreach (var action in page.Actions)
            {
                yield return action;
            }

            request.PageToken = page.NextPageToken;
        }
        while (request.PageToken.Length > 0);
    }

    /// <summary>A customer's log, oldest first (pages come newest first; one customer's log is held at a time).</summary>
    private static async IAsyncEnumerable<V1.ScoreChange> HistoryAsync(
        V1.Scores.ScoresClient scores, EngineConnection connection, string customer,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken, bool events = false)
    {
        var changes = new List<V1.ScoreChange>();
        var request = new V1.GetHistoryRequest { CustomerId = customer, PageSize = 1000, IncludeEvents = events };
        do
        {
            var page = await scores.GetHistoryAsync(request, connection.Headers(), cancellationToken: cancellationToken);
            changes.AddRange(page.Changes);
            request.PageToken = page.NextPageToken;
        }
        while (request.PageToken.Length > 0);

        for (var i = changes.Count - 1; i >= 0; i--)
        {
            yield return changes[i];
        }
    }

    private static string Time(Google.Protobuf.WellKnownTypes.Timestamp? t) =>
        t is null ? "" : t.ToDateTime().ToString("O", CultureInfo.InvariantCulture);

    private static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    private static string[] ScoreRow(V1.CustomerScore s) =>
    [
        s.CustomerId, s.Tier, Number(s.Score), Number(s.Expectation), Number(s.Baseline), s.BelowBaseline ? "true" : "false",
        s.EventsApplied.ToString(CultureInfo.InvariantCulture), Time(s.LastEventAt),
        s.OpenAction?.ActionId ?? "", s.OpenAction?.Severity.ToString() ?? "", s.OpenAction?.Status.ToString() ?? "",
    ];

    private static string[] ActionRow(V1.RecoveryAction a) =>
    [
        a.ActionId, a.Sequence.ToString(CultureInfo.InvariantCulture), a.CustomerId, a.Tier, a.Severity.ToString(), a.Status.ToString(), a.Change.ToString(),
        a.Revision.ToString(CultureInfo.InvariantCulture), Number(a.Score), Number(a.Expectation), Number(a.Baseline), a.TriggerEventId,
        Time(a.RaisedAt), Time(a.UpdatedAt), Time(a.DueBy), a.AcknowledgedBy, a.ResolvedBy, a.ResolutionOutcome, a.Note,
    ];

    private static string[] EventRow(string customer, V1.ScoreChange c) =>
    [
        customer, c.EventId, c.Kind.ToString(), c.Channel.ToString(), Time(c.OccurredAt), Time(c.AppliedAt), Number(c.Experience),
        Number(c.ExpectationBefore), Number(c.Disconfirmation), Number(c.EventSatisfaction), Number(c.ScoreBefore), Number(c.Decay),
        Number(c.Delta), Number(c.ScoreAfter), Number(c.ExpectationAfter),
    ];

    /// <summary>CSV through CsvHelper (header first), or one proto3 JSON object a line.</summary>
    private sealed class Sink : IAsyncDisposable
    {
        private readonly CsvWriter? _csv;
        private readonly StreamWriter? _json;

        public Sink(Stream stream, string format, string[] columns)
        {
            if (format == "csv")
            {
                _csv = CsvWriter.Create(stream, new CsvWriterOptions { NewLine = "\n" }, leaveOpen: true);
                foreach (var column in columns)
                {
                    _csv.WriteField(column);
                }

                _csv.EndRecord();
            }
            else
            {
                _json = new StreamWriter(stream, new UTF8Encoding(false), leaveOpen: true) { NewLine = "\n" };
            }
        }

        /// <summary>Writes one record; an event's JSON line names its customer (a ScoreChange does not carry it).</summary>
        public async Task WriteAsync(IMessage message, Func<string[]> row, CancellationToken cancellationToken, string? customer = null)
        {
            if (_csv is not null)
            {
                foreach (var field in row())
                {
                    _csv.WriteField(field);
                }

                await _csv.EndRecordAsync(cancellationToken);
                return;
            }

            var json = Json.Format(message);
            await _json!.WriteLineAsync(customer is null ? json : $"{{\"customerId\":{JsonSerializer.Serialize(customer)},\"change\":{json}}}");
        }

        public async ValueTask DisposeAsync()
        {
            if (_csv is not null)
            {
                await _csv.FlushAsync();
                await _csv.DisposeAsync();
            }

            if (_json is not null)
            {
                await _json.DisposeAsync();
            }
        }
    }
}
