namespace CxEngine.Customers;

/// <summary>
/// Tenants (API.md, version 3): every customer and action belongs to one, and the same customer id in two tenants is
/// two customers. Inside the engine a customer is named by its <em>key</em>: the tenant's id, the separator U+001F and
/// the customer id; the default tenant's keys are the bare customer ids. Grain keys, the customers' rows, the event
/// log's unique key, action ids ("key#n") and action-log entries all carry that key, so every lookup and every unique
/// index is scoped by construction, and a database from before tenants is tenant <see cref="Default"/> as it stands.
/// Ids never contain U+001F (control characters are refused at the edge, and <see cref="Key"/> refuses them), so a
/// key names exactly one (tenant, id) pair. Wire messages carry the bare id (<see cref="IdOf"/>) and the tenant.
/// </summary>
public static class Tenants
{
    /// <summary>The tenant of credentials that name none, and of every caller in open mode.</summary>
    public const string Default = "default";

    /// <summary>A platform credential's tenant: it acts for the tenant each call names in <c>x-cx-tenant</c>.</summary>
    public const string Platform = "*";

    public const int MaxLength = 64;

    public const char Separator = '\u001F';

    /// <summary>Why a tenant id is not one (1-64 characters of a-z 0-9 - _), or null.</summary>
    public static string? Check(string? tenant)
    {
        if (string.IsNullOrEmpty(tenant))
        {
            return "required: 1-64 characters of a-z 0-9 - _";
        }

        if (tenant.Length > MaxLength)
        {
            return $"must be at most {MaxLength} characters, got {tenant.Length}";
        }

        foreach (var c in tenant)
        {
            if (c is not ((>= 'a' and <= 'z') or (>= '0' and <= '9') or '-' or '_'))
            {
                return $"'{tenant}' is not a tenant id: 1-64 characters of a-z 0-9 - _";
            }
        }

        return null;
    }

    /// <summary>The key of <paramref name="id"/> (a customer or action id) in <paramref name="tenant"/>.</summary>
    public static string Key(string tenant, string id)
    {
        if (id.Contains(Separator, StringComparison.Ordinal))
        {
            throw new ArgumentException("an id must not contain control characters", nameof(id));
        }

        return tenant == Default ? id : string.Concat(tenant, "\u001F", id);
    }

    /// <summary>The tenant a key belongs to.</summary>
    public static string TenantOf(string key)
    {
        var i = key.IndexOf(Separator, StringComparison.Ordinal);
        return i < 0 ? Default : key[..i];
    }

    /// <summary>The id a key names within its tenant (the key itself in the default tenant: no copy).</summary>
    public static string IdOf(string key)
    {
        var i = key.IndexOf(Separator, StringComparison.Ordinal);
        return i < 0 ? key : key[(i + 1)..];
    }

    /// <summary>Whether <paramref name="key"/> belongs to <paramref name="tenant"/>.</summary>
    public static bool Owns(string tenant, string key)
    {
        var i = key.IndexOf(Separator, StringComparison.Ordinal);
        return i < 0 ? tenant == Default : key.AsSpan(0, i).SequenceEqual(tenant);
    }

    /// <summary>
    /// A SQL condition that holds for the keys of <paramref name="tenant"/> in <paramref name="column"/>, in the same
    /// words on SQLite and PostgreSQL, with the one parameter it names (@tenant_key).
    /// </summary>
    public static (string Condition, (string Name, object Value) Parameter) SqlFilter(string column, string tenant) =>
        tenant == Default
            ? ($"{column} NOT LIKE @tenant_key", ("tenant_key", "%\u001F%"))
            : ($"substr({column}, 1, {tenant.Length + 1}) = @tenant_key", ("tenant_key", tenant + Separator));
}
