using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace CxEngine.Silo.Security;

/// <summary>
/// Authentication through ASP.NET Core's own handlers: JWT bearer tokens (issuer, audience, HS256 key from
/// configuration; roles in the "roles" claim) and API keys (header x-api-key, compared by SHA-256). With no
/// credentials configured every caller is the local operator with every role, which the host allows on
/// loopback only.
/// </summary>
public static class CxAuthentication
{
    public const string Scheme = "cx";
    public const string ApiKeyScheme = "ApiKey";
    public const string OpenScheme = "Open";
    public const string ApiKeyHeader = "x-api-key";
    public const string CallerClaim = "cx:caller";

    public static void Add(IServiceCollection services, SecurityOptions security)
    {
        var authentication = services.AddAuthentication(Scheme);
        if (!security.HasCredentials)
        {
            authentication.AddScheme<AuthenticationSchemeOptions, OpenHandler>(Scheme, null);
            return;
        }

        authentication.AddPolicyScheme(Scheme, "API key or bearer token", o => o.ForwardDefaultSelector = context =>
            context.Request.Headers.Authorization.ToString().StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
                ? JwtBearerDefaults.AuthenticationScheme
                : ApiKeyScheme);
        authentication.AddScheme<AuthenticationSchemeOptions, ApiKeyHandler>(ApiKeyScheme, null);
        authentication.AddJwtBearer(o =>
        {
            o.MapInboundClaims = false;
            o.TokenValidationParameters = new TokenValidationParameters
            {
                ValidIssuer = security.Jwt.Issuer,
                ValidAudience = security.Jwt.Audience,
                IssuerSigningKey = string.IsNullOrEmpty(security.Jwt.SigningKey) ? null : new SymmetricSecurityKey(Convert.FromBase64String(security.Jwt.SigningKey)),
                ValidateIssuerSigningKey = true,
                RequireSignedTokens = true,
                ValidateLifetime = true,
                RequireExpirationTime = true,
                ClockSkew = TimeSpan.FromSeconds(30),
                RoleClaimType = "roles",
                NameClaimType = "sub",
            };
        });
    }

    public static string Hash(string apiKey) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(apiKey)));

    /// <summary>Who the caller is, for per-caller limits: the API key's name, the token's subject, or "local".</summary>
    public static string CallerOf(ClaimsPrincipal user) =>
        user.FindFirst(CallerClaim)?.Value ?? user.FindFirst("sub")?.Value ?? user.Identity?.Name ?? "anonymous";

    /// <summary>
    /// Who acts, as recorded on a recovery action: the API key's name, the token's subject, or "local-operator" when
    /// the engine runs without credentials.
    /// </summary>
    public static string ActorOf(ClaimsPrincipal user) =>
        user.Identity?.AuthenticationType == OpenScheme ? LocalOperator : user.Identity?.Name ?? CallerOf(user);

    public const string LocalOperator = "local-operator";

    private sealed class ApiKeyHandler(
        IOptionsMonitor<AuthenticationSchemeOptions> options,
        ILoggerFactory logger,
        UrlEncoder encoder,
        IOptions<SecurityOptions> security) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
    {
        protected override Task<AuthenticateResult> HandleAuthenticateAsync()
        {
            var presented = Request.Headers[ApiKeyHeader].ToString();
            if (presented.Length == 0)
            {
                return Task.FromResult(AuthenticateResult.NoResult());
            }

            var hash = Encoding.ASCII.GetBytes(Hash(presented));
            foreach (var key in security.Value.ApiKeys)
            {
                if (CryptographicOperations.FixedTimeEquals(hash, Encoding.ASCII.GetBytes(key.Sha256.ToLowerInvariant())))
                {
                    var claims = new List<Claim>
                    {
                        new(ClaimTypes.Name, key.Name),
                        new(CallerClaim, $"key:{key.Name}"),
                        new(CallerTenant.Claim, string.IsNullOrEmpty(key.Tenant) ? Customers.Tenants.Default : key.Tenant),
                    };
                    claims.AddRange(key.Roles.Select(r => new Claim("roles", r)));
                    var identity = new ClaimsIdentity(claims, ApiKeyScheme, ClaimTypes.Name, "roles");
                    return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), Scheme.Name)));
                }
            }

            return Task.FromResult(AuthenticateResult.Fail("unknown API key"));
        }
    }

    private sealed class OpenHandler(
        IOptionsMonitor<AuthenticationSchemeOptions> options,
        ILoggerFactory logger,
        UrlEncoder encoder) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
    {
        private static readonly ClaimsPrincipal Local = new(new ClaimsIdentity(
            [new Claim(ClaimTypes.Name, "local"), new Claim(CallerClaim, "local"), .. Roles.All.Select(r => new Claim("roles", r))],
            OpenScheme, ClaimTypes.Name, "roles"));

        protected override Task<AuthenticateResult> HandleAuthenticateAsync() =>
            Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(Local, Scheme.Name)));
    }
}
