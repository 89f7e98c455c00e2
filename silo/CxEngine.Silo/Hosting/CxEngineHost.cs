using System.ComponentModel.DataAnnotations;
using CxEngine.Silo.Grpc;
using CxEngine.Silo.Ingest;
using CxEngine.Silo.Services;
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
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        configure?.Invoke(builder);

        // gRPC without TLS needs HTTP/2 only (h2c); --urls / ASPNETCORE_URLS override the address.
        if (string.IsNullOrEmpty(builder.Configuration[WebHostDefaults.ServerUrlsKey]))
        {
            builder.WebHost.UseUrls(DefaultUrl);
        }

        builder.WebHost.ConfigureKestrel(kestrel => kestrel.ConfigureEndpointDefaults(endpoint => endpoint.Protocols = HttpProtocols.Http2));

        AddOptions(builder.Services);

        // Storage and cluster settings shape the silo itself, so they are read and checked before it is built.
        var storage = BindAndValidate<StorageOptions>(builder.Configuration, StorageOptions.SectionName);
        var cluster = BindAndValidate<ClusterOptions>(builder.Configuration, ClusterOptions.SectionName);
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
        });

        builder.Services.AddSingleton<CustomerDispatcher>();
        builder.Services.AddSingleton(sp => new EventValidation(
            sp.GetRequiredKeyedService<TimeProvider>(EngineClock.Key),
            sp.GetRequiredService<IOptions<IngestOptions>>().Value.MaxClockSkewSeconds));
        builder.Services.AddGrpc(grpc =>
        {
            grpc.Interceptors.Add<ErrorInterceptor>();
            grpc.EnableDetailedErrors = false;
        });
        builder.Services.AddGrpcReflection();
        builder.Services.AddGrpcHealthChecks().AddCheck<SiloHealthCheck>("silo");

        var app = builder.Build();
        if (storage.Provider == StorageProvider.Memory)
        {
            app.Logger.LogWarning("STORAGE IS MEMORY: nothing is durable, every score is lost when this process stops. Use it for benchmarks only.");
        }

        app.MapGrpcService<IngestService>();
        app.MapGrpcService<ScoresService>();
        app.MapGrpcService<PoliciesService>();
        app.MapGrpcService<RecoveryService>();
        app.MapGrpcHealthChecksService();
        app.MapGrpcReflectionService();
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
        services.AddOptions<CustomerLimits>().BindConfiguration($"{EngineOptions.SectionName}:Customers").ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<IngestOptions>().BindConfiguration(IngestOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<StorageOptions>().BindConfiguration(StorageOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<ClusterOptions>().BindConfiguration(ClusterOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
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
