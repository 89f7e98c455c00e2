using CxEngine.Contracts.V1;
using Grpc.Core;
using Grpc.Net.Client;

// Usage: cxengine-crm CUSTOMER_ID [--target URL] [--limit N]
if (args.Length == 0 || args[0].StartsWith("--", StringComparison.Ordinal))
{
    Console.Error.WriteLine("usage: cxengine-crm CUSTOMER_ID [--target http://localhost:50051] [--limit 10]");
    return 2;
}

var customerId = args[0];
var target = Option("--target") ?? "http://localhost:50051";
var limit = int.Parse(Option("--limit") ?? "10", System.Globalization.CultureInfo.InvariantCulture);

using var channel = GrpcChannel.ForAddress(target);
var scores = new Scores.ScoresClient(channel);
ScoreHistory history;
try
{
    history = await scores.GetHistoryAsync(new GetHistoryRequest { CustomerId = customerId, Limit = limit });
}
catch (RpcException ex) when (ex.StatusCode is StatusCode.NotFound or StatusCode.InvalidArgument)
{
    Console.Error.WriteLine($"{ex.StatusCode}: {ex.Status.Detail}");
    return 1;
}

var s = history.Score;
Console.WriteLine($"Customer {s.CustomerId}  ({s.Tier})");
Console.WriteLine($"  satisfaction  {s.Score,6:F1}   baseline {s.Baseline:F0}{(s.BelowBaseline ? "   BELOW BASELINE" : "")}");
Console.WriteLine($"  expectation   {s.Expectation,6:F1}");
Console.WriteLine($"  events        {s.EventsApplied,6}   last at {s.LastEventAt?.ToDateTime():u}");

if (s.OpenAction is { } a)
{
    Console.WriteLine();
    Console.WriteLine($"Open recovery action {a.ActionId}: {a.Severity} ({a.Status}), due by {a.DueBy.ToDateTime():u}");
    Console.WriteLine($"  suggested compensation {a.SuggestedCompensation:F0}{(a.RequiresApproval ? " — needs approval above the front-line limit" : "")}");
    foreach (var step in a.Steps)
    {
        Console.WriteLine($"  - {step}");
    }

    Console.WriteLine("  because of:");
    foreach (var r in a.Reasons)
    {
        Console.WriteLine($"    {r.EventId} {r.Kind} via {r.Channel}: experience {r.Experience:F0} vs expected {r.ExpectationBefore:F0}, score {r.Delta:+0.0;-0.0}");
    }
}

Console.WriteLine();
Console.WriteLine("Why the score moved (newest first):");
Console.WriteLine($"  {"occurred",-20} {"event",-24} {"kind",-10} {"x",5} {"E",5} {"d",6} {"decay",6} {"ΔS",6} {"S",6}");
foreach (var c in history.Changes)
{
    Console.WriteLine(c.Unscored
        // Only promises registered: nothing was experienced yet, so no x and no move, not a terrible experience.
        ? $"  {c.OccurredAt.ToDateTime():yyyy-MM-dd HH:mm:ss} {Truncate(c.EventId, 24),-24} {c.Kind,-10} {"promise registered",-32} {c.ScoreAfter,6:F1}"
        : $"  {c.OccurredAt.ToDateTime():yyyy-MM-dd HH:mm:ss} {Truncate(c.EventId, 24),-24} {c.Kind,-10} {c.Experience,5:F0} {c.ExpectationBefore,5:F1} {c.Disconfirmation,6:F1} {c.Decay,6:F1} {c.Delta,6:F1} {c.ScoreAfter,6:F1}");
}

return 0;

string? Option(string name)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}

static string Truncate(string value, int length) => value.Length <= length ? value : value[..(length - 1)] + "…";
