using System.Globalization;
using CxEngine.Calibration;
using CxEngine.Calibration.Olist;
using CxEngine.Customers;
using CxEngine.Policies;
using CxEngine.Scoring;
using CxEngine.Silo.Hosting;
using CxEngine.Silo.Ingest;
using CxEngine.Silo.Services;
using Google.Protobuf;
using V1 = CxEngine.Contracts.V1;

namespace CxEngine.Silo.Tools;

/// <summary>
/// <c>cxengine calibrate --events events.jsonl [--outcomes outcomes.csv] --out fitted-tier.json [--plot deciles.png]</c>:
/// fits a tier's settings to historical outcomes (SCORING.md "Calibrating a tier") and writes the fitted tier
/// as the proto3 JSON that <c>Policies.UpsertTier</c> takes. Events are checked by the engine's own ingest
/// validation, and the fitted tier by its own tier validation, before anything is written.
/// </summary>
public static class CalibrateCommand
{
    public const string Usage = """
        usage: cxengine calibrate (--events FILE.jsonl | --olist DIR) [--outcomes FILE.csv] [--tier NAME] [--from TIER.json | --tenant T]
                                  [--split FRACTION | --split-at DATE] [--budget REPLAYS] [--seed N] [--fit-on all|surveys|outcomes]
                                  [--weights auto|all|none] --out FITTED-TIER.json [--plot DECILES.png]
          --events    cx.v1 InteractionEvents, one proto3 JSON object per line (the form `import` reads and `export events`
                      writes); a bad line is reported and left out, as import does
          --olist     the folder of the Olist CSVs instead (orders -> open promises made at purchase and kept at
                      delivery, reviews -> SURVEY, and repeat purchase as the outcome)
          --outcomes  CSV customer_id,time,label: label 1 = a good outcome (came back, stayed), 0 = a bad one
          --tier      the tier whose SCORING.md defaults are the starting point and the name written (standard)
          --from      start from this tier instead (proto3 JSON of cx.v1.TierPolicy, as ListTiers returns it)
          --tenant    start from the tier --tier names as this tenant's engine holds it (ListTiers at --url, default the
                      local engine, with --api-key or CXENGINE_API_KEY; the tenant sent as x-cx-tenant)
          --split     share of the measurements, by time, to fit on (0.7); the rest is judged
          --split-at  fit before this instant, judge from it on (ISO 8601)
          --budget    replays the search may spend (1000)
          --fit-on    what the search ranks: survey answers, outcomes, or all (the mean of their ρ and 2·AUC−1)
          --weights   signal weights searched besides γ, λ, η, β, tolerance fraction: auto (those of signals the events
                      carry together with another one; the first of each group stays as its anchor), all (every weight
                      but CSAT's, the anchor), none
        """;

