using CxEngine.Silo.Tools;
using CxEngine.Tests.Security;
using CxEngine.Tests.Service;
using Google.Protobuf;
using Spectre.Console;
using V1 = CxEngine.Contracts.V1;

namespace CxEngine.Tests.Replay;

public sealed class ImportLimitsTests
{
    [Fact]
    public async Task Import_WithAnApiKey_OverTheCallersRate_SendsWhatItsBrokenStreamsLeftAgain_AndAppliesEveryEventOnce()
    {
        using var data = new TempDirectory("import-limits");
        await using var engine = await EngineHost.StartAsync(data.Path, Credentials.HostArgs(
            "--CxEngine:Limits:EventsPerSecondPerCaller=300",
            "--CxEngine:Limits:EventBurstPerCaller=100"));
        var customers = Enumerable.Range(0, 30).Select(i => Ids.Customer($"lim{i}")).ToArray();
        var events = customers.SelectMany(c => Enumerable.Range(0, 10).Select(i => Wire.Event(c, 10 * i, at: Wire.T0.AddHours(i)))).ToList();
        var path = Path.Combine(data.Path, "burst.jsonl");
        await File.WriteAllLinesAsync(path, events.Select(e => JsonFormatter.Default.Format(e)));
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(new StringWriter()), Interactive = InteractionSupport.No });

        var summary = await ImportCommand.ImportAsync(path, new EngineConnection(engine.Url, Credentials.KeyFor("all")), 3, console, new StringWriter(), CancellationToken.None);

        Assert.Equal(events.Count, summary.Count(V1.EventStatus.Applied));
        Assert.Equal(0, summary.Count(V1.EventStatus.Unavailable));
        var scores = await engine.Scores.BatchGetScoresAsync(new V1.BatchGetScoresRequest { CustomerIds = { customers } }, Credentials.ApiKey(Credentials.KeyFor("all")));
        Assert.All(scores.Scores, s => Assert.Equal(10, s.EventsApplied));
        Assert.Equal(customers.Length, scores.Scores.Count);
    }
}
