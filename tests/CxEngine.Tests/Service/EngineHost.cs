using System.Net;
using System.Net.Sockets;
using CxEngine.Silo.Hosting;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using V1 = CxEngine.Contracts.V1;

namespace CxEngine.Tests.Service;

/// <summary>
/// The real engine host (the same builder Program.cs uses) on loopback ports of its own, with clients
/// on a real HTTP/2 channel. Several can run side by side; two on one data directory reopen the same state.
/// </summary>
public sealed class EngineHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private EngineHost(WebApplication app, string url)
    {
        _app = app;
        Url = url;
        Channel = GrpcChannel.ForAddress(url);
        Ingest = new V1.Ingest.IngestClient(Channel);
        Scores = new V1.Scores.ScoresClient(Channel);
        Policies = new V1.Policies.PoliciesClient(Channel);
        Recovery = new V1.Recovery.RecoveryClient(Channel);
    }

    public V1.Recovery.RecoveryClient Recovery { get; }

    public string Url { get; }

    /// <summary>The HTTP/1.1 operator endpoint: /metrics, /dashboard.</summary>
    public string OperatorUrl { get; init; } = "";

    /// <summary>The REST/JSON listener (HTTP/1.1): the transcoded routes, /openapi.json, /healthz, /readyz.</summary>
    public string HttpUrl { get; init; } = "";

    public GrpcChannel Channel { get; }

    public V1.Ingest.IngestClient Ingest { get; }

    public V1.Scores.ScoresClient Scores { get; }

    public V1.Policies.PoliciesClient Policies { get; }

    public IServiceProvider Services => _app.Services;

    public static WebApplication Build(string dataDirectory, params string[] extraArgs) => Build(dataDirectory, null, extraArgs);

    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<WebApplication, string[]> Arguments = [];

    private static string[] DefaultArgs(WebApplication app) => Arguments.TryGetValue(app, out var args) ? args : [];

    public static WebApplication Build(string dataDirectory, Action<WebApplicationBuilder>? configure, params string[] extraArgs)
    {
        string[] args =
        [
            $"--urls=http://127.0.0.1:{Ports.Free()}",
            $"--CxEngine:Operator:Url=http://127.0.0.1:{Ports.Free()}",
            $"--CxEngine:Http:Url=http://127.0.0.1:{Ports.Free()}",
            $"--CxEngine:Storage:DataDirectory={dataDirectory}",
            $"--CxEngine:Cluster:SiloPort={Ports.Free()}",
            $"--CxEngine:Cluster:GatewayPort={Ports.Free()}",
            $"--CxEngine:Cluster:ClusterId=test-{Guid.NewGuid():N}",
            "--Logging:LogLevel:Default=Warning",
            "--Logging:LogLevel:Orleans=Error",
            .. extraArgs,
        ];
        var app = CxEngineHost.Build(args, configure);
        Arguments.Add(app, args);
        return app;
    }

    public static Task<EngineHost> StartAsync(string dataDirectory, params string[] extraArgs) => StartAsync(dataDirectory, null, extraArgs);

    public static async Task<EngineHost> StartAsync(string dataDirectory, Action<WebApplicationBuilder>? configure, params string[] extraArgs)
    {
        var app = Build(dataDirectory, configure, extraArgs);
        await app.StartAsync();
        var configuration = app.Services.GetRequiredService<Microsoft.Extensions.Configuration.IConfiguration>();
        var url = DefaultArgs(app).Last(a => a.StartsWith("--urls=", StringComparison.Ordinal))["--urls=".Length..].Split(';')[0];
        var host = new EngineHost(app, url) { OperatorUrl = configuration["CxEngine:Operator:Url"]!, HttpUrl = configuration["CxEngine:Http:Url"]! };
        await host.WaitUntilServingAsync();
        return host;
    }

    public async Task WaitUntilServingAsync()
    {
        var health = new Health.HealthClient(Channel);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var status = (await health.CheckAsync(new HealthCheckRequest())).Status;
            if (status == HealthCheckResponse.Types.ServingStatus.Serving)
            {
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"the engine at {Url} did not report SERVING within 30 s (last: {status})");
            }

            await Task.Delay(100);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Channel.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

}

/// <summary>One engine for the service tests that do not restart it.</summary>
public sealed class EngineFixture : IAsyncLifetime
{
    private readonly TempDirectory _data = new("engine");

    public EngineHost Host { get; private set; } = null!;

    public async Task InitializeAsync() => Host = await EngineHost.StartAsync(_data.Path);

    public async Task DisposeAsync()
    {
        await Host.DisposeAsync();
        _data.Dispose();
    }
}

[CollectionDefinition(Name)]
public sealed class EngineCollection : ICollectionFixture<EngineFixture>
{
    public const string Name = "engine";
}
