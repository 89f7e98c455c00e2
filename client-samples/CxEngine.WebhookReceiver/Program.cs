using System.Globalization;
using CxEngine.WebhookReceiver;

// dotnet run --project client-samples/CxEngine.WebhookReceiver -- --Secret whsec_... [--urls http://127.0.0.1:8088] [--WebhookPath /cx-webhooks]
// dotnet run --project client-samples/CxEngine.WebhookReceiver -- new-secret      (prints a fresh secret for both sides)
if (args is ["new-secret"])
{
    Console.WriteLine("whsec_" + Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)));
    return 0;
}

var builder = WebApplication.CreateBuilder(args);
builder.Logging.SetMinimumLevel(LogLevel.Warning);
var secret = builder.Configuration["Secret"] ?? Environment.GetEnvironmentVariable("CX_WEBHOOK_SECRET");
if (string.IsNullOrEmpty(secret))
{
    Console.Error.WriteLine("usage: CxEngine.WebhookReceiver --Secret whsec_... [--urls http://127.0.0.1:8088] [--WebhookPath /cx-webhooks]  (or CX_WEBHOOK_SECRET)");
    return 2;
}

if (string.IsNullOrEmpty(builder.Configuration["urls"]))
{
    builder.WebHost.UseUrls("http://127.0.0.1:8088");
}

var app = builder.Build();
var path = app.Configuration["WebhookPath"] ?? "/cx-webhooks";
app.MapCxWebhooks(path, secret, received =>
{
    var a = received.Action;
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"#{a.Sequence} {a.Change} {a.ActionId} (rev {a.Revision}) {a.Tier}/{a.Severity} {a.Status}: score {a.Score:F1}, baseline {a.Baseline:F1}"));
    return Task.CompletedTask;
});
app.Lifetime.ApplicationStarted.Register(() => Console.WriteLine($"receiving CxEngine webhooks at {string.Join(", ", app.Urls)}{path}"));
await app.RunAsync();
return 0;
