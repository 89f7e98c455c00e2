using Google.Protobuf;
using Grpc.Core;
using Spectre.Console;
using V1 = CxEngine.Contracts.V1;

namespace CxEngine.Silo.Tools;

/// <summary>
/// <c>cxengine rescore [--tier T]... [--customer ID]... [--policy FILE.json]... [--apply]</c>: calls
/// <c>Policies.Rescore</c> on a running engine with candidate tier policies in proto3 JSON (a <c>TierPolicy</c> a
/// file, as <c>ListTiers</c> prints them), shows its progress and prints the report. A dry run unless --apply.
/// </summary>
public static class RescoreCommand
{
    public static async Task<int> RunAsync(string[] args)
    {
        var request = new V1.RescoreRequest();
        string? url = null, apiKey = null, tenant = null;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--apply":
                    request.Apply = true;
                    break;
                case "--tier" when i + 1 < args.Length:
                    request.Tiers.Add(args[++i]);
                    break;
                case "--customer" when i + 1 < args.Length:
                    request.CustomerIds.Add(args[++i]);
                    break;
                case "--policy" when i + 1 < args.Length:
                    try
                    {
                        request.Policies.Add(await TierPolicyFile.ReadAsync(args[++i], "--policy"));
                    }
                    catch (Exception ex) when (ex is ArgumentException or IOException)
                    {
                        await Console.Error.WriteLineAsync(ex.Message);
                        return 2;
                    }

                    break;
                case "--url" when i + 1 < args.Length:
                    url = args[++i];
                    break;
                case "--api-key" when i + 1 < args.Length:
                    apiKey = args[++i];
                    break;
                case "--tenant" when i + 1 < args.Length:
                    tenant = args[++i];
                    break;
                default:
                    await Console.Error.WriteLineAsync("usage: cxengine rescore [--tier T]... [--customer ID]... [--policy FILE.json]... [--apply] [--url URL] [--api-key KEY] [--tenant T]");
                    return 2;
            }
        }

        try
        {
            var report = await RescoreAsync(request, EngineConnection.Create(url, apiKey, tenant), ToolConsole.Create(), CancellationToken.None);
            Console.WriteLine(JsonFormatter.Default.Format(report));
            return 0;
        }
        catch (ArgumentException ex)
        {
            await Console.Error.WriteLineAsync(ex.Message);
            return 2;
        }
        catch (RpcException ex)
        {
            await Console.Error.WriteLineAsync($"rescore failed: {ex.Status.StatusCode}: {ex.Status.Detail}");
            return 3;
        }
    }

    public static async Task<V1.RescoreReport> RescoreAsync(V1.RescoreRequest request, EngineConnection connection, IAnsiConsole console, CancellationToken cancellationToken)
    {
        using var channel = connection.OpenChannel();
        var client = new V1.Policies.PoliciesClient(channel);
        var started = System.Diagnostics.Stopwatch.StartNew();
        V1.RescoreReport? report = null;
        await console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .StartAsync(async progress =>
            {
                var task = progress.AddTask(request.Apply ? "re-scoring" : "re-scoring (dry run)", maxValue: 1);
                using var call = client.Rescore(request, connection.Headers(), cancellationToken: cancellationToken);
                await foreach (var message in call.ResponseStream.ReadAllAsync(cancellationToken))
                {
                    task.MaxValue = Math.Max(1, message.CustomersTotal);
                    task.Value = message.CustomersDone;
                    report = message.Report ?? report;
                }
            });
        var result = report ?? throw new IOException("the engine ended the re-score without a report");
        console.MarkupLineInterpolated(
            $"{(request.Apply ? "applied" : "dry run")}: {result.Customers} customers, {result.EventsReplayed} events in {started.Elapsed.TotalSeconds:F1} s ({result.Customers / Math.Max(0.001, started.Elapsed.TotalSeconds):F0} customers/s, {result.EventsReplayed / Math.Max(0.001, started.Elapsed.TotalSeconds):F0} events/s); mean score {result.MeanScoreBefore:F2} -> {result.MeanScoreAfter:F2}; below baseline {result.BelowBefore} -> {result.BelowAfter}; actions raised {result.ActionsRaised}, closed {result.ActionsClosed}");
        return result;
    }
}
