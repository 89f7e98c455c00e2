using System.Security.Claims;
using System.Security.Cryptography;
using CxEngine.Silo.Security;
using Grpc.Core;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace CxEngine.Tests.Security;

/// <summary>API keys (one per role) and a JWT signing key for a host under test, and the metadata a client sends.</summary>
internal static class Credentials
{
    public const string Issuer = "https://idp.test";
    public static readonly byte[] SigningKey = RandomNumberGenerator.GetBytes(32);

    public static string KeyFor(string role) => $"test-key-{role}-0123456789";

    /// <summary>Host arguments: one API key per role (named by the role), plus "all" with every role, plus the JWT settings.</summary>
    public static string[] HostArgs(params string[] extra)
    {
        var args = new List<string>();
        var i = 0;
        foreach (var role in Roles.All)
        {
            args.Add($"--CxEngine:Security:ApiKeys:{i}:Name={role}");
            args.Add($"--CxEngine:Security:ApiKeys:{i}:Sha256={CxAuthentication.Hash(KeyFor(role))}");
            args.Add($"--CxEngine:Security:ApiKeys:{i}:Roles:0={role}");
            i++;
        }

        args.Add($"--CxEngine:Security:ApiKeys:{i}:Name=all");
        args.Add($"--CxEngine:Security:ApiKeys:{i}:Sha256={CxAuthentication.Hash(KeyFor("all"))}");
        for (var r = 0; r < Roles.All.Length; r++)
        {
            args.Add($"--CxEngine:Security:ApiKeys:{i}:Roles:{r}={Roles.All[r]}");
        }

        args.Add($"--CxEngine:Security:Jwt:Issuer={Issuer}");
        args.Add($"--CxEngine:Security:Jwt:SigningKey={Convert.ToBase64String(SigningKey)}");
        args.AddRange(extra);
        return [.. args];
    }

    /// <summary>The API key of a named test caller (each test host configures the ones it needs by <see cref="KeyArgs"/>).</summary>
    public static string NamedKey(string name) => $"tenant-test-key-{name}-0123456789";

    /// <summary>Host arguments for the named caller's key at position <paramref name="index"/>: name, hash, tenant (when given), roles.</summary>
    public static IEnumerable<string> KeyArgs(int index, string name, string? tenant, params string[] roles)
    {
        yield return $"--CxEngine:Security:ApiKeys:{index}:Name={name}";
        yield return $"--CxEngine:Security:ApiKeys:{index}:Sha256={CxAuthentication.Hash(NamedKey(name))}";
        if (tenant is not null)
        {
            yield return $"--CxEngine:Security:ApiKeys:{index}:Tenant={tenant}";
        }

        for (var r = 0; r < roles.Length; r++)
        {
            yield return $"--CxEngine:Security:ApiKeys:{index}:Roles:{r}={roles[r]}";
        }
    }

    public static Metadata ApiKey(string key) => new() { { CxAuthentication.ApiKeyHeader, key } };

    public static Metadata Bearer(string token) => new() { { "authorization", $"Bearer {token}" } };

    public static string Token(string role, TimeSpan? lifetime = null, byte[]? signingKey = null, string issuer = Issuer, DateTime? now = null)
    {
        var issued = now ?? DateTime.UtcNow;
        var expires = issued + (lifetime ?? TimeSpan.FromMinutes(10));
        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = "cxengine",
            Subject = new ClaimsIdentity([new Claim("sub", $"svc-{role}"), new Claim("roles", role)]),
            IssuedAt = issued,
            NotBefore = issued,
            Expires = expires,
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(signingKey ?? SigningKey), SecurityAlgorithms.HmacSha256),
        });
    }
}
