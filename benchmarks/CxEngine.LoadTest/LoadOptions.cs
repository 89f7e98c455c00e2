using System.Globalization;

namespace CxEngine.LoadTest;

/// <summary>Command line of the load tool. Every option has a default; --help lists them.</summary>
internal sealed record LoadOptions
{
    public string Target { get; init; } = "http://localhost:50051";
    public int Streams { get; init; } = 8;
    public int Customers { get; init; } = 100_000;
    public int Events { get; init; } = 300_000;
    public int Warmup { get; init; } = 20_000;
    /// <summary>Events per second in total, open loop; 0 = as fast as the engine takes them.</summary>
    public double Rate { get; init; }
    public bool Ceiling { get; init; } = true;
    public string? Json { get; init; }
    public string? Plot { get; init; }
    public int Seed { get; init; } = 1;
    /// <summary>GetScore calls on resident customers after the ingest run (0 = none).</summary>
    public int GetScores { get; init; } = 20_000;
    /// <summary>Events per customer pick, sent back to back on that customer's stream (1 = a uniform mix).</summary>
    public int Burst { get; init; } = 1;

    /// <summary>Metadata sent on every call (an API key, x-cx-tenant), as NAME=VALUE.</summary>
    public IReadOnlyList<(string Name, string Value)> Headers { get; init; } = [];

    /// <summary>The headers as gRPC call metadata, or null when there are none.</summary>
    public Grpc.Core.Metadata? Metadata()
    {
        if (Headers.Count == 0)
        {
            return null;
        }

        var metadata = new Grpc.Core.Metadata();
        foreach (var (name, value) in Headers)
        {
            metadata.Add(name, value);
        }

        return metadata;
    }

    /// <summary>The traffic shape in words, for the header.</summary>
    public string Shape => Burst == 1
        ? "uniform (each event picks a customer at random)"
        : $"bursts of {Burst} (each pick sends {Burst} consecutive events of one customer, back to back on its stream)";

    public const string Usage = """
        cxengine-load --target URL [options]
          --target URL[,URL]  engine to drive (default http://localhost:50051); several silos of a cluster, comma-separated,
                              share the streams (stream s goes to URL s mod n)
          --streams N         concurrent StreamEvents calls (default 8)
          --customers N       distinct customers (default 100000)
          --events N          measured events (default 300000)
          --warmup N          events sent first and not measured (default 20000)
          --rate R            open-loop target rate in events/s over all streams; 0 = maximum (default 0)
          --no-ceiling        skip the no-op server run
          --json FILE         write the summary as JSON
          --plot FILE.png     sweep rates (25..100 % of the maximum) and draw latency against throughput
          --seed N            traffic seed (default 1)
          --get-score N       then N GetScore calls on customers the run made resident (default 20000; 0 = skip)
          --burst K           K consecutive events per customer pick, sent together (default 1 = uniform mix)
          --header NAME=VALUE metadata on every call, e.g. x-api-key=KEY or x-cx-tenant=T (repeatable)

        cxengine-load ceiling-server --urls URL
          the no-op gRPC server alone, until stopped (so a comparison runs it as its own process)

        cxengine-load report [--ratio-to LABEL]... LABEL=SUMMARY.json...
          one markdown table of --json summaries, a row per LABEL, a ratio column per --ratio-to;
          a summary {"failed": "why"} prints as a failed row
        """;

    public static LoadOptions Parse(string[] args)
    {
        var options = new LoadOptions();
        for (var i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            options = args[i] switch
            {
                "--target" => options with { Target = Next() },
                "--streams" => options with { Streams = Positive(Next(), "--streams") },
                "--customers" => options with { Customers = Positive(Next(), "--customers") },
                "--events" => options with { Events = Positive(Next(), "--events") },
                "--warmup" => options with { Warmup = int.Parse(Next(), CultureInfo.InvariantCulture) },
                "--rate" => options with { Rate = double.Parse(Next(), CultureInfo.InvariantCulture) },
                "--no-ceiling" => options with { Ceiling = false },
                "--json" => options with { Json = Next() },
                "--plot" => options with { Plot = Next() },
                "--seed" => options with { Seed = int.Parse(Next(), CultureInfo.InvariantCulture) },
                "--get-score" => options with { GetScores = int.Parse(Next(), CultureInfo.InvariantCulture) },
                "--burst" => options with { Burst = Positive(Next(), "--burst") },
                "--header" => options with { Headers = [.. options.Headers, Header(Next())] },
                _ => throw new ArgumentException($"unknown option {args[i]}"),
            };
        }

        return options;
    }

    private static (string, string) Header(string value)
    {
        var equals = value.IndexOf('=', StringComparison.Ordinal);
        return equals > 0 ? (value[..equals].ToLowerInvariant(), value[(equals + 1)..]) : throw new ArgumentException($"--header: NAME=VALUE, got '{value}'");
    }

    private static int Positive(string value, string name)
    {
        var parsed = int.Parse(value, CultureInfo.InvariantCulture);
        return parsed > 0 ? parsed : throw new ArgumentException($"{name} must be above 0");
    }
}
