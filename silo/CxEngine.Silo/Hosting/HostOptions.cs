using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace CxEngine.Silo.Hosting;

/// <summary>How the gRPC edge takes events, bound from "CxEngine:Ingest".</summary>
public sealed class IngestOptions
{
    public const string SectionName = "CxEngine:Ingest";

    /// <summary>Events one stream may have accepted but not yet answered; past this the stream stops reading (HTTP/2 backpressure).</summary>
    [Range(1, 1_000_000)]
    public int MaxInFlightPerStream { get; set; } = 2048;

    /// <summary>How far in the future an event's occurred_at may lie before it is rejected as absurd.</summary>
    [Range(0, 30 * 86400)]
    public int MaxClockSkewSeconds { get; set; } = 86400;
}

/// <summary>The Orleans cluster this silo joins, bound from "CxEngine:Cluster".</summary>
public sealed class ClusterOptions
{
    public const string SectionName = "CxEngine:Cluster";

    [Required(AllowEmptyStrings = false)]
    public string ServiceId { get; set; } = "cxengine";

    [Required(AllowEmptyStrings = false)]
    public string ClusterId { get; set; } = "dev";

    [Range(1, 65535)]
    public int SiloPort { get; set; } = 11111;

    /// <summary>Port for external Orleans clients; 0 runs no gateway.</summary>
    [Range(0, 65535)]
    public int GatewayPort { get; set; } = 30000;

    /// <summary>
    /// The address other silos reach this one on (PostgreSQL clustering). Loopback suits several silos on
    /// one machine; on several machines set each silo's own reachable address.
    /// </summary>
    [Required(AllowEmptyStrings = false)]
    public string AdvertisedAddress { get; set; } = "127.0.0.1";
}

/// <summary>
/// Checks what data annotations on the top level cannot: the nested customer and recovery settings, every
/// tier is a policy the model can run, and the default tier exists.
/// </summary>
public sealed class EngineOptionsValidator : IValidateOptions<EngineOptions>
{
    public ValidateOptionsResult Validate(string? name, EngineOptions options)
    {
        var failures = new List<string>();
        Nested(failures, $"{EngineOptions.SectionName}:Customers", options.Customers);
        Nested(failures, $"{EngineOptions.SectionName}:Recovery", options.Recovery);
        var tiers = options.EffectiveTiers();
        foreach (var tier in tiers)
        {
            if (tier.Validate() is { } problem)
            {
                failures.Add($"CxEngine:Tiers:{tier.Name}: {problem.Field} {problem.Problem}");
            }
        }

        if (tiers.All(t => t.Name != options.DefaultTier))
        {
            failures.Add($"CxEngine:DefaultTier: '{options.DefaultTier}' is not a configured tier (known: {string.Join(", ", tiers.Select(t => t.Name))})");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void Nested(List<string> failures, string section, object settings)
    {
        var results = new List<ValidationResult>();
        if (!Validator.TryValidateObject(settings, new ValidationContext(settings), results, validateAllProperties: true))
        {
            failures.AddRange(results.Select(r => $"{section}:{string.Join(",", r.MemberNames)}: {r.ErrorMessage}"));
        }
    }
}

/// <summary>The operator's endpoint (HTTP/1.1): Prometheus metrics at /metrics, the Orleans dashboard at /dashboard. Bound from "CxEngine:Operator".</summary>
public sealed class OperatorOptions
{
    public const string SectionName = "CxEngine:Operator";

    /// <summary>Where the operator endpoint listens; empty turns it off.</summary>
    public string Url { get; set; } = "http://localhost:9464";

    /// <summary>
    /// Mount the Orleans dashboard (admin role) at /dashboard. Off by default: it profiles every grain call, which
    /// costs ingest throughput (see the README, "Measured"); the Prometheus metrics cover what an operator watches.
    /// </summary>
    public bool Dashboard { get; set; }
}

/// <summary>
/// The REST/JSON listener (HTTP/1.1 and HTTP/2): every unary and server-streaming RPC as JSON over HTTP, the
/// OpenAPI document at /openapi.json, and /healthz, /readyz. Bound from "CxEngine:Http".
/// </summary>
public sealed class HttpOptions
{
    public const string SectionName = "CxEngine:Http";

    /// <summary>Where the REST listener listens; empty turns it off. Loopback unless credentials are configured.</summary>
    public string Url { get; set; } = "http://localhost:8080";
}
