using CxEngine.Tests.Service;
using Microsoft.Extensions.Options;

namespace CxEngine.Tests.Webhooks;

public sealed class WebhookSettingsTests
{
    private static readonly string Good = "whsec_" + Convert.ToBase64String(new byte[24]);

    [Theory]
    [InlineData("not a url", null, "CxEngine:Webhooks:Endpoints:0:Url")]
    [InlineData("/relative/path", null, "CxEngine:Webhooks:Endpoints:0:Url")]
    [InlineData("ftp://files.example.com/hooks", null, "CxEngine:Webhooks:Endpoints:0:Url")]
    [InlineData("http://127.0.0.1:9/hook", "", "CxEngine:Webhooks:Endpoints:0:Secret")]
    [InlineData("http://127.0.0.1:9/hook", "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0", "CxEngine:Webhooks:Endpoints:0:Secret")] // no whsec_ prefix
    [InlineData("http://127.0.0.1:9/hook", "whsec_not*base64*at*all", "CxEngine:Webhooks:Endpoints:0:Secret")]
    [InlineData("http://127.0.0.1:9/hook", "whsec_MDEyMzQ1Njc4OTAxMjM0NTY3ODk=", "CxEngine:Webhooks:Endpoints:0:Secret")] // 20 bytes
    public async Task BadEndpoint_StopsTheHostAtStart_NamingTheSetting_WithoutShowingTheSecret(string url, string? secret, string named)
    {
        var error = await StartFailureAsync($"--CxEngine:Webhooks:Endpoints:0:Url={url}", $"--CxEngine:Webhooks:Endpoints:0:Secret={secret ?? Good}");

        Assert.Contains(named, error, StringComparison.Ordinal);
        if (secret is { Length: > 8 })
        {
            Assert.DoesNotContain(secret[6..], error, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task TwoEndpointsWithOneName_StopTheHost_NamingTheSecond()
    {
        var error = await StartFailureAsync(
            "--CxEngine:Webhooks:Endpoints:0:Url=http://127.0.0.1:9/a", $"--CxEngine:Webhooks:Endpoints:0:Secret={Good}", "--CxEngine:Webhooks:Endpoints:0:Name=desk",
            "--CxEngine:Webhooks:Endpoints:1:Url=http://127.0.0.1:9/b", $"--CxEngine:Webhooks:Endpoints:1:Secret={Good}", "--CxEngine:Webhooks:Endpoints:1:Name=desk");

        Assert.Contains("CxEngine:Webhooks:Endpoints:1", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnknownMinSeverity_StopsTheHost_NamingIt()
    {
        var error = await StartFailureAsync(
            "--CxEngine:Webhooks:Endpoints:0:Url=http://127.0.0.1:9/a", $"--CxEngine:Webhooks:Endpoints:0:Secret={Good}", "--CxEngine:Webhooks:Endpoints:0:MinSeverity=urgent");

        Assert.Contains("CxEngine:Webhooks:Endpoints:0:MinSeverity", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BackOffCeilingBelowItsStart_StopsTheHost_NamingIt()
    {
        var error = await StartFailureAsync("--CxEngine:Webhooks:RetryBaseDelay=00:00:10", "--CxEngine:Webhooks:RetryMaxDelay=00:00:01");

        Assert.Contains("CxEngine:Webhooks:RetryMaxDelay", error, StringComparison.Ordinal);
    }

    private static async Task<string> StartFailureAsync(params string[] settings)
    {
        using var data = new TempDirectory("webhooks-config");
        var error = await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await using var app = EngineHost.Build(data.Path, settings);
            await app.StartAsync();
        });
        return error is OptionsValidationException o ? string.Join("; ", o.Failures) : error.Message;
    }
}
