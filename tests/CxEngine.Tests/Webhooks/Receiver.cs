using System.Collections.Concurrent;
using CxEngine.WebhookReceiver;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace CxEngine.Tests.Webhooks;

/// <summary>
/// A real webhook receiver on a loopback port of its own (Kestrel), serving the sample's verifying endpoint
/// (client-samples/CxEngine.WebhookReceiver: Standard Webhooks signatures checked by the StandardWebhooks package,
/// not by the engine's code). It can be stopped and started again on the same port, or made to answer 503.
/// </summary>
internal sealed class Receiver : IAsyncDisposable
{
    public const string Path = "/cx-webhooks";

    private readonly string _secret;
    private WebApplication? _app;

    public Receiver(string secret)
    {
        _secret = secret;
        Port = Ports.Free();
    }

    public static string NewSecret() => "whsec_" + Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));

    public int Port { get; }

    public string Url => $"http://127.0.0.1:{Port}{Path}";

    /// <summary>Answer every request 503 before looking at it, as an endpoint that is up but failing.</summary>
    public bool Unavailable { get; set; }

    /// <summary>What the sample's endpoint handed on: each entry once, in the order handled.</summary>
    public ConcurrentQueue<ReceivedWebhook> Handled { get; } = new();

    /// <summary>Every POST that reached the receiver, with the status it was answered.</summary>
    public ConcurrentQueue<(string Id, int Status)> Requests { get; } = new();

    public async Task StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel().UseUrls($"http://127.0.0.1:{Port}");
        var app = builder.Build();
        app.Use(async (HttpContext context, RequestDelegate next) =>
        {
            var id = context.Request.Headers["webhook-id"].ToString();
            if (Unavailable)
            {
                context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            }
            else
            {
                await next(context);
            }

            Requests.Enqueue((id, context.Response.StatusCode));
        });
        app.MapCxWebhooks(Path, _secret, received =>
        {
            Handled.Enqueue(received);
            return Task.CompletedTask;
        });
        await app.StartAsync();
        _app = app;
    }

    public async Task StopAsync()
    {
        if (_app is { } app)
        {
            _app = null;
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    public async Task<IReadOnlyList<ReceivedWebhook>> WaitForAsync(int count, string what, int seconds = 30)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (Handled.Count < count)
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"no {what} within {seconds} s: handled {Handled.Count} of {count} " +
                    $"({string.Join(", ", Handled.Select(h => h.Id))}); requests {string.Join(", ", Requests.Select(r => $"{r.Id}={r.Status}"))}");
            }

            await Task.Delay(50);
        }

        return [.. Handled];
    }

    public ValueTask DisposeAsync() => new(StopAsync());
}