    public static Task<int> RunAsync(string[] args) => RunAsync(args, Console.Out, Console.Error, TimeProvider.System);

    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, TimeProvider clock)
    {
        Dictionary<string, string> options;
        try
        {
            options = ParseArguments(args);
        }
        catch (ArgumentException ex)
        {
            await error.WriteLineAsync($"{ex.Message}\n{Usage}");
            return 2;
        }

        try
        {
            return await RunAsync(options, output, clock);
        }
        catch (Exception ex) when (ex is CalibrationInputException or ArgumentException or IOException or UnauthorizedAccessException)
        {
            await error.WriteLineAsync(ex.Message);
            return 2;
        }
    }

    private static async Task<int> RunAsync(Dictionary<string, string> options, TextWriter output, TimeProvider clock)
    {
        var defaults = await StartingTier(options);
        if (!options.TryGetValue("out", out var outPath))
        {
            throw new ArgumentException("--out: required (the file to write the fitted tier to)");
        }

        var calibration = new CalibrationOptions
        {
            SplitFraction = options.TryGetValue("split", out var split) ? Number("--split", split) : 0.7,
            SplitAt = options.TryGetValue("split-at", out var splitAt) ? Instant("--split-at", splitAt) : null,
            Budget = options.TryGetValue("budget", out var budget) ? (int)Number("--budget", budget) : 1000,
            Seed = options.TryGetValue("seed", out var seed) ? (int)Number("--seed", seed) : 11,
            FitOn = options.GetValueOrDefault("fit-on", "all") switch
            {
                "all" => FitTarget.All,
                "surveys" => FitTarget.Surveys,
                "outcomes" => FitTarget.Outcomes,
                var other => throw new ArgumentException($"--fit-on: one of all, surveys, outcomes; got '{other}'"),
            },
            Weights = options.GetValueOrDefault("weights", "auto") switch
            {
                "auto" => WeightSearch.Auto,
                "all" => WeightSearch.All,
                "none" => WeightSearch.None,
                var other => throw new ArgumentException($"--weights: one of auto, all, none; got '{other}'"),
            },
        };
        if (calibration.Budget < 10)
        {
            throw new ArgumentException($"--budget: must be at least 10 replays, got {calibration.Budget}");
        }

        if (!(calibration.SplitFraction is > 0 and < 1))
        {
            throw new ArgumentException($"--split: must lie strictly between 0 and 1, got {calibration.SplitFraction}");
        }

        var input = Load(options, defaults, clock, output);
        input = input.ForTier(defaults.Name, out var otherTier);
        await output.WriteLineAsync($"{input.Customers.Count} customers, {input.EventCount} events, {input.Outcomes.Count} outcomes" + (otherTier > 0 ? $" ({otherTier} customers of other tiers left out)" : ""));

        var result = Calibrator.Run(input, defaults, calibration);
        if (result.Fitted.Validate() is { } problem)
        {
            // The search space keeps every setting valid; this guards the promise that the file is accepted.
            throw new ArgumentException($"the fitted tier fails the engine's validation: {problem}");
        }

        await output.WriteAsync(CalibrationReport.Format(result));
        var json = new JsonFormatter(JsonFormatter.Settings.Default.WithFormatDefaultValues(true).WithIndentation()).Format(ContractMapper.ToTier(result.Fitted));
        await File.WriteAllTextAsync(outPath, json + "\n");
        await output.WriteLineAsync($"\nfitted tier written to {outPath} (Policies.UpsertTier, or PUT /v1/tiers/{result.Fitted.Name})");
        if (options.TryGetValue("plot", out var plotPath))
        {
            DecilePlot.Save(result, plotPath);
            await output.WriteLineAsync($"deciles of S drawn to {plotPath}");
        }

        return 0;
    }

    /// <summary>
    /// The tier to start from: <c>--from</c> (the tier as the engine holds it, in proto3 JSON), <c>--tenant</c> (the tier
    /// <c>--tier</c> names, read from that tenant's engine), else the SCORING.md defaults of <c>--tier</c>.
    /// </summary>
    private static async Task<TierPolicy> StartingTier(Dictionary<string, string> options)
    {
        if (options.TryGetValue("tenant", out var tenant))
        {
            if (options.ContainsKey("from"))
            {
                throw new ArgumentException("--from and --tenant: give one of them (--tenant reads the tier from the engine)");
            }

            var connection = EngineConnection.Create(options.GetValueOrDefault("url"), options.GetValueOrDefault("api-key"), tenant);
            var name = options.GetValueOrDefault("tier", "standard");
            using var channel = connection.OpenChannel();
            V1.ListTiersResponse tiers;
            try
            {
                tiers = await new V1.Policies.PoliciesClient(channel).ListTiersAsync(new V1.ListTiersRequest(), connection.Headers());
            }
            catch (global::Grpc.Core.RpcException ex)
            {
                throw new ArgumentException($"--tenant: reading tenant '{tenant}''s tiers from {connection.Url} failed: {ex.Status.StatusCode}: {ex.Status.Detail}");
            }

            var held = tiers.Tiers.FirstOrDefault(t => t.Name == name)
                ?? throw new ArgumentException($"--tier: tenant '{tenant}' has no tier '{name}'; its tiers: {string.Join(", ", tiers.Tiers.Select(t => t.Name))}");
            return ContractMapper.FromTier(held);
        }

        if (options.TryGetValue("from", out var fromPath))
        {
            if (options.ContainsKey("tier"))
            {
                throw new ArgumentException("--from and --tier: give one of them (the file names its tier)");
            }

            var wire = await TierPolicyFile.ReadAsync(fromPath, "--from");
            var policy = ContractMapper.FromTier(wire);
            return policy.Validate() is { } problem ? throw new ArgumentException($"--from: {fromPath}: {problem}") : policy;
        }

        var tierName = options.GetValueOrDefault("tier", "standard");
        return TierPolicy.Defaults.FirstOrDefault(t => t.Name == tierName)
            ?? throw new ArgumentException($"--tier: unknown tier '{tierName}'; known tiers: {string.Join(", ", TierPolicy.Defaults.Select(t => t.Name))}");
    }

    private static CalibrationInput Load(Dictionary<string, string> options, TierPolicy starting, TimeProvider clock, TextWriter output)
    {
        var validation = new EventValidation(clock, new IngestOptions().MaxClockSkewSeconds);
        // The tier being fitted is known to validation as the engine knows it, also when it is one of the engine's own
        // (--from): events an engine exported name the tiers they were scored under.
        var catalog = new TierCatalog(0, "standard", [.. TierPolicy.Defaults.Where(t => t.Name != starting.Name), starting]);
        EventMapper mapper = (V1.InteractionEvent evt, out CustomerEvent mapped) => validation.TryMap(evt, catalog, out mapped)?.ToString();
        var hasEvents = options.TryGetValue("events", out var eventsPath);
        var hasOlist = options.TryGetValue("olist", out var olistDir);
        if (hasEvents == hasOlist)
        {
            throw new ArgumentException("--events or --olist: exactly one is required");
        }

        IReadOnlyList<Outcome> outcomes = options.TryGetValue("outcomes", out var outcomesPath) ? OutcomeCsv.Read(outcomesPath) : [];
        var rejected = new List<string>();
        IEnumerable<(string, CustomerEvent)> mapped;
        if (hasEvents)
        {
            mapped = EventLines.Read(eventsPath!, mapper, rejected);
        }
        else
        {
            var (events, repeat, counts) = OlistSource.Read(olistDir!);
            output.WriteLine(
                $"olist: {counts.Orders} orders ({counts.OrdersWithoutCustomer} without a known customer, {counts.CanceledOrUnavailable} canceled or unavailable, {counts.Inconsistent} with inconsistent times), {counts.DeliveryEvents} delivered, " +
                $"{counts.Reviews} reviews ({counts.ReviewsWithoutOrder} without a known order); {counts.Outcomes} first orders judged for a repeat purchase, {counts.Returned} came back ({counts.ReturnedBeforeExperience} who ordered again before their first order arrived or was reviewed left out)");
            mapped = EventLines.Map(events, evt => $"{olistDir}: event {evt.EventId}", mapper, rejected);
            outcomes = outcomesPath is null ? repeat : outcomes;
        }

        var input = CalibrationInput.FromEvents(mapped, outcomes);
        Report(rejected, output);
        return input;
    }

    /// <summary>Events the engine would reject are left out, as the engine leaves them out; say how many, and the first few.</summary>
    private static void Report(List<string> rejected, TextWriter output)
    {
        if (rejected.Count == 0)
        {
            return;
        }

        output.WriteLine($"{rejected.Count} events left out (a line that is not an event, or an event the engine's validation rejects){(rejected.Count > 5 ? "; the first 5" : "")}:");
        foreach (var line in rejected.Take(5))
        {
            output.WriteLine($"  {line}");
        }
    }

    private static Dictionary<string, string> ParseArguments(string[] args)
    {
        string[] known = ["events", "olist", "outcomes", "tier", "from", "tenant", "url", "api-key", "split", "split-at", "budget", "seed", "fit-on", "weights", "out", "plot"];
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Length; i++)
        {
            var name = args[i].StartsWith("--", StringComparison.Ordinal) ? args[i][2..] : null;
            if (name is null || !known.Contains(name))
            {
                throw new ArgumentException($"unknown argument '{args[i]}'");
            }

            if (i + 1 >= args.Length)
            {
                throw new ArgumentException($"--{name}: needs a value");
            }

            if (!options.TryAdd(name, args[++i]))
            {
                throw new ArgumentException($"--{name}: given twice");
            }
        }

        if (options.ContainsKey("split") && options.ContainsKey("split-at"))
        {
            throw new ArgumentException("--split and --split-at: give one of them");
        }

        return options;
    }

    private static double Number(string name, string text) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && double.IsFinite(value)
            ? value
            : throw new ArgumentException($"{name}: not a number: '{text}'");

    private static DateTime Instant(string name, string text) =>
        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var value)
            ? value.UtcDateTime
            : throw new ArgumentException($"{name}: not an ISO 8601 date or instant: '{text}'");
}
