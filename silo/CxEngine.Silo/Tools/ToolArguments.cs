using System.Globalization;

namespace CxEngine.Silo.Tools;

/// <summary>The arguments of a tool verb: positionals and <c>--name value</c> options (<c>--flag</c> alone is "true").</summary>
public sealed class ToolArguments
{
    private readonly Dictionary<string, string> _options = new(StringComparer.Ordinal);

    private ToolArguments()
    {
    }

    public List<string> Positionals { get; } = [];

    public static ToolArguments Parse(IReadOnlyList<string> args, params string[] flags)
    {
        var parsed = new ToolArguments();
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (!arg.StartsWith("--", StringComparison.Ordinal))
            {
                parsed.Positionals.Add(arg);
                continue;
            }

            var name = arg[2..];
            var equals = name.IndexOf('=', StringComparison.Ordinal);
            if (equals > 0)
            {
                parsed._options[name[..equals]] = name[(equals + 1)..];
            }
            else if (flags.Contains(name) || i + 1 >= args.Count)
            {
                parsed._options[name] = "true";
            }
            else
            {
                parsed._options[name] = args[++i];
            }
        }

        return parsed;
    }

    public string? Get(string name) => _options.GetValueOrDefault(name);

    /// <summary>A flag given (<c>--strict</c>, or <c>--strict=true</c>).</summary>
    public bool Has(string name) => _options.TryGetValue(name, out var value) && value is not ("false" or "0");

    public string Get(string name, string fallback) => _options.GetValueOrDefault(name) ?? fallback;

    public int GetInt(string name, int fallback, int min, int max)
    {
        if (Get(name) is not { } text)
        {
            return fallback;
        }

        return int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max
            ? value
            : throw new ArgumentException($"--{name}: must be a whole number from {min} to {max}, got '{text}'");
    }
}

/// <summary>
/// Where a tool finds the engine, how it signs in, and (with a platform key) the tenant it acts for (<c>--tenant</c>,
/// sent as x-cx-tenant; a tenant's own key acts for its tenant without it).
/// </summary>
public sealed record EngineConnection(string Url, string? ApiKey, string? Tenant = null)
{
    public static EngineConnection From(ToolArguments args) => Create(args.Get("url"), args.Get("api-key"), args.Get("tenant"));

    /// <summary>The engine at <paramref name="url"/> (default: the engine's own default gRPC address), with the key given or CXENGINE_API_KEY.</summary>
    public static EngineConnection Create(string? url, string? apiKey, string? tenant = null) =>
        new(url ?? Hosting.CxEngineHost.DefaultUrl, apiKey ?? Environment.GetEnvironmentVariable("CXENGINE_API_KEY"),
            tenant is null ? null : Customers.Tenants.Check(tenant) is { } problem ? throw new ArgumentException($"--tenant: {problem}") : tenant);

    public global::Grpc.Net.Client.GrpcChannel OpenChannel() => global::Grpc.Net.Client.GrpcChannel.ForAddress(Url,
        new global::Grpc.Net.Client.GrpcChannelOptions { MaxReceiveMessageSize = 16 * 1024 * 1024 });

    /// <summary>The credentials as call metadata (sent on plain HTTP too, where call credentials are not).</summary>
    public global::Grpc.Core.Metadata Headers()
    {
        var headers = new global::Grpc.Core.Metadata();
        if (!string.IsNullOrEmpty(ApiKey))
        {
            headers.Add(Security.CxAuthentication.ApiKeyHeader, ApiKey);
        }

        if (!string.IsNullOrEmpty(Tenant))
        {
            headers.Add(Security.CallerTenant.Header, Tenant);
        }

        return headers;
    }
}

/// <summary>The console tools write to: the terminal, or (redirected) lines wide enough not to be wrapped.</summary>
public static class ToolConsole
{
    public static Spectre.Console.IAnsiConsole Create()
    {
        var console = Spectre.Console.AnsiConsole.Console;
        if (Console.IsOutputRedirected)
        {
            console.Profile.Width = 400;
        }

        return console;
    }
}
