using System.ComponentModel.DataAnnotations;
using System.Diagnostics;
using CxEngine.Storage;
using Microsoft.Extensions.Logging.Console;
using OpenTelemetry.Exporter;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Orleans.Diagnostics;

namespace CxEngine.Silo.Tracing;

/// <summary>Distributed tracing (API.md, "Traces"), bound from "CxEngine:Tracing". Off unless an endpoint is set.</summary>
public sealed class TracingOptions : IValidatableObject
{
    public const string SectionName = "CxEngine:Tracing";

    /// <summary>
    /// The OTLP/HTTP receiver (a collector, Jaeger, Tempo...), e.g. http://127.0.0.1:4318: spans are sent to its
    /// /v1/traces in protobuf. Empty (the default): no spans are made at all, and nothing listens for them.
    /// </summary>
    public string? OtlpEndpoint { get; set; }

    /// <summary>The share of traces recorded when the caller did not decide (no sampled traceparent). A caller's decision is kept.</summary>
    [Range(0.0, 1.0)]
    public double SampleRatio { get; set; } = 0.01;

    /// <summary>service.name of the spans.</summary>
    [Required(AllowEmptyStrings = false)]
    public string ServiceName { get; set; } = "cxengine";

    public bool Enabled => !string.IsNullOrWhiteSpace(OtlpEndpoint);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Enabled && !(Uri.TryCreate(OtlpEndpoint, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"))
        {
            yield return new ValidationResult(
                $"must be an absolute http or https URL of an OTLP/HTTP receiver (e.g. http://127.0.0.1:4318), got '{OtlpEndpoint}'",
                [nameof(OtlpEndpoint)]);
        }
    }

    /// <summary>Where spans are posted: the endpoint's /v1/traces (OTLP/HTTP's path for traces).</summary>
    public Uri TracesUri => new(new Uri(OtlpEndpoint!.TrimEnd('/') + "/"), "v1/traces");
}

/// <summary>The engine's own spans, and how tracing is switched on.</summary>
public static class EngineTracing
{
    /// <summary>The ingest path: one span per grain call of the per-customer dispatch (<c>cx.dispatch</c>).</summary>
    public static readonly ActivitySource Ingest = new("CxEngine.Ingest");

    /// <summary>Webhook delivery: one span per entry delivered (<c>cx.webhook.deliver</c>), around its POST.</summary>
    public static readonly ActivitySource Webhooks = new("CxEngine.Webhooks");

    /// <summary>
    /// Spans through the service (ASP.NET Core: a caller's traceparent is honoured), the dispatch, the grain call
    /// (Orleans' activity propagation), the storage commit and the webhook POST, exported over OTLP/HTTP; the trace
    /// and span ids in every log line's scope. Nothing of it is registered when tracing is off.
    /// </summary>
    public static void Add(WebApplicationBuilder builder, ISiloBuilder silo, TracingOptions options)
    {
        if (!options.Enabled)
        {
            return;
        }

        silo.AddActivityPropagation();
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(options.ServiceName, serviceInstanceId: Environment.MachineName + ":" + Environment.ProcessId))
            .WithTracing(tracing => tracing
                .AddSource(Ingest.Name, Webhooks.Name, StorageTracing.SourceName)
                .AddSource(ActivitySources.ApplicationGrainActivitySourceName)
                .AddAspNetCoreInstrumentation(aspnet => aspnet.Filter = context => !IsOperatorPath(context.Request.Path))
                .AddHttpClientInstrumentation()
                .SetSampler(new ParentBasedSampler(new TraceIdRatioBasedSampler(options.SampleRatio)))
                .AddOtlpExporter(otlp =>
                {
                    otlp.Endpoint = options.TracesUri;
                    otlp.Protocol = OtlpExportProtocol.HttpProtobuf;
                }));
        builder.Services.Configure<SimpleConsoleFormatterOptions>(console => console.IncludeScopes = true);
        builder.Logging.Configure(logging => logging.ActivityTrackingOptions = ActivityTrackingOptions.TraceId | ActivityTrackingOptions.SpanId);
    }

    // Scrapes and probes would fill the traces with nothing of interest.
    private static bool IsOperatorPath(PathString path) =>
        path.StartsWithSegments("/metrics") || path.StartsWithSegments("/healthz") || path.StartsWithSegments("/readyz");
}
