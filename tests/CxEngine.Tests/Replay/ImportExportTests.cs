using System.Globalization;
using CsvHelper;
using CxEngine.Scoring;
using CxEngine.Silo.Services;
using CxEngine.Silo.Tools;
using CxEngine.Tests.Service;
using Google.Protobuf;
using Spectre.Console;
using V1 = CxEngine.Contracts.V1;

namespace CxEngine.Tests.Replay;

[Collection(ReplayCollection.Name)]
public sealed class ImportExportTests(ReplayFixture fixture) : IDisposable
{
    private readonly TempDirectory _files = new("import");
    private readonly StringWriter _errors = new();

    private EngineHost Engine => fixture.Host;

    private EngineConnection Connection => new(Engine.Url, null);

    private static IAnsiConsole Console(StringWriter output) =>
        AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(output), Interactive = InteractionSupport.No, Ansi = AnsiSupport.No });

    private async Task<TierPolicy> NewTierAsync()
    {
        var policy = ContractMapper.FromTier(ContractMapper.ToTier(TierPolicy.Premium with { Name = $"i{Guid.NewGuid():N}"[..20] }));
        await Engine.Policies.UpsertTierAsync(ContractMapper.ToTier(policy));
        return policy;
    }

    private Task<ImportSummary> ImportAsync(string path) =>
        ImportCommand.ImportAsync(path, Connection, streams: 3, Console(new StringWriter()), _errors, CancellationToken.None);

    private static ScoreState Expected(TierPolicy policy, IEnumerable<V1.InteractionEvent> events)
    {
        var state = ScoreState.Initial(policy);
        foreach (var evt in events.OrderBy(e => e.OccurredAt.ToDateTime()))
        {
            state = ScoringStep.Apply(state, Wire.Scoring(evt), policy, Severity.None).State;
        }

        return state;
    }

    [Fact]
    public async Task ImportOfJsonLines_RunTwice_AppliesEachEventOnce_InEventTimeOrder_AndReportsAMalformedLineByNumber()
    {
        var tier = await NewTierAsync();
        var customers = Enumerable.Range(0, 4).Select(i => Ids.Customer($"imp{i}")).ToArray();
        var events = customers.SelectMany(c => new[] { 90.0, 30, 10, 70, 50 }.Select((x, i) => Wire.Event(c, x, tier.Name, Wire.T0.AddHours(i)))).ToList();
        // The file is newest first: the import must sort each customer's events by event time.
        var lines = events.AsEnumerable().Reverse().Select(e => JsonFormatter.Default.Format(e)).ToList();
        lines.Insert(3, "{\"eventId\": \"broken\", \"customerId\": ");
        var path = Path.Combine(_files.Path, "history.jsonl");
        await File.WriteAllLinesAsync(path, lines);

        var first = await ImportAsync(path);
        var second = await ImportAsync(path);

        Assert.Equal(events.Count, first.Count(V1.EventStatus.Applied));
        Assert.Equal(0, first.Count(V1.EventStatus.Duplicate));
        Assert.Equal(4, Assert.Single(first.Malformed).Line);
        Assert.Contains("line 4:", _errors.ToString(), StringComparison.Ordinal);
        Assert.Equal(0, second.Count(V1.EventStatus.Applied));
        Assert.Equal(events.Count, second.Count(V1.EventStatus.Duplicate));
        foreach (var customer in customers)
        {
            var score = await Engine.Scores.GetScoreAsync(new V1.GetScoreRequest { CustomerId = customer });
            Assert.Equal(5, score.EventsApplied);
            Assert.Equal(Expected(tier, events.Where(e => e.CustomerId == customer)).Score, score.Score);
        }
    }

    [Fact]
    public async Task ImportOfCsv_ReadsTheDocumentedHeader_AndSkipsABadRowByLineNumber()
    {
        var tier = await NewTierAsync();
        var customer = Ids.Customer("csv");
        var path = Path.Combine(_files.Path, "history.csv");
        await File.WriteAllLinesAsync(path,
        [
            "event_id,customer_id,occurred_at,kind,channel,tier,csat,effort,resolved,transfers,wait_seconds,sentiment,promised_at,fulfilled_at,notified_at,conduct_issues",
            $"d1,{customer},2026-03-01T09:00:00Z,DELIVERY,DELIVERY,{tier.Name},,,,,,,2026-03-01T08:00:00Z,2026-03-02T08:00:00Z,,",
            $"s1,{customer},2026-03-03T09:00:00Z,survey,,{tier.Name},2,,,,,,,,,",
            $"s2,{customer},2026-03-04T09:00:00Z,SURVEY,,{tier.Name},x,,,,,,,,,",
            $"c1,{customer},2026-03-05T09:00:00Z,CONTACT,PHONE,{tier.Name},,,false,2,,,,,,NO_GREETING;LYING",
        ]);

        var summary = await ImportAsync(path);

        Assert.Equal(3, summary.Count(V1.EventStatus.Applied));
        Assert.Equal(4, Assert.Single(summary.Malformed).Line);
        Assert.Contains("csat", summary.Malformed[0].Problem, StringComparison.Ordinal);
        var history = await Engine.Scores.GetHistoryAsync(new V1.GetHistoryRequest { CustomerId = customer });
        Assert.Equal(["c1", "s1", "d1"], history.Changes.Select(c => c.EventId));
        Assert.Equal(V1.EventKind.Delivery, history.Changes[2].Kind);
        Assert.True(history.Changes[2].Experience < 100, "a day-late delivery is not a kept promise");
    }

    [Fact]
    public async Task ImportOfCsv_TakesOpenPromises_RegisteredThenKeptOrBroken()
    {
        var tier = await NewTierAsync();
        var customer = Ids.Customer("csvpromise");
        var path = Path.Combine(_files.Path, "promises.csv");
        await File.WriteAllLinesAsync(path,
        [
            "event_id,customer_id,occurred_at,kind,tier,promised_at,made_at,fulfilled_at,promise_id,broken",
            $"r1,{customer},2026-03-01T09:00:00Z,DELIVERY,{tier.Name},2026-03-03T12:00:00Z,2026-03-01T09:00:00Z,,p1,",
            $"r2,{customer},2026-03-01T10:00:00Z,DELIVERY,{tier.Name},2026-03-04T12:00:00Z,2026-03-01T10:00:00Z,,p2,",
            $"k1,{customer},2026-03-03T11:00:00Z,DELIVERY,{tier.Name},2026-03-03T12:00:00Z,,2026-03-03T11:00:00Z,p1,",
            $"b2,{customer},2026-03-03T12:00:00Z,DELIVERY,{tier.Name},2026-03-04T12:00:00Z,,,p2,true",
        ]);

        var summary = await ImportAsync(path);

        Assert.Equal(4, summary.Count(V1.EventStatus.Applied));
        Assert.Empty(summary.Malformed);
        var history = await Engine.Scores.GetHistoryAsync(new V1.GetHistoryRequest { CustomerId = customer });
        var changes = history.Changes.Reverse().ToArray();
        Assert.Equal(["r1", "r2", "k1", "b2"], changes.Select(c => c.EventId));
        Assert.All(changes[..2], c => Assert.Equal(0, c.Delta));
        Assert.Equal(100, changes[2].Experience);
        Assert.Equal(0, changes[3].Experience);
    }

    [Fact]
    public async Task ExportOfScores_RoundTrips_EachExportedScoreEqualsGetScore_InCsvAndJsonLines()
    {
        var tier = await NewTierAsync();
        var customers = Enumerable.Range(0, 5).Select(i => Ids.Customer($"exp{i}")).ToArray();
        foreach (var (customer, i) in customers.Select((c, i) => (c, i)))
        {
            await Engine.Ingest.RecordEventAsync(Wire.Event(customer, 20 * i, tier.Name));
            await Engine.Ingest.RecordEventAsync(Wire.Awful(customer, tier.Name));
        }

        var csvPath = Path.Combine(_files.Path, "scores.csv");
        var jsonPath = Path.Combine(_files.Path, "scores.jsonl");
        Assert.Equal(customers.Length, await ExportCommand.ExportAsync("scores", "csv", null, tier.Name, csvPath, Connection, Console(new StringWriter()), CancellationToken.None));
        Assert.Equal(customers.Length, await ExportCommand.ExportAsync("scores", "jsonl", null, tier.Name, jsonPath, Connection, Console(new StringWriter()), CancellationToken.None));

        var fromCsv = new Dictionary<string, (double Score, double Expectation, long Events, string Action)>();
        using (var csv = CsvReader.FromFile(csvPath, new CsvReaderOptions { Separator = ',' }))
        {
            while (csv.Read())
            {
                fromCsv[csv.GetString("customer_id")] = (
                    double.Parse(csv.GetString("score"), CultureInfo.InvariantCulture),
                    double.Parse(csv.GetString("expectation"), CultureInfo.InvariantCulture),
                    long.Parse(csv.GetString("events_applied"), CultureInfo.InvariantCulture),
                    csv.GetString("open_action_id"));
            }
        }

        var fromJson = (await File.ReadAllLinesAsync(jsonPath)).Select(V1.CustomerScore.Parser.ParseJson).ToDictionary(s => s.CustomerId);
        Assert.Equal(customers.Order(), fromCsv.Keys.Order());
        foreach (var customer in customers)
        {
            var live = await Engine.Scores.GetScoreAsync(new V1.GetScoreRequest { CustomerId = customer });
            Assert.Equal((live.Score, live.Expectation, live.EventsApplied, live.OpenAction?.ActionId ?? ""), fromCsv[customer]);
            Assert.Equal(live, fromJson[customer]);
        }

        var historyPath = Path.Combine(_files.Path, "history.csv");
        Assert.Equal(2, await ExportCommand.ExportAsync("history", "csv", customers[2], null, historyPath, Connection, Console(new StringWriter()), CancellationToken.None));
        var actionsPath = Path.Combine(_files.Path, "actions.jsonl");
        Assert.Equal(1, await ExportCommand.ExportAsync("actions", "jsonl", customers[2], null, actionsPath, Connection, Console(new StringWriter()), CancellationToken.None));
    }

    [Fact]
    public async Task ExportOfEvents_GivesBackTheEventsAsTheyArrived_WhichImportAndCalibrateRead()
    {
        // A history with every kind of signal: surveys, open promises registered and kept, contacts with effort,
        // resolution and transfers, waits, sentiment and conduct issues, all in one tier of their own.
        var tier = await NewTierAsync();
        var prefix = $"x{Guid.NewGuid():N}"[..10];
        var (events, _) = Calibration.SyntheticHistory.Generate(25, seed: 4, TierPolicy.Standard, openPromises: true, contact: random => new V1.Signals
        {
            Effort = random.Next(1, 8),
            Resolved = true,
            Transfers = random.Next(0, 3),
            WaitSeconds = random.Next(10, 600),
            Sentiment = Math.Round((random.NextDouble() * 2) - 1, 3),
            ConductIssues = { V1.ConductIssue.Impatience, V1.ConductIssue.NotThanking },
        });
        foreach (var evt in events)
        {
            evt.CustomerId = $"{prefix}-{evt.CustomerId}";
            evt.Tier = tier.Name;
        }

        var original = Path.Combine(_files.Path, "original.jsonl");
        await File.WriteAllLinesAsync(original, events.Select(e => JsonFormatter.Default.Format(e)));
        var imported = await ImportAsync(original);
        Assert.Equal(events.Count, imported.Count(V1.EventStatus.Applied));

        var exported = Path.Combine(_files.Path, "exported.jsonl");
        var written = await ExportCommand.ExportAsync("events", "jsonl", null, tier.Name, exported, Connection, Console(new StringWriter()), CancellationToken.None);

        // Every event exactly as it arrived, none of the engine's own promise steps, each customer's oldest first.
        var back = (await File.ReadAllLinesAsync(exported)).Select(V1.InteractionEvent.Parser.ParseJson).ToList();
        Assert.Equal(events.Count, written);
        Assert.Equal(events.OrderBy(e => e.EventId, StringComparer.Ordinal), back.OrderBy(e => e.EventId, StringComparer.Ordinal));
        foreach (var customer in back.GroupBy(e => e.CustomerId))
        {
            Assert.Equal(customer.OrderBy(e => e.OccurredAt.ToDateTime()).Select(e => e.EventId), customer.Select(e => e.EventId));
        }

        // Imported again: all duplicates. Calibrated from: the engine's own tier fitted on its own log.
        Assert.Equal(events.Count, (await ImportAsync(exported)).Count(V1.EventStatus.Duplicate));
        var tierFile = Path.Combine(_files.Path, "tier.json");
        await File.WriteAllTextAsync(tierFile, JsonFormatter.Default.Format(ContractMapper.ToTier(tier)));
        var (output, error) = (new StringWriter(), new StringWriter());
        var code = await CalibrateCommand.RunAsync(
            ["--events", exported, "--from", tierFile, "--budget", "20", "--out", Path.Combine(_files.Path, "fitted.json")], output, error, TimeProvider.System);
        Assert.True(code == 0, error.ToString() + output);
        Assert.Contains($"25 customers, {events.Count} events", output.ToString());
        Assert.DoesNotContain("left out", output.ToString());
    }

    public void Dispose()
    {
        _files.Dispose();
        _errors.Dispose();
    }
}
