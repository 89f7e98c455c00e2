using System.ComponentModel.DataAnnotations;

namespace CxEngine.Silo.Security;

/// <summary>The four roles, one per kind of caller (and the operator).</summary>
public static class Roles
{
    public const string Ingest = "ingest";
    public const string Read = "read";
    public const string Recovery = "recovery";
    public const string Admin = "admin";

    public static readonly string[] All = [Ingest, Read, Recovery, Admin];
}

/// <summary>Who may call, bound from "CxEngine:Security". With neither keys nor a JWT key the engine runs open, on loopback only.</summary>
public sealed class SecurityOptions : IValidatableObject
{
    public const string SectionName = "CxEngine:Security";

    /// <summary>API keys, stored as the SHA-256 of the key (hex); the key itself is never in configuration.</summary>
    public List<ApiKeyOptions> ApiKeys { get; set; } = [];

    public JwtOptions Jwt { get; set; } = new();

    public bool HasCredentials => ApiKeys.Count > 0 || !string.IsNullOrEmpty(Jwt.SigningKey);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        for (var i = 0; i < ApiKeys.Count; i++)
        {
            var key = ApiKeys[i];
            if (string.IsNullOrWhiteSpace(key.Name))
            {
                yield return new ValidationResult("is required", [$"ApiKeys:{i}:Name"]);
            }

            if (key.Sha256 is null || key.Sha256.Length != 64 || !key.Sha256.All(Uri.IsHexDigit))
            {
                yield return new ValidationResult("must be the SHA-256 of the key as 64 hex digits (sha256sum)", [$"ApiKeys:{i}:Sha256"]);
            }

            if (!string.IsNullOrEmpty(key.Tenant) && key.Tenant != Customers.Tenants.Platform && Customers.Tenants.Check(key.Tenant) is { } tenantProblem)
            {
                yield return new ValidationResult($"{tenantProblem}, or \"*\" for a platform key", [$"ApiKeys:{i}:Tenant"]);
            }

            foreach (var role in key.Roles.Where(r => !Roles.All.Contains(r)))
            {
                yield return new ValidationResult($"unknown role '{role}' (known: {string.Join(", ", Roles.All)})", [$"ApiKeys:{i}:Roles"]);
            }
        }

        if (!string.IsNullOrEmpty(Jwt.SigningKey))
        {
            byte[]? bytes = null;
            try
            {
                bytes = Convert.FromBase64String(Jwt.SigningKey);
            }
            catch (FormatException)
            {
            }

            if (bytes is null || bytes.Length < 32)
            {
                yield return new ValidationResult("must be base64 of at least 32 bytes (HS256)", ["Jwt:SigningKey"]);
            }

            if (string.IsNullOrWhiteSpace(Jwt.Issuer))
            {
                yield return new ValidationResult("is required with a signing key", ["Jwt:Issuer"]);
            }
        }
    }
}

public sealed class ApiKeyOptions
{
    public string Name { get; set; } = "";

    public string Sha256 { get; set; } = "";

    public List<string> Roles { get; set; } = [];

    /// <summary>
    /// The tenant the key acts for (default: "default"); "*" makes it a platform key, which names the tenant of each
    /// call in the x-cx-tenant header.
    /// </summary>
    public string? Tenant { get; set; }
}

public sealed class JwtOptions
{
    public string? Issuer { get; set; }

    public string Audience { get; set; } = "cxengine";

    /// <summary>Base64 HS256 key; the token's "roles" claim carries the roles, its "tenant" claim the tenant ("*": a platform token).</summary>
    public string? SigningKey { get; set; }
}

/// <summary>What one caller may use, bound from "CxEngine:Limits".</summary>
public sealed class LimitsOptions
{
    public const string SectionName = "CxEngine:Limits";

    [Range(1024, 64 * 1024 * 1024)]
    public int MaxMessageBytes { get; set; } = 1024 * 1024;

    /// <summary>Open StreamEvents and WatchActions calls per caller; one more is RESOURCE_EXHAUSTED.</summary>
    [Range(1, 10_000)]
    public int MaxStreamsPerCaller { get; set; } = 32;

    /// <summary>Sustained events per second per caller (0 = no limit); beyond it RESOURCE_EXHAUSTED.</summary>
    [Range(0, 10_000_000)]
    public int EventsPerSecondPerCaller { get; set; }

    /// <summary>Events a caller may send at once above its rate (0 = one second's worth).</summary>
    [Range(0, 10_000_000)]
    public int EventBurstPerCaller { get; set; }

    /// <summary>Sustained events per second per tenant, across all its callers (0 = no limit); beyond it RESOURCE_EXHAUSTED.</summary>
    [Range(0, 10_000_000)]
    public int EventsPerSecondPerTenant { get; set; }

    /// <summary>Events a tenant's callers may send at once above its rate (0 = one second's worth).</summary>
    [Range(0, 10_000_000)]
    public int EventBurstPerTenant { get; set; }
}
