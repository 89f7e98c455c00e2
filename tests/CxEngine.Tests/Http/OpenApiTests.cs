using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using CxEngine.Tests.Service;

namespace CxEngine.Tests.Http;

/// <summary>
/// The OpenAPI document is generated from the annotated protos (Swashbuckle with Microsoft.AspNetCore.Grpc.Swagger),
/// served at /openapi.json, and checked in as contracts/openapi.json. These tests keep the three in step.
/// </summary>
[Collection(EngineCollection.Name)]
public sealed partial class OpenApiTests(EngineFixture fixture)
{
    /// <summary>Rewrites contracts/openapi.json from the served document instead of failing (see contracts/README.md).</summary>
    private const string UpdateVariable = "CXENGINE_UPDATE_OPENAPI";

    [Fact]
    public async Task TheCheckedInDocument_IsWhatTheEngineServes()
    {
        var served = await ServedAsync();
        var path = Path.Combine(RepositoryRoot(), "contracts", "openapi.json");
        if (Environment.GetEnvironmentVariable(UpdateVariable) == "1")
        {
            await File.WriteAllTextAsync(path, served.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }) + "\n");
        }

        Assert.True(File.Exists(path), $"{path} is missing: run `{UpdateVariable}=1 dotnet test tests/CxEngine.Tests --filter OpenApiTests`");
        var checkedIn = JsonNode.Parse(await File.ReadAllTextAsync(path));
        Assert.True(JsonNode.DeepEquals(checkedIn, served),
            $"contracts/openapi.json differs from the served /openapi.json: regenerate it with `{UpdateVariable}=1 dotnet test tests/CxEngine.Tests --filter OpenApiTests`");
    }

    [Fact]
    public async Task EveryRouteOfApiMd_IsInTheDocument_WithItsMethod()
    {
        // The routes are kept in contracts/README.md, so a fresh clone (which has no ../shared) checks them too;
        // where API.md lies beside the checkout, that table must still hold every route of API.md's.
        var routes = await RoutesAsync(Path.Combine(RepositoryRoot(), "contracts", "README.md"));
        Assert.True(routes.Length >= 16, $"only {routes.Length} routes read from contracts/README.md's REST routes table");
        var apiMd = Path.Combine(RepositoryRoot(), "..", "shared", "domain", "API.md");
        if (File.Exists(apiMd))
        {
            var missing = (await RoutesAsync(apiMd)).Except(routes).ToArray();
            Assert.True(missing.Length == 0, $"contracts/README.md lacks API.md's routes {string.Join(", ", missing)}");
        }

        var paths = (await ServedAsync())["paths"]!.AsObject().ToDictionary(p => Normalize(p.Key), p => p.Value!.AsObject());
        foreach (var (method, path, rpc) in routes)
        {
            Assert.True(paths.TryGetValue(Normalize(path), out var operations), $"{method.ToUpperInvariant()} {path} ({rpc}) is not in /openapi.json; it has {string.Join(", ", paths.Keys)}");
            Assert.True(operations.ContainsKey(method), $"{path} has no {method.ToUpperInvariant()} ({rpc}) in /openapi.json");
        }
    }

    private static async Task<(string Method, string Path, string Rpc)[]> RoutesAsync(string file) =>
        [.. Route().Matches(await File.ReadAllTextAsync(file))
            .Select(m => (Method: m.Groups["method"].Value.ToLowerInvariant(), Path: m.Groups["path"].Value, Rpc: m.Groups["rpc"].Value))];

    private async Task<JsonNode> ServedAsync()
    {
        using var http = Rest.Client(fixture.Host);
        var response = await http.GetAsync("/openapi.json");
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        var document = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.StartsWith("3.", document["openapi"]!.GetValue<string>(), StringComparison.Ordinal);
        return document;
    }

    /// <summary>Path parameters are named in JSON case in the document ({customerId}) and in proto case in API.md.</summary>
    private static string Normalize(string path) => Parameter().Replace(path, "{}");

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "CxEngine.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("CxEngine.sln not found above the test binaries");
    }

    // | `GET /v1/customers/{customer_id}/score` | `Scores.GetScore` |
    [GeneratedRegex(@"^\|\s*`(?<method>GET|POST|PUT|DELETE|PATCH) (?<path>/[^` ]+)`[^|]*\|\s*`(?<rpc>\w+\.\w+)`", RegexOptions.Multiline)]
    private static partial Regex Route();

    [GeneratedRegex(@"\{[^}]+\}")]
    private static partial Regex Parameter();
}
