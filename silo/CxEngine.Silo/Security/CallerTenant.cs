using CxEngine.Customers;
using CxEngine.Silo.Grpc;
using Grpc.Core;

namespace CxEngine.Silo.Security;

/// <summary>
/// The tenant a call acts for (API.md, version 3), from its credential and never from the request body: an API key's
/// <c>Tenant</c>, a JWT's <c>tenant</c> claim, <see cref="Tenants.Default"/> for a credential without one and for every
/// caller in open mode. A platform credential (<see cref="Tenants.Platform"/>) names the tenant of each call in the
/// <see cref="Header"/> header; a tenant credential may send the header only with its own tenant in it.
/// </summary>
public static class CallerTenant
{
    public const string Header = "x-cx-tenant";

    /// <summary>The claim that carries a credential's tenant (an API key's is added by the key handler).</summary>
    public const string Claim = "tenant";

    public static string Of(ServerCallContext context) => Of(context.GetHttpContext());

    public static string Of(HttpContext http)
    {
        var own = http.User.FindFirst(Claim)?.Value;
        if (string.IsNullOrEmpty(own))
        {
            own = Tenants.Default;
        }
        else if (own != Tenants.Platform && Tenants.Check(own) is not null)
        {
            throw new RpcException(new Status(StatusCode.PermissionDenied, $"the credential's tenant claim '{own}' is not a tenant id (1-64 characters of a-z 0-9 - _)"));
        }

        var named = http.Request.Headers[Header].ToString();
        if (own == Tenants.Platform)
        {
            if (named.Length == 0)
            {
                throw new RequestValidationException(new FieldError(Header, "required: a platform credential names the tenant each call acts for"));
            }

            RequestValidationException.ThrowIf(Tenants.Check(named) is { } problem ? new FieldError(Header, problem) : null);
            return named;
        }

        if (named.Length > 0 && !string.Equals(named, own, StringComparison.Ordinal))
        {
            throw new RpcException(new Status(StatusCode.PermissionDenied, $"this credential acts for its own tenant only, not for '{named}' ({Header})"));
        }

        return own;
    }

    /// <summary>The key of a customer or action id in the caller's tenant; the id must have been checked (no control characters).</summary>
    public static string Key(this ServerCallContext context, string id) => Tenants.Key(Of(context), id);
}
