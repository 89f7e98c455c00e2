using System.ComponentModel.DataAnnotations;
using CxEngine.Scoring;
using Microsoft.Extensions.Options;

namespace CxEngine.Silo.Webhooks;

/// <summary>Where recovery actions are pushed as signed webhooks, bound from "CxEngine:Webhooks".</summary>
public sealed class WebhookOptions
{
    public const string SectionName = "CxEngine:Webhooks";

    public List<WebhookEndpointOptions> Endpoints { get; set; } = [];

    /// <summary>The first retry's delay; each later one doubles it (with jitter) up to <see cref="RetryMaxDelay"/>.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "01:00:00")]
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(1);

    [Range(typeof(TimeSpan), "00:00:00.010", "1.00:00:00")]
    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How long one POST may take before it counts as failed and is retried.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00")]
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long a silo holds an endpoint without renewing (it renews every third of it). A silo that dies
    /// holding one delays that endpoint by at most this much before another silo takes it over.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:03", "00:10:00")]
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Log entries read per batch; the position is stored after each batch (and at least every second).</summary>
    [Range(1, 10_000)]
    public int BatchSize { get; set; } = 100;
}

/// <summary>One endpoint: "CxEngine:Webhooks:Endpoints:N".</summary>
public sealed class WebhookEndpointOptions
{
    /// <summary>Names the endpoint in metrics, logs, ListWebhookDeliveries and its stored position; default: the URL without its query.</summary>
    public string? Name { get; set; }

    /// <summary>An absolute http or https URL, POSTed one action-log entry at a time.</summary>
    public string Url { get; set; } = "";

    /// <summary>"whsec_" + the base64 of at least 24 random bytes: the HMAC-SHA256 key the signatures are made with.</summary>
    public string Secret { get; set; } = "";

    /// <summary>
    /// The tenant whose actions the endpoint receives (default "default"); "*" receives every tenant's, each action
    /// carrying its tenant. The others still move the position.
    /// </summary>
    public string Tenant { get; set; } = Customers.Tenants.Default;

    /// <summary>Only actions of these tiers are sent (empty: every tier); the others still move the position.</summary>
    public List<string> Tiers { get; set; } = [];

    /// <summary>
    /// Only actions at least this severe are sent: None (every one), Low, Medium or High; the others still move
    /// the position. A string, checked by the validator: the configuration binder would quietly ignore an unknown name.
    /// </summary>
    public string MinSeverity { get; set; } = nameof(Severity.None);

    /// <summary><see cref="MinSeverity"/> parsed; None when it is not a severity (the validator refuses that at start).</summary>
    public Severity Severity => TryParseSeverity(MinSeverity, out var severity) ? severity : Severity.None;

    public static bool TryParseSeverity(string? value, out Severity severity) =>
        Enum.TryParse(value, ignoreCase: true, out severity) && Enum.IsDefined(severity) && !int.TryParse(value, out _);

    /// <summary>The URL without user info or query, which may carry credentials: what logs and responses show.</summary>
    public string DisplayUrl => Uri.TryCreate(Url, UriKind.Absolute, out var uri)
        ? uri.GetComponents(UriComponents.SchemeAndServer | UriComponents.Path, UriFormat.UriEscaped)
        : "";

    /// <summary>The key of its stored position.</summary>
    public string Key => string.IsNullOrWhiteSpace(Name) ? DisplayUrl : Name;
}

/// <summary>Checks every endpoint, naming the setting that is wrong; never echoes a secret.</summary>
public sealed class WebhookOptionsValidator : IValidateOptions<WebhookOptions>
{
    public ValidateOptionsResult Validate(string? name, WebhookOptions options)
    {
        var failures = new List<string>();
        var results = new List<ValidationResult>();
        if (!Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true))
        {
            failures.AddRange(results.Select(r => $"{WebhookOptions.SectionName}:{string.Join(",", r.MemberNames)}: {r.ErrorMessage}"));
        }

        if (options.RetryMaxDelay < options.RetryBaseDelay)
        {
            failures.Add($"{WebhookOptions.SectionName}:RetryMaxDelay: must be at least RetryBaseDelay ({options.RetryBaseDelay})");
        }

        var keys = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < options.Endpoints.Count; i++)
        {
            var endpoint = options.Endpoints[i];
            var setting = $"{WebhookOptions.SectionName}:Endpoints:{i}";
            if (!Uri.TryCreate(endpoint.Url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            {
                failures.Add($"{setting}:Url: must be an absolute http:// or https:// URL");
                continue;
            }

            if (!WebhookSignature.TryParseSecret(endpoint.Secret, out _))
            {
                failures.Add($"{setting}:Secret: must be '{WebhookSignature.SecretPrefix}' followed by the base64 of at least {WebhookSignature.MinSecretBytes} random bytes");
            }

            if (endpoint.Name is { Length: > 200 })
            {
                failures.Add($"{setting}:Name: must be at most 200 characters");
            }

            if (endpoint.Tenant != Customers.Tenants.Platform && Customers.Tenants.Check(endpoint.Tenant) is { } tenantProblem)
            {
                failures.Add($"{setting}:Tenant: {tenantProblem}, or \"*\" for every tenant");
            }

            if (!WebhookEndpointOptions.TryParseSeverity(endpoint.MinSeverity, out _))
            {
                failures.Add($"{setting}:MinSeverity: must be None, Low, Medium or High");
            }

            if (keys.TryGetValue(endpoint.Key, out var other))
            {
                failures.Add($"{setting}: endpoint {other} has the same Name (or URL); give each endpoint its own Name, it keys the stored position");
            }
            else
            {
                keys[endpoint.Key] = i;
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
