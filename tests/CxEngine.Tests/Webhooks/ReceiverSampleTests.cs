using System.Net;
using System.Text;
using CxEngine.Silo.Webhooks;
using Google.Protobuf;
using V1 = CxEngine.Contracts.V1;

namespace CxEngine.Tests.Webhooks;

/// <summary>The sample receiver's own promises: it refuses what it cannot verify, and handles a redelivery once.</summary>
public sealed class ReceiverSampleTests : IAsyncLifetime
{
    private readonly string _secret = Receiver.NewSecret();
    private readonly HttpClient _http = new();
    private Receiver _receiver = null!;

    public async Task InitializeAsync()
    {
        _receiver = new Receiver(_secret);
        await _receiver.StartAsync();
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _receiver.DisposeAsync();
    }

    private static readonly byte[] Body = Encoding.UTF8.GetBytes(JsonFormatter.Default.Format(new V1.RecoveryAction
    {
        ActionId = "cust-1#1", Revision = 1, Sequence = 1, CustomerId = "cust-1", Tier = "premium", Change = V1.ActionChange.Raised,
    }));

    private async Task<HttpStatusCode> PostAsync(string id, long timestamp, string signature, byte[] body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, _receiver.Url) { Content = new ByteArrayContent(body) };
        request.Headers.Add("webhook-id", id);
        request.Headers.Add("webhook-timestamp", timestamp.ToString(System.Globalization.CultureInfo.InvariantCulture));
        request.Headers.Add("webhook-signature", signature);
        using var response = await _http.SendAsync(request);
        return response.StatusCode;
    }

    private byte[] Key => WebhookSignature.TryParseSecret(_secret, out var key) ? key : throw new InvalidOperationException();

    private static long Now => DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    [Fact]
    public async Task SignedEntry_IsAccepted_AndARedeliveryIsAnsweredButHandledOnce()
    {
        var signature = WebhookSignature.Sign(Key, "cust-1#1:1", Now, Body);

        Assert.Equal(HttpStatusCode.OK, await PostAsync("cust-1#1:1", Now, signature, Body));
        Assert.Equal(HttpStatusCode.OK, await PostAsync("cust-1#1:1", Now, WebhookSignature.Sign(Key, "cust-1#1:1", Now, Body), Body));

        var handled = Assert.Single(_receiver.Handled);
        Assert.Equal(("cust-1#1:1", "cust-1#1", V1.ActionChange.Raised), (handled.Id, handled.Action.ActionId, handled.Action.Change));
    }

    [Fact]
    public async Task AlteredBody_WrongKey_OtherId_OrStaleTimestamp_Are401_AndNotHandled()
    {
        var altered = Body.ToArray();
        altered[^3] ^= 1;
        var otherKey = new byte[32];

        Assert.Equal(HttpStatusCode.Unauthorized, await PostAsync("cust-1#1:1", Now, WebhookSignature.Sign(Key, "cust-1#1:1", Now, Body), altered));
        Assert.Equal(HttpStatusCode.Unauthorized, await PostAsync("cust-1#1:1", Now, WebhookSignature.Sign(otherKey, "cust-1#1:1", Now, Body), Body));
        Assert.Equal(HttpStatusCode.Unauthorized, await PostAsync("cust-1#1:2", Now, WebhookSignature.Sign(Key, "cust-1#1:1", Now, Body), Body));
        var stale = Now - 6 * 60;
        Assert.Equal(HttpStatusCode.Unauthorized, await PostAsync("cust-1#1:1", stale, WebhookSignature.Sign(Key, "cust-1#1:1", stale, Body), Body));
        Assert.Empty(_receiver.Handled);
    }
}
