using CxEngine.Recovery;
using CxEngine.Storage;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using Polly;

namespace CxEngine.Silo.Webhooks;

public static class WebhookRegistration
{
    /// <summary>
    /// Signed webhooks for recovery actions: the validated "CxEngine:Webhooks" settings (a bad one stops the host at
    /// start, naming it), the HTTP client (IHttpClientFactory; retries with exponential back-off and jitter by
    /// Microsoft.Extensions.Http.Resilience, never giving up; a timeout per attempt; signing inside the retries),
    /// the stored positions, the dispatcher in the silo's lifecycle and its metrics.
    /// </summary>
    public static IServiceCollection AddCxWebhooks(this IServiceCollection services)
    {
        services.AddOptions<WebhookOptions>().BindConfiguration(WebhookOptions.SectionName).ValidateOnStart();
        services.AddSingleton<IValidateOptions<WebhookOptions>, WebhookOptionsValidator>();

        services.AddTransient<WebhookSigningHandler>();
        var client = services.AddHttpClient(WebhookDispatcher.HttpClientName, client => client.Timeout = Timeout.InfiniteTimeSpan);
        client.AddResilienceHandler("cx-webhook-retries", (pipeline, context) =>
            {
                var options = context.ServiceProvider.GetRequiredService<IOptions<WebhookOptions>>().Value;
                pipeline.AddRetry(new HttpRetryStrategyOptions
                {
                    MaxRetryAttempts = int.MaxValue,
                    BackoffType = DelayBackoffType.Exponential,
                    UseJitter = true,
                    Delay = options.RetryBaseDelay,
                    MaxDelay = options.RetryMaxDelay,
                    // Every failure is retried (API.md: "until the endpoint answers 2xx"), except the delivery's own cancellation.
                    ShouldHandle = args => ValueTask.FromResult(!args.Context.CancellationToken.IsCancellationRequested && args.Outcome switch
                    {
                        { Exception: WebhookEntryErasedException } => false,
                        { Exception: not null } => true,
                        { Result.IsSuccessStatusCode: false } => true,
                        _ => false,
                    }),
                });
                pipeline.AddTimeout(options.AttemptTimeout);
            });
        // Added after the resilience handler, so it sits inside it and runs once per attempt.
        client.AddHttpMessageHandler<WebhookSigningHandler>();

        services.AddSingleton(sp => new WebhookPositions(sp.GetRequiredService<CxDatabase>()));
        services.AddSingleton<WebhookDispatcher>();
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<WebhookDispatcher>());
        return services;
    }
}
