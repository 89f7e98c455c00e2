using System.ComponentModel.DataAnnotations;
using CxEngine.Desk;
using CxEngine.Silo.Grpc;
using CxEngine.Silo.Ingest;
using CxEngine.Silo.Security;
using CxEngine.Silo.Tracing;
using OpenTelemetry.Metrics;
using Orleans.Dashboard;
using CxEngine.Silo.Services;
using CxEngine.Silo.Webhooks;
using CxEngine.Storage;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;

namespace CxEngine.Silo.Hosting;

/// <summary>
/// Builds the engine's process: Kestrel serving cx.v1 over HTTP/2 and the Orleans silo behind it.
/// Program.cs and the tests build the host the same way.
/// </summary>
public static class CxEngineHost
{
    public const string DefaultUrl = "http://localhost:50051";

    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        // Settings files ship beside the binary, so the engine reads the same ones from any working directory.
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = args,
            ContentRootPath = AppContext.BaseDirectory,
            // Named, not taken from the entry assembly: the tests host the engine in their own process.
            ApplicationName = typeof(CxEngineHost).Assembly.GetName().Name,
        });
        // The desk's script and the framework's web assets from a build's output (not only in Development; a published
        // engine carries them in its wwwroot instead, and this finds no manifest and does nothing).
        builder.WebHost.UseStaticWebAssets();
        configure?.Invoke(builder);

        // Storage, cluster, security and endpoint settings shape the host itself, so they are read and checked
        // once, before it is built, and the checked values are what the services get.
        var storage = BindAndValidate<StorageOptions>(builder.Configuration, StorageOptions.SectionName);
        var cluster = BindAndValidate<ClusterOptions>(builder.Configuration, ClusterOptions.SectionName);
        var security = BindAndValidate<SecurityOptions>(builder.Configuration, SecurityOptions.SectionName);
        var limits = BindAndValidate<LimitsOptions>(builder.Configuration, LimitsOptions.SectionName);
        var operatorEndpoint = BindAndValidate<OperatorOptions>(builder.Configuration, OperatorOptions.SectionName);
        var rest = BindAndValidate<HttpOptions>(builder.Configuration, HttpOptions.SectionName);
        var tracing = BindAndValidate<TracingOptions>(builder.Configuration, TracingOptions.SectionName);
        builder.Services.AddSingleton(Options.Create(security));
        builder.Services.AddSingleton(Options.Create(limits));
        AddOptions(builder.Services);
        builder.Services.AddCxWebhooks();

        // gRPC on HTTP/2 (h2c, or TLS for https URLs); --urls / ASPNETCORE_URLS override the address.
        var grpcUrls = Endpoints.Split(builder.Configuration[WebHostDefaults.ServerUrlsKey] is { Length: > 0 } urls ? urls : DefaultUrl);
        string[] allUrls =
        [
            .. grpcUrls,
            .. string.IsNullOrEmpty(operatorEndpoint.Url) ? [] : new[] { operatorEndpoint.Url },
            .. string.IsNullOrEmpty(rest.Url) ? [] : new[] { rest.Url },
        ];
        if (!security.HasCredentials && allUrls.FirstOrDefault(u => !Endpoints.IsLoopback(u)) is { } exposed)
        {
            throw new InvalidOperationException(
                $"refusing to listen on {exposed} without credentials: anyone who can reach it could read and change every customer. " +
                "Configure CxEngine:Security:ApiKeys or CxEngine:Security:Jwt (see the README, \"Exposing CxEngine\"), or listen on loopback only.");
        }

        // The endpoints are configured below, each with its protocol; the plain URL list must not also be bound.
        builder.WebHost.UseSetting(WebHostDefaults.ServerUrlsKey, string.Empty);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            foreach (var url in grpcUrls)
            {
                Endpoints.Listen(kestrel, url, HttpProtocols.Http2, Listener.Grpc);
            }

            if (!string.IsNullOrEmpty(operatorEndpoint.Url))
            {
                Endpoints.Listen(kestrel, operatorEndpoint.Url, HttpProtocols.Http1, Listener.Operator);
            }

            if (!string.IsNullOrEmpty(rest.Url))
            {
                // HTTP/1.1 for every HTTP stack, and HTTP/2 too over TLS (chosen by ALPN). Kestrel cannot offer both on
                // one clear-text port, so a plain http URL is HTTP/1.1 only (asking for both would warn at every start).
                var protocols = rest.Url.StartsWith("https:", StringComparison.OrdinalIgnoreCase) ? HttpProtocols.Http1AndHttp2 : HttpProtocols.Http1;
                Endpoints.Listen(kestrel, rest.Url, protocols, Listener.Rest);
            }
        });
        builder.UseOrleans(silo =>
        {
            UseClustering(silo, storage, cluster);
            // Failure-detection timings (ProbeTimeout, NumMissedProbesLimit, ...) can be tuned under CxEngine:Cluster:Membership.
            silo.Services.Configure<Orleans.Configuration.ClusterMembershipOptions>(
                builder.Configuration.GetSection($"{ClusterOptions.SectionName}:Membership"));
            // ... and grain-call timeouts (ResponseTimeout, ...) under CxEngine:Cluster:Messaging.
            silo.Services.Configure<Orleans.Configuration.SiloMessagingOptions>(
                builder.Configuration.GetSection($"{ClusterOptions.SectionName}:Messaging"));
            silo.AddCxEngineGrains(storage);
            EngineTracing.Add(builder, silo, tracing);
            if (operatorEndpoint.Dashboard)
            {
                silo.AddDashboard();
            }
        });

        if (!string.IsNullOrEmpty(rest.Url))
        {
            // The recovery desk, on the REST listener: it calls this engine's own gRPC services with each person's credential.
            builder.Services.AddCxDesk(new DeskOptions
            {
                EngineUrl = Endpoints.LoopbackOf(grpcUrls[0]),
                Open = !security.HasCredentials,
                CredentialScheme = CxAuthentication.Scheme,
            });
        }

        builder.Services.AddSingleton<CustomerDispatcher>();
        builder.Services.AddSingleton<EventAdmission>();
        builder.Services.AddSingleton<Replay.RescoreRunner>();
        builder.Services.AddSingleton(sp => new EventValidation(
            sp.GetRequiredKeyedService<TimeProvider>(EngineClock.Key),
            sp.GetRequiredService<IOptions<IngestOptions>>().Value.MaxClockSkewSeconds));
        CxAuthentication.Add(builder.Services, security);
        builder.Services.AddAuthorization();
        builder.Services.AddSingleton<CallerLimits>();
        builder.Services.AddGrpc(grpc =>
        {
            grpc.Interceptors.Add<ErrorInterceptor>();
            grpc.EnableDetailedErrors = false;
            grpc.MaxReceiveMessageSize = limits.MaxMessageBytes;
        }).AddJsonTranscoding(json =>
        {
            // Error bodies are the google.rpc.Status of the gRPC error, with its BadRequest naming the field.
            json.TypeRegistry = Google.Protobuf.Reflection.TypeRegistry.FromMessages(Google.Rpc.BadRequest.Descriptor);
        });
        RestApi.AddOpenApi(builder.Services);
        builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics
            .AddMeter(EngineMetrics.MeterName, "Microsoft.Orleans", "System.Runtime")
            .AddPrometheusExporter());
        builder.Services.AddGrpcReflection();
        // NOT_SERVING unless the silo is an active member and its storage writer is working.
        builder.Services.AddGrpcHealthChecks()
            .AddCheck<SiloHealthCheck>("silo")
            .AddCheck<StorageHealthCheck>("storage");

        // Last of the gRPC registrations: every AddGrpc* call above re-adds grpc-dotnet's default method provider.
        StrictParsing.Register(builder.Services);

        var app = builder.Build();
        if (storage.Provider == StorageProvider.Memory)
        {
            app.Logger.LogWarning("STORAGE IS MEMORY: nothing is durable, every score is lost when this process stops. Use it for benchmarks only.");
        }
        else if (storage.Provider == StorageProvider.None)
        {
            app.Logger.LogWarning("STORAGE IS NONE: customers' events are acknowledged and never stored. Use it to measure the engine without storage, never for anything else.");
        }
        else
        {
            // Which database this engine works on, so that a second run on the same data is never a surprise.
            app.Logger.LogInformation("Storage: {Database} (start from nothing with another --CxEngine:Storage:DataDirectory, or after deleting it)",
                storage.Provider == StorageProvider.PostgreSql
                    ? $"PostgreSQL, {new Npgsql.NpgsqlConnectionStringBuilder(storage.EffectiveConnectionString) { Password = null }.ToString()}"
                    : $"SQLite database {storage.SqliteDatabasePath}");
        }

        if (!security.HasCredentials)
        {
            app.Logger.LogWarning("No credentials configured: CxEngine runs OPEN (every caller has every role) and listens on loopback only ({Urls}).", string.Join(", ", allUrls));
        }

        app.Use(Listeners.Filter(limits.MaxMessageBytes));
        app.Use(RestApi.NewlineDelimitedStreams);
        app.UseAuthentication();
        app.UseAuthorization();
        app.Use(RestBodies.Check(limits.MaxMessageBytes, app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("CxEngine.Rest")));
        if (!string.IsNullOrEmpty(rest.Url))
        {
            app.UseAntiforgery();
            app.MapStaticAssets().Add(e => e.Metadata.Add(new RestListenerOnly()));
            app.MapCxDesk(endpoints => endpoints.Add(e => e.Metadata.Add(new RestListenerOnly())));
        }

        app.MapGrpcService<IngestService>();
        app.MapGrpcService<ScoresService>();
        app.MapGrpcService<PoliciesService>();
        app.MapGrpcService<RecoveryService>();
        app.MapGrpcHealthChecksService().AllowAnonymous();
        app.MapGrpcReflectionService().RequireAuthorization();
        RestApi.Map(app);
        if (!string.IsNullOrEmpty(operatorEndpoint.Url))
        {
            var operatorHost = $"*:{BindingAddress.Parse(operatorEndpoint.Url).Port}";
            app.MapPrometheusScrapingEndpoint().RequireHost(operatorHost);
            if (operatorEndpoint.Dashboard)
            {
                app.MapOrleansDashboard(routePrefix: "/dashboard").RequireHost(operatorHost).RequireAuthorization(p => p.RequireRole(Roles.Admin));
            }
        }

        return app;
    }

    /// <summary>
    /// SQLite and memory keep state on one machine, so the silo is a cluster of one. With PostgreSQL the
    /// silos sharing the database find each other through Orleans' ADO.NET membership table.
    /// </summary>
    private static void UseClustering(ISiloBuilder silo, StorageOptions storage, ClusterOptions cluster)
    {
        if (storage.Provider != StorageProvider.PostgreSql)
        {
            silo.UseLocalhostClustering(cluster.SiloPort, cluster.GatewayPort, serviceId: cluster.ServiceId, clusterId: cluster.ClusterId);
            return;
        }

        silo.Configure<Orleans.Configuration.ClusterOptions>(o =>
        {
            o.ServiceId = cluster.ServiceId;
            o.ClusterId = cluster.ClusterId;
        });
        silo.ConfigureEndpoints(System.Net.IPAddress.Parse(cluster.AdvertisedAddress), cluster.SiloPort, cluster.GatewayPort, listenOnAnyHostAddress: true);
        silo.UseAdoNetClustering(o =>
        {
            o.Invariant = CxStorage.PostgreSqlInvariant;
            o.ConnectionString = storage.EffectiveConnectionString;
        });
    }

    private static void AddOptions(IServiceCollection services)
    {
        services.AddOptions<EngineOptions>().BindConfiguration(EngineOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IValidateOptions<EngineOptions>, EngineOptionsValidator>();
        services.AddOptions<IngestOptions>().BindConfiguration(IngestOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
    }

    private static T BindAndValidate<T>(IConfiguration configuration, string section)
        where T : class, new()
    {
        var options = configuration.GetSection(section).Get<T>() ?? new T();
        var results = new List<ValidationResult>();
        if (!Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true))
        {
            throw new OptionsValidationException(section, typeof(T),
                results.Select(r => $"{section}:{string.Join(",", r.MemberNames)}: {r.ErrorMessage}"));
        }

        return options;
    }
}
