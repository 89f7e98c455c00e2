using CxEngine.Silo.Security;
using CxEngine.Tests.Service;
using Grpc.Core;
using V1 = CxEngine.Contracts.V1;

namespace CxEngine.Tests.Security;

/// <summary>One host with API keys and JWTs configured, shared by the access tests.</summary>
public sealed class SecuredEngineFixture : IAsyncLifetime
{
    private readonly TempDirectory _data = new("secured");

    public EngineHost Host { get; private set; } = null!;

    public string KnownCustomer { get; } = Ids.Customer("known");

    public async Task InitializeAsync()
    {
        Host = await EngineHost.StartAsync(_data.Path, Credentials.HostArgs());
        await Host.Ingest.RecordEventAsync(Wire.Event(KnownCustomer, 70, "standard"), Credentials.ApiKey(Credentials.KeyFor(Roles.Ingest)));
    }

    public async Task DisposeAsync()
    {
        await Host.DisposeAsync();
        _data.Dispose();
    }
}

public sealed class AuthTests(SecuredEngineFixture fixture) : IClassFixture<SecuredEngineFixture>
{
    private EngineHost Engine => fixture.Host;

    /// <summary>One representative call per service, each returning normally when allowed.</summary>
    private Task CallAsync(string service, Metadata? headers) => service switch
    {
        Roles.Ingest => Engine.Ingest.RecordEventAsync(Wire.Event(Ids.Customer(), 60), headers).ResponseAsync,
        Roles.Read => Engine.Scores.GetScoreAsync(new V1.GetScoreRequest { CustomerId = fixture.KnownCustomer }, headers).ResponseAsync,
        // Changing an action is the recovery role's alone (reading actions is open to read too, below): an unknown action
        // is NOT_FOUND to a caller allowed to change actions, PERMISSION_DENIED to any other.
        Roles.Recovery => NotFoundMeansAllowedAsync(Engine.Recovery.AcknowledgeActionAsync(new V1.ActionRef { ActionId = "nobody#1" }, headers).ResponseAsync),
        Roles.Admin => Engine.Policies.ListTiersAsync(new V1.ListTiersRequest(), headers).ResponseAsync,
        _ => throw new ArgumentOutOfRangeException(nameof(service)),
    };

    public static TheoryData<string, string> ServiceAndCallerRole()
    {
        var data = new TheoryData<string, string>();
        foreach (var service in Roles.All)
        {
            foreach (var role in Roles.All)
            {
                data.Add(service, role);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(ServiceAndCallerRole))]
    public async Task ApiKey_AllowsOnlyItsRolesService(string service, string role)
    {
        var call = CallAsync(service, Credentials.ApiKey(Credentials.KeyFor(role)));
        await AssertAllowedOnlyIfAsync(service == role, call);
    }

    [Theory]
    [MemberData(nameof(ServiceAndCallerRole))]
    public async Task Jwt_AllowsOnlyItsRolesService(string service, string role)
    {
        var call = CallAsync(service, Credentials.Bearer(Credentials.Token(role)));
        await AssertAllowedOnlyIfAsync(service == role, call);
    }

    [Theory]
    [InlineData(Roles.Ingest)]
    [InlineData(Roles.Read)]
    [InlineData(Roles.Recovery)]
    [InlineData(Roles.Admin)]
    public async Task KeyWithEveryRole_ReachesEveryService(string service) =>
        await CallAsync(service, Credentials.ApiKey(Credentials.KeyFor("all")));

    public static TheoryData<string, string> BadCredentials => new()
    {
        { "none", "" },
        { "unknown API key", "api:not-a-key" },
        { "expired JWT", "jwt-expired" },
        { "wrongly signed JWT", "jwt-wrong-key" },
        { "JWT from another issuer", "jwt-wrong-issuer" },
        { "garbage bearer", "bearer:abc.def.ghi" },
    };

    [Theory]
    [MemberData(nameof(BadCredentials))]
    public async Task BadOrMissingCredentials_AreUnauthenticated_OnEveryService(string what, string credential)
    {
        Metadata? headers = credential switch
        {
            "" => null,
            "jwt-expired" => Credentials.Bearer(Credentials.Token(Roles.Admin, lifetime: TimeSpan.FromMinutes(5), now: DateTime.UtcNow.AddHours(-1))),
            "jwt-wrong-key" => Credentials.Bearer(Credentials.Token(Roles.Admin, signingKey: System.Security.Cryptography.RandomNumberGenerator.GetBytes(32))),
            "jwt-wrong-issuer" => Credentials.Bearer(Credentials.Token(Roles.Admin, issuer: "https://evil.test")),
            _ when credential.StartsWith("api:", StringComparison.Ordinal) => Credentials.ApiKey(credential[4..]),
            _ => Credentials.Bearer(credential["bearer:".Length..]),
        };

        foreach (var service in Roles.All)
        {
            var error = await Assert.ThrowsAsync<RpcException>(() => CallAsync(service, headers));
            Assert.True(error.StatusCode == StatusCode.Unauthenticated, $"{what} on {service}: {error.StatusCode}");
        }
    }

    [Fact]
    public async Task Health_NeedsNoCredentials()
    {
        var health = await new Grpc.Health.V1.Health.HealthClient(Engine.Channel).CheckAsync(new Grpc.Health.V1.HealthCheckRequest());
        Assert.Equal(Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus.Serving, health.Status);
    }

    [Fact]
    public async Task Streams_AreGuardedToo()
    {
        using var noKey = Engine.Ingest.StreamEvents();
        var error = await Assert.ThrowsAsync<RpcException>(() => noKey.ResponseStream.MoveNext(CancellationToken.None));
        Assert.Equal(StatusCode.Unauthenticated, error.StatusCode);

        using var ingestKey = Engine.Recovery.WatchActions(new V1.WatchActionsRequest(), Credentials.ApiKey(Credentials.KeyFor(Roles.Ingest)));
        var denied = await Assert.ThrowsAsync<RpcException>(() => ingestKey.ResponseStream.MoveNext(CancellationToken.None));
        Assert.Equal(StatusCode.PermissionDenied, denied.StatusCode);
    }

    private static async Task NotFoundMeansAllowedAsync(Task call)
    {
        try
        {
            await call;
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.NotFound)
        {
        }
    }

    [Theory]
    [InlineData(Roles.Read, true)]
    [InlineData(Roles.Recovery, true)]
    [InlineData(Roles.Ingest, false)]
    [InlineData(Roles.Admin, false)]
    public async Task ReadingActions_TakesTheReadOrTheRecoveryRole(string role, bool allowed)
    {
        var key = Credentials.ApiKey(Credentials.KeyFor(role));
        await AssertAllowedOnlyIfAsync(allowed, Engine.Recovery.ListActionsAsync(new V1.ListActionsRequest(), key).ResponseAsync);
        await AssertAllowedOnlyIfAsync(allowed, Engine.Recovery.ListWebhookDeliveriesAsync(new V1.ListWebhookDeliveriesRequest(), key).ResponseAsync);
    }

    private static async Task AssertAllowedOnlyIfAsync(bool allowed, Task call)
    {
        if (allowed)
        {
            await call;
            return;
        }

        var error = await Assert.ThrowsAsync<RpcException>(() => call);
        Assert.Equal(StatusCode.PermissionDenied, error.StatusCode);
    }
}
