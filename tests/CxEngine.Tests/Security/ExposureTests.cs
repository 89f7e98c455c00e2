using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CxEngine.Silo.Security;
using CxEngine.Tests.Service;
using Grpc.Core;
using Grpc.Net.Client;
using V1 = CxEngine.Contracts.V1;

namespace CxEngine.Tests.Security;

public sealed class ExposureTests
{
    [Theory]
    [InlineData("--urls=http://0.0.0.0:0")]
    [InlineData("--urls=http://*:0")]
    [InlineData("--CxEngine:Operator:Url=http://0.0.0.0:0")]
    [InlineData("--CxEngine:Http:Url=http://0.0.0.0:0")]
    public void WithoutCredentials_ANonLoopbackAddress_StopsTheHostAtStart(string address)
    {
        using var data = new TempDirectory("exposed");
        var error = Assert.Throws<InvalidOperationException>(() => EngineHost.Build(data.Path, address));
        Assert.Contains("refusing to listen on", error.Message, StringComparison.Ordinal);
        Assert.Contains("without credentials", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithCredentials_AnyAddressMayBeBound()
    {
        using var data = new TempDirectory("bound");
        var port = Ports.Free();
        await using var app = EngineHost.Build(data.Path, Credentials.HostArgs($"--urls=http://0.0.0.0:{port}"));
        await app.StartAsync();
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}");
        var tiers = await new V1.Policies.PoliciesClient(channel).ListTiersAsync(new V1.ListTiersRequest(), Credentials.ApiKey(Credentials.KeyFor(Roles.Admin)));
        Assert.NotEmpty(tiers.Tiers);
        await app.StopAsync();
    }

    [Fact]
    public async Task Tls_WithTheKestrelCertificateSettings_ServesGrpcOverHttps()
    {
        using var data = new TempDirectory("tls");
        using var certificate = SelfSigned();
        var pfx = Path.Combine(data.Path, "engine.pfx");
        await File.WriteAllBytesAsync(pfx, certificate.Export(X509ContentType.Pfx, "test-password"));
        var port = Ports.Free();
        await using var app = EngineHost.Build(data.Path,
            $"--urls=https://127.0.0.1:{port}",
            $"--Kestrel:Certificates:Default:Path={pfx}",
            "--Kestrel:Certificates:Default:Password=test-password");
        await app.StartAsync();

        using var handler = new HttpClientHandler
        {
            // Trust exactly the certificate the test made.
            ServerCertificateCustomValidationCallback = (_, presented, _, _) => presented?.Thumbprint == certificate.Thumbprint,
        };
        using var tls = GrpcChannel.ForAddress($"https://127.0.0.1:{port}", new GrpcChannelOptions { HttpHandler = handler });
        var result = await new V1.Ingest.IngestClient(tls).RecordEventAsync(Wire.Event(Ids.Customer(), 70));
        Assert.Equal(V1.EventStatus.Applied, result.Status);

        // A client that does not trust it gets nowhere.
        using var untrusting = GrpcChannel.ForAddress($"https://127.0.0.1:{port}");
        var error = await Assert.ThrowsAsync<RpcException>(() => new V1.Ingest.IngestClient(untrusting).RecordEventAsync(Wire.Event(Ids.Customer(), 70)).ResponseAsync);
        Assert.Contains(error.StatusCode, new[] { StatusCode.Unavailable, StatusCode.Internal });
        Assert.Contains("SSL", error.Status.DebugException?.ToString() ?? error.Status.Detail, StringComparison.OrdinalIgnoreCase);
        await app.StopAsync();
    }

    private static X509Certificate2 SelfSigned()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=cxengine-test", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        return X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pfx), null, X509KeyStorageFlags.Exportable);
    }

}
