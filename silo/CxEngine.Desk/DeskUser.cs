using System.Security.Claims;
using Grpc.Core;

namespace CxEngine.Desk;

/// <summary>
/// The person at the desk, as the engine knows their credential: name, roles and tenant from the credential's claims,
/// and the credential itself (kept in the desk's encrypted cookie), sent with every call the desk makes for them.
/// In open mode (no credentials configured) everyone is the local operator with every role, in the default tenant.
/// </summary>
public sealed record DeskUser(string Name, IReadOnlySet<string> Roles, string Tenant, string? ApiKey, string? Bearer, string? TenantHeader)
{
    public const string ApiKeyClaim = "cx:desk-api-key";
    public const string BearerClaim = "cx:desk-bearer";
    public const string TenantHeaderClaim = "cx:desk-tenant";

    /// <summary>Acknowledge and resolve (the recovery role).</summary>
    public bool CanAct => Roles.Contains("recovery");

    /// <summary>Tiers and re-score (the admin role).</summary>
    public bool IsAdmin => Roles.Contains("admin");

    public bool CanRead => Roles.Contains("read");

    /// <summary>The call metadata that carries the person's credential (and, for a platform key, the tenant it acts for).</summary>
    public Metadata Headers()
    {
        var headers = new Metadata();
        if (ApiKey is not null)
        {
            headers.Add("x-api-key", ApiKey);
        }

        if (Bearer is not null)
        {
            headers.Add("authorization", $"Bearer {Bearer}");
        }

        if (TenantHeader is not null)
        {
            headers.Add("x-cx-tenant", TenantHeader);
        }

        return headers;
    }

    public static DeskUser From(ClaimsPrincipal user, DeskOptions options)
    {
        if (options.Open)
        {
            return new DeskUser("local-operator", new HashSet<string>(["ingest", "read", "recovery", "admin"]), "default", null, null, null);
        }

        var tenantHeader = user.FindFirst(TenantHeaderClaim)?.Value;
        return new DeskUser(
            user.Identity?.Name ?? user.FindFirst("sub")?.Value ?? "unknown",
            user.FindAll("roles").Select(c => c.Value).ToHashSet(StringComparer.Ordinal),
            tenantHeader ?? user.FindFirst("tenant")?.Value ?? "default",
            user.FindFirst(ApiKeyClaim)?.Value,
            user.FindFirst(BearerClaim)?.Value,
            tenantHeader);
    }
}
