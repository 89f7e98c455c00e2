using System.Globalization;
using CxEngine.Contracts.V1;
using Grpc.Core;
using Grpc.Net.Client;

// Usage: cxengine-desk [--target URL] [--position FILE] [--tier NAME] [--min-severity low|medium|high] [--by NAME]
// Commands while it runs: ack ID [note] | resolve ID outcome... | list | help | quit
var target = Option("--target") ?? "http://localhost:50051";
var positionFile = Option("--position") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cxengine-desk.position");
var by = Option("--by") ?? Environment.UserName;
var request = new WatchActionsRequest();
if (Option("--tier") is { } tier)
{
    request.Tiers.Add(tier);
}

if (Option("--min-severity") is { } severity)
{
    request.MinSeverity = Enum.Parse<Severity>(severity, ignoreCase: true);
}

using var channel = GrpcChannel.ForAddress(target);
var recovery = new Recovery.RecoveryClient(channel);
using var quit = new CancellationTokenSource();
var position = new Position(positionFile);
Console.WriteLine($"Recovery desk on {target} as '{by}', resuming after sequence {position.Last} ({positionFile}). Type 'help'.");

var watching = WatchAsync();
while (!quit.IsCancellationRequested && Console.ReadLine() is { } line)
{
    var parts = line.Split(' ', 3, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    try
    {
        switch (parts)
        {
            case ["ack", var id, .. var rest]:
                Print(await recovery.AcknowledgeActionAsync(new ActionRef { ActionId = id, By = by, Note = string.Join(' ', rest) }));
                break;
            case ["resolve", var id, var outcome]:
                Print(await recovery.ResolveActionAsync(new ResolveActionRequest { ActionId = id, By = by, Outcome = outcome }));
                break;
            case ["list", ..]:
                var open = await recovery.ListActionsAsync(new ListActionsRequest
                {
                    Statuses = { ActionStatus.Open, ActionStatus.Escalated, ActionStatus.Acknowledged },
                    PageSize = 50,
                });
                foreach (var action in open.Actions)
                {
                    Print(action);
                }

                Console.WriteLine($"{open.Actions.Count} open actions shown.");
                break;
            case ["quit", ..] or ["exit", ..]:
                await quit.CancelAsync();
                break;
            case []:
                break;
            default:
                Console.WriteLine("commands: ack ID [note] | resolve ID outcome | list | quit");
                break;
        }
    }
    catch (RpcException ex)
    {
        Console.WriteLine($"  {ex.StatusCode}: {ex.Status.Detail}");
    }
}

await quit.CancelAsync();
await watching;
return 0;

// Watches from the remembered position; on a broken connection waits and resumes from where it stopped.
async Task WatchAsync()
{
    var delay = TimeSpan.FromSeconds(1);
    while (!quit.IsCancellationRequested)
    {
        try
        {
            request.AfterSequence = position.Last;
            using var call = recovery.WatchActions(request, cancellationToken: quit.Token);
            await foreach (var action in call.ResponseStream.ReadAllAsync(quit.Token))
            {
                Print(action);
                position.Save(action.Sequence);
                delay = TimeSpan.FromSeconds(1);
            }
        }
        catch (OperationCanceledException)
        {
            return;
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.Cancelled && quit.IsCancellationRequested)
        {
            return;
        }
        catch (RpcException ex)
        {
            Console.WriteLine($"  feed interrupted ({ex.StatusCode}); resuming after {position.Last} in {delay.TotalSeconds:F0} s");
            try
            {
                await Task.Delay(delay, quit.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            delay = TimeSpan.FromSeconds(Math.Min(30, delay.TotalSeconds * 2));
        }
    }
}

static void Print(RecoveryAction a)
{
    var what = a.Change switch
    {
        ActionChange.Raised => "RAISED",
        ActionChange.Escalated => "ESCALATED",
        ActionChange.Acknowledged => $"ACK by {a.AcknowledgedBy}",
        ActionChange.Resolved => $"RESOLVED by {a.ResolvedBy}: {a.ResolutionOutcome}",
        ActionChange.Recovered => "RECOVERED",
        ActionChange.Overdue => "OVERDUE",
        _ => a.Status.ToString(),
    };
    Console.WriteLine(
        $"#{a.Sequence,-6} {what,-12} {a.ActionId}  {a.Severity} {a.Tier}  score {a.Score:F1}/{a.Baseline:F0}  due {a.DueBy?.ToDateTime():u}" +
        (a.Change is ActionChange.Raised or ActionChange.Escalated or ActionChange.Overdue
            ? $"\n         {string.Join(" / ", a.Steps)}\n         suggest {a.SuggestedCompensation:F0}{(a.RequiresApproval ? " (needs approval)" : "")}"
            : ""));
}

string? Option(string name)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}

/// <summary>The last sequence seen, kept in a file so the desk resumes where it stopped.</summary>
internal sealed class Position(string file)
{
    public long Last { get; private set; } =
        File.Exists(file) && long.TryParse(File.ReadAllText(file).Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var saved) ? saved : 0;

    public void Save(long sequence)
    {
        Last = sequence;
        var temp = file + ".tmp";
        File.WriteAllText(temp, sequence.ToString(CultureInfo.InvariantCulture));
        File.Move(temp, file, overwrite: true);
    }
}
