using System.Security.Claims;
using CxEngine.Desk.Components;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace CxEngine.Desk;

/// <summary>
/// Mounting the desk in an ASP.NET Core host: Blazor's components (static rendering, interactive server components
/// where a page is live), a cookie session for people who sign in with an API key or a bearer token, and the sign-in
/// and sign-out endpoints. Everything lives under /desk (Blazor's own script and circuit under /_framework, /_blazor).
/// </summary>
public static class DeskHosting
{
    public const string CookieScheme = "cx-desk";
    public const string Policy = "cx-desk";
    public const string Path = "/desk";

    private static readonly Lazy<byte[]> Stylesheet = new(() =>
    {
        using var stream = typeof(DeskHosting).Assembly.GetManifestResourceStream("desk.css")
            ?? throw new InvalidOperationException("the desk's stylesheet is not embedded in CxEngine.Desk");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    });

    public static IServiceCollection AddCxDesk(this IServiceCollection services, DeskOptions options)
    {
        services.AddSingleton(options);
        services.AddSingleton<EngineClient>();
        services.AddRazorComponents().AddInteractiveServerComponents();
        services.AddCascadingAuthenticationState();
        services.AddAuthentication().AddCookie(CookieScheme, cookie =>
        {
            cookie.LoginPath = $"{Path}/signin";
            cookie.Cookie.Name = "cx-desk";
            cookie.Cookie.Path = "/";
            cookie.Cookie.HttpOnly = true;
            cookie.Cookie.SameSite = SameSiteMode.Strict;
            cookie.ExpireTimeSpan = TimeSpan.FromHours(8);
            cookie.SlidingExpiration = true;
        });
        services.AddAuthorization(authorization => authorization.AddPolicy(Policy, policy =>
        {
            policy.AddAuthenticationSchemes(CookieScheme);
            if (options.Open)
            {
                policy.RequireAssertion(_ => true);
            }
            else
            {
                policy.RequireAuthenticatedUser();
            }
        }));
        return services;
    }

    /// <summary>Maps the desk; <paramref name="convention"/> is applied to each of its endpoints (the host keeps them on its REST listener).</summary>
    public static void MapCxDesk(this WebApplication app, Action<IEndpointConventionBuilder> convention)
    {
        convention(app.MapRazorComponents<App>().AddInteractiveServerRenderMode().RequireAuthorization(Policy));
        convention(app.MapGet($"{Path}/desk.css", () => Results.Bytes(Stylesheet.Value, "text/css; charset=utf-8")));
        convention(app.MapPost($"{Path}/session", SignInAsync));
        // Authorized by the session, so the form's antiforgery token (issued to the signed-in person) is checked against them.
        convention(app.MapPost($"{Path}/session/end", async (HttpContext context, IAntiforgery antiforgery) =>
        {
            if (await antiforgery.IsRequestValidAsync(context))
            {
                await context.SignOutAsync(CookieScheme);
            }

            return Results.Redirect($"{Path}/signin");
        }).RequireAuthorization(Policy));
    }

    /// <summary>
    /// Checks the key or token with the engine's own authentication, exactly as a call carrying it would be checked, and
    /// keeps it in the desk's cookie (encrypted by ASP.NET Core's data protection) with the roles and tenant it carries.
    /// </summary>
    private static async Task<IResult> SignInAsync(HttpContext context, IAntiforgery antiforgery, DeskOptions options)
    {
        if (!await antiforgery.IsRequestValidAsync(context))
        {
            // A form from an older session or another site: nothing is done, the page is shown afresh.
            return Results.Redirect($"{Path}/signin?error=expired");
        }

        var form = await context.Request.ReadFormAsync();
        var credential = form["credential"].ToString().Trim();
        var tenant = form["tenant"].ToString().Trim();
        if (credential.Length == 0)
        {
            return Results.Redirect($"{Path}/signin?error=missing");
        }

        // Checked as a call carrying it would be: a request of its own (this one's authentication already ran and is
        // kept by its handlers), in a scope of its own, through the engine's credential scheme.
        var isToken = credential.Count(c => c == '.') == 2;
        await using var scope = context.RequestServices.CreateAsyncScope();
        var probe = new DefaultHttpContext { RequestServices = scope.ServiceProvider };
        if (isToken)
        {
            probe.Request.Headers.Authorization = $"Bearer {credential}";
        }
        else
        {
            probe.Request.Headers["x-api-key"] = credential;
        }

        var result = await probe.AuthenticateAsync(options.CredentialScheme);
        if (!result.Succeeded || result.Principal is not { } principal)
        {
            return Results.Redirect($"{Path}/signin?error=unknown");
        }

        var own = principal.FindFirst("tenant")?.Value;
        if (own == "*" && tenant.Length == 0)
        {
            return Results.Redirect($"{Path}/signin?error=tenant");
        }

        var name = principal.Identity?.Name ?? principal.FindFirst("sub")?.Value ?? "unknown";
        var claims = new List<Claim> { new(ClaimTypes.Name, name), new(isToken ? DeskUser.BearerClaim : DeskUser.ApiKeyClaim, credential) };
        claims.AddRange(principal.FindAll("roles").Select(r => new Claim("roles", r.Value)));
        claims.Add(new Claim("tenant", own ?? "default"));
        if (own == "*")
        {
            claims.Add(new Claim(DeskUser.TenantHeaderClaim, tenant));
        }

        await context.SignInAsync(CookieScheme, new ClaimsPrincipal(new ClaimsIdentity(claims, CookieScheme, ClaimTypes.Name, "roles")));
        return Results.Redirect(Path);
    }
}
