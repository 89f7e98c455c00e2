using System.Globalization;
using System.Text.Json;

namespace CxEngine.LoadTest;

/// <summary>
/// <c>report [--ratio-to LABEL]... LABEL=SUMMARY.json...</c>: the --json summaries of several runs (one server
/// each, same load) as one markdown table, with the machine above it. A summary holding only
/// <c>{"failed": "why"}</c> (a server that would not start, a run that left no summary) prints as a failed row.
/// </summary>
internal static class Report
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public static int Print(string[] args, TextWriter output)
    {
        var ratioTo = new List<string>();
        var rows = new List<Row>();
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] == "--ratio-to" && i + 1 < args.Length)
            {
                ratioTo.Add(args[++i]);
                continue;
            }

            var split = args[i].IndexOf('=', StringComparison.Ordinal);
            if (split <= 0)
            {
                Console.Error.WriteLine($"report: expected LABEL=SUMMARY.json, got '{args[i]}'");
                return 2;
            }

            rows.Add(Row.Read(args[i][..split], args[i][(split + 1)..]));
        }

        output.WriteLine($"machine: {Environment.ProcessorCount} cores, {CpuModel()}, .NET {Environment.Version}, {Environment.OSVersion}");
        if (rows.FirstOrDefault(r => r.Failed is null) is { } first)
        {
            var shape = first.Burst == 1 ? "uniform" : $"bursts of {first.Burst} events per customer";
            output.WriteLine(string.Create(Invariant,
                $"load: {first.Events:N0} events over {first.Customers:N0} customers, {first.Streams} streams, {shape}, maximum rate"));
        }

        output.WriteLine();
        output.WriteLine("| | events/s | ack p50 ms | ack p99 ms | ack p99.9 ms | errors |" + string.Concat(ratioTo.Select(r => $" vs {r} |")));
        output.WriteLine("|---|---:|---:|---:|---:|---:|" + string.Concat(ratioTo.Select(_ => "---:|")));
        foreach (var row in rows)
        {
            if (row.Failed is { } why)
            {
                output.WriteLine($"| {row.Label} | failed: {why.Replace('|', '/')} | | | | |" + string.Concat(ratioTo.Select(_ => " |")));
                continue;
            }

            var ratios = ratioTo.Select(label => rows.FirstOrDefault(r => r.Label == label && r.Failed is null) is { } other && other.EventsPerSecond > 0
                ? string.Create(Invariant, $" {row.EventsPerSecond / other.EventsPerSecond:F2}x |")
                : " – |");
            output.WriteLine(string.Create(Invariant,
                $"| {row.Label} | {row.EventsPerSecond:N0} | {row.P50:F2} | {row.P99:F2} | {row.P999:F2} | {row.Errors:N0} |") + string.Concat(ratios));
        }

        return 0;
    }

    private static string CpuModel()
    {
        try
        {
            var line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
            if (line is not null)
            {
                return line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim();
            }
        }
        catch (IOException)
        {
            // not Linux: fall through to the architecture
        }

        return System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture.ToString();
    }

    private sealed record Row(string Label, string? Failed, double EventsPerSecond, double P50, double P99, double P999, long Errors,
        long Events, long Customers, int Streams, int Burst)
    {
        public static Row Read(string label, string path)
        {
            if (!File.Exists(path))
            {
                return Failure(label, $"no summary at {path}");
            }

            try
            {
                using var json = JsonDocument.Parse(File.ReadAllText(path));
                var root = json.RootElement;
                if (root.TryGetProperty("failed", out var failed))
                {
                    return Failure(label, failed.GetString() ?? "failed");
                }

                var latency = root.GetProperty("latency_ms");
                var errors = root.GetProperty("errors").EnumerateObject().Sum(e => e.Value.GetInt64());
                return new Row(label, null,
                    root.GetProperty("events_per_second").GetDouble(),
                    latency.GetProperty("p50").GetDouble(), latency.GetProperty("p99").GetDouble(), latency.GetProperty("p999").GetDouble(),
                    errors,
                    root.GetProperty("events").GetInt64(), root.GetProperty("customers").GetInt64(), root.GetProperty("streams").GetInt32(),
                    root.TryGetProperty("burst", out var burst) ? burst.GetInt32() : 1);
            }
            catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
            {
                return Failure(label, $"unreadable summary {path}: {ex.Message}");
            }
        }

        private static Row Failure(string label, string why) => new(label, why, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    }
}
