using System.Net;
using System.Security.Claims;
using CxEngine.Silo.Security;
using CxEngine.Silo.Tools;
using CxEngine.Tests.Http;
using CxEngine.Tests.Service;
using CxEngine.Tests.Webhooks;
using Grpc.Core;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Spectre.Console;
using V1 = CxEngine.Contracts.V1;

namespace CxEngine.Tests.Security;

/// <summary>
/// One engine serving two tenants (acme, globex) through their own keys, a platform key that names the tenant per call,
/// a read-only acme key and a key of the default tenant; webhook endpoints for acme and for every tenant.
/// </summary>
public sealed class TenantEngineFixture : IAsyncLifetime
{
    public const string Acme = "acme";
    public const string Globex = "globex";

    private readonly TempDirectory _data = new("tenants");

    public EngineHost Host { get; private set; } = null!;

    internal Receiver AcmeHooks { get; } = new(Secret);

    internal Receiver EveryTenantsHooks { get; } = new(Secret);

    private static readonly string Secret = Receiver.NewSecret();

    public static string KeyOf(string name) => Credentials.NamedKey(name);

    public static Metadata As(string name, string? tenantHeader = null)
    {
        var headers = Credentials.ApiKey(KeyOf(name));
        if (tenantHeader is not null)
        {
            headers.Add(CallerTenant.Header, tenantHeader);
        }

        return headers;
    }

    /// <summary>The customer ids ExportScores streams to the caller with these headers.</summary>
    public static async Task<List<string>> ExportedIdsAsync(EngineHost engine, Metadata headers)
    {
        using var call = engine.Scores.ExportScores(new V1.ExportScoresRequest(), headers);
        return await call.ResponseStream.ReadAllAsync().Select(s => s.CustomerId).ToListAsync();
    }

    public async Task InitializeAsync()
    {
        await AcmeHooks.StartAsync();
        await EveryTenantsHooks.StartAsync();
        var args = new List<string>();
        var i = 0;
        void Key(string name, string? tenant, params string[] roles) => args.AddRange(Credentials.KeyArgs(i++, name, tenant, roles));

        Key(Acme, Acme, Roles.All);
        Key(Globex, Globex, Roles.All);
        Key("platform", "*", Roles.All);
        Key("acme-reader", Acme, Roles.Read, Roles.Recovery);
        Key("single", null, Roles.All);
        args.Add($"--CxEngine:Security:Jwt:Issuer={Credentials.Issuer}");
        args.Add($"--CxEngine:Security:Jwt:SigningKey={Convert.ToBase64String(Credentials.SigningKey)}");
        args.AddRange(WebhookDeliveryTests.Settings(AcmeHooks.Url, Secret,
            $"--CxEngine:Webhooks:Endpoints:0:Name=acme-desk",
            $"--CxEngine:Webhooks:Endpoints:0:Tenant={Acme}",
            "--CxEngine:Webhooks:Endpoints:1:Name=platform-desk",
            $"--CxEngine:Webhooks:Endpoints:1:Url={EveryTenantsHooks.Url}",
            $"--CxEngine:Webhooks:Endpoints:1:Secret={Secret}",
            "--CxEngine:Webhooks:Endpoints:1:Tenant=*"));
        Host = await EngineHost.StartAsync(_data.Path, [.. args]);
    }

    public async Task DisposeAsync()
    {
        await Host.DisposeAsync();
        await AcmeHooks.DisposeAsync();
        await EveryTenantsHooks.DisposeAsync();
        _data.Dispose();
    }
}

/// <summary>
/// Isolation on every surface (API.md, version 3): the same ids in two tenants are two customers, and nothing of one
/// tenant is visible to, or changeable by, the other; another tenant's customer or action is NOT_FOUND.
/// </summary>
public sealed class TenantTests(TenantEngineFixture fixture) : IClassFixture<TenantEngineFixture>
{
    private const string Acme = TenantEngineFixture.Acme;
    private const string Globex = TenantEngineFixture.Globex;

    private EngineHost Engine => fixture.Host;

    private static Metadata As(string name, string? tenantHeader = null) => TenantEngineFixture.As(name, tenantHeader);

    /// <summary>An awful premium event for the customer in the tenant: applied, and it raises an action.</summary>
    private async Task<V1.EventResult> RaiseAsync(string tenant, string customer)
    {
        var result = await Engine.Ingest.RecordEventAsync(Wire.Awful(customer, "premium"), As(tenant));
        Assert.Equal(V1.EventStatus.Applied, result.Status);
        Assert.Equal(V1.ActionChange.Raised, result.Action.Change);
        return result;
    }

    private static async Task<StatusCode> CodeOfAsync(Func<Task> call) => (await Assert.ThrowsAsync<RpcException>(call)).StatusCode;

    [Fact]
    public async Task Ingest_TheSameCustomerAndEventIdsInTwoTenants_AreTwoCustomers_EachScoredAndDeduplicatedOnItsOwn()
    {
        var customer = Ids.Customer("shared");
        var eventId = Ids.Event();
        var acme = await Engine.Ingest.RecordEventAsync(Wire.Event(customer, 10, "premium", eventId: eventId), As(Acme));
        var globex = await Engine.Ingest.RecordEventAsync(Wire.Event(customer, 95, "standard", eventId: eventId), As(Globex));

        // The same event id is new in the second tenant, and a retry in either is a duplicate there only.
        Assert.Equal(V1.EventStatus.Applied, acme.Status);
        Assert.Equal(V1.EventStatus.Applied, globex.Status);
        Assert.Equal(customer, globex.CustomerId);
        Assert.Equal(V1.EventStatus.Duplicate, (await Engine.Ingest.RecordEventAsync(Wire.Event(customer, 10, "premium", eventId: eventId), As(Acme))).Status);

        var acmeScore = await Engine.Scores.GetScoreAsync(new V1.GetScoreRequest { CustomerId = customer }, As(Acme));
        var globexScore = await Engine.Scores.GetScoreAsync(new V1.GetScoreRequest { CustomerId = customer }, As(Globex));
        Assert.Equal(("premium", 1L), (acmeScore.Tier, acmeScore.EventsApplied));
        Assert.Equal(("standard", 1L), (globexScore.Tier, globexScore.EventsApplied));
        Assert.NotEqual(acmeScore.Score, globexScore.Score);
        Assert.Equal(customer, acmeScore.CustomerId);

        // Batches and streams take the same path.
        var batch = await Engine.Ingest.RecordEventsAsync(new V1.RecordEventsRequest { Events = { Wire.Event(customer, 50, eventId: Ids.Event()) } }, As(Globex));
        Assert.Equal((V1.EventStatus.Applied, customer), (batch.Results[0].Status, batch.Results[0].CustomerId));
        using var stream = Engine.Ingest.StreamEvents(As(Globex));
        await stream.RequestStream.WriteAsync(Wire.Event(customer, 50, eventId: Ids.Event()));
        await stream.RequestStream.CompleteAsync();
        await foreach (var result in stream.ResponseStream.ReadAllAsync())
        {
            Assert.Equal((V1.EventStatus.Applied, customer, 3L), (result.Status, result.CustomerId, result.Score.EventsApplied));
        }

        Assert.Equal(1, (await Engine.Scores.GetScoreAsync(new V1.GetScoreRequest { CustomerId = customer }, As(Acme))).EventsApplied);
    }

    [Fact]
    public async Task Reads_OfAnotherTenantsCustomer_AreNotFound_NeverPermissionDenied()
    {
        var customer = Ids.Customer("acme-only");
        await RaiseAsync(Acme, customer);

        Assert.Equal(StatusCode.NotFound, await CodeOfAsync(() => Engine.Scores.GetScoreAsync(new V1.GetScoreRequest { CustomerId = customer }, As(Globex)).ResponseAsync));
        Assert.Equal(StatusCode.NotFound, await CodeOfAsync(() => Engine.Scores.GetHistoryAsync(new V1.GetHistoryRequest { CustomerId = customer }, As(Globex)).ResponseAsync));
        var batch = await Engine.Scores.BatchGetScoresAsync(new V1.BatchGetScoresRequest { CustomerIds = { customer } }, As(Globex));
        Assert.Empty(batch.Scores);
        Assert.Equal([customer], batch.NotFound);
        Assert.Equal(customer, Assert.Single((await Engine.Scores.BatchGetScoresAsync(new V1.BatchGetScoresRequest { CustomerIds = { customer } }, As(Acme))).Scores).CustomerId);
        Assert.Single((await Engine.Scores.GetHistoryAsync(new V1.GetHistoryRequest { CustomerId = customer }, As(Acme))).Changes);

        // REST: the same answer through the same credential.
        using var rest = Rest.Client(Engine, apiKey: TenantEngineFixture.KeyOf(Globex));
        Assert.Equal(HttpStatusCode.NotFound, (await rest.GetAsync($"/v1/customers/{customer}/score")).StatusCode);
        using var acmeRest = Rest.Client(Engine, apiKey: TenantEngineFixture.KeyOf(Acme));
        Assert.Equal(customer, (await Rest.ReadAsync<V1.CustomerScore>(await acmeRest.GetAsync($"/v1/customers/{customer}/score"))).CustomerId);
    }

    [Fact]
    public async Task AtRisk_AndExport_ListTheTenantsOwnCustomersOnly()
    {
        var acmeCustomer = Ids.Customer("risk-acme");
        var globexCustomer = Ids.Customer("risk-globex");
        await RaiseAsync(Acme, acmeCustomer);
        await RaiseAsync(Globex, globexCustomer);

        async Task<List<string>> AtRiskAsync(string tenant)
        {
            var ids = new List<string>();
            var token = "";
            do
            {
                var page = await Engine.Scores.ListAtRiskAsync(new V1.ListAtRiskRequest { PageSize = 2, PageToken = token }, As(tenant));
                ids.AddRange(page.Customers.Select(c => c.CustomerId));
                token = page.NextPageToken;
            }
            while (token.Length > 0);
            return ids;
        }

        var acmeRisk = await AtRiskAsync(Acme);
        Assert.Contains(acmeCustomer, acmeRisk);
        Assert.DoesNotContain(globexCustomer, acmeRisk);
        Assert.Contains(globexCustomer, await AtRiskAsync(Globex));

        var acmeExport = await TenantEngineFixture.ExportedIdsAsync(Engine, As(Acme));
        Assert.Contains(acmeCustomer, acmeExport);
        Assert.DoesNotContain(globexCustomer, acmeExport);
        Assert.DoesNotContain(acmeCustomer, await TenantEngineFixture.ExportedIdsAsync(Engine, As(Globex)));
    }

    [Fact]
    public async Task Actions_AnotherTenantsAction_IsNotFound_ToListGetAcknowledgeAndResolve()
    {
        var customer = Ids.Customer("acted");
        var raised = (await RaiseAsync(Acme, customer)).Action;
        Assert.Equal(Acme, raised.Tenant);
        Assert.StartsWith(customer + "#", raised.ActionId);

        Assert.DoesNotContain((await Engine.Recovery.ListActionsAsync(new V1.ListActionsRequest(), As(Globex))).Actions, a => a.CustomerId == customer);
        Assert.Empty((await Engine.Recovery.ListActionsAsync(new V1.ListActionsRequest { CustomerId = customer }, As(Globex))).Actions);
        Assert.Equal(StatusCode.NotFound, await CodeOfAsync(() =>
            Engine.Recovery.AcknowledgeActionAsync(new V1.ActionRef { ActionId = raised.ActionId }, As(Globex)).ResponseAsync));
        Assert.Equal(StatusCode.NotFound, await CodeOfAsync(() =>
            Engine.Recovery.ResolveActionAsync(new V1.ResolveActionRequest { ActionId = raised.ActionId }, As(Globex)).ResponseAsync));

        var listed = Assert.Single((await Engine.Recovery.ListActionsAsync(new V1.ListActionsRequest { CustomerId = customer }, As(Acme))).Actions);
        Assert.Equal((raised.ActionId, Acme), (listed.ActionId, listed.Tenant));
        var acknowledged = await Engine.Recovery.AcknowledgeActionAsync(new V1.ActionRef { ActionId = raised.ActionId, By = "ann" }, As(Acme));
        Assert.Equal((V1.ActionStatus.Acknowledged, raised.ActionId, customer), (acknowledged.Status, acknowledged.ActionId, acknowledged.CustomerId));

        // A read-only key of the tenant sees its actions and cannot act on them.
        Assert.Single((await Engine.Recovery.ListActionsAsync(new V1.ListActionsRequest { CustomerId = customer }, As("acme-reader"))).Actions);
    }

    [Fact]
    public async Task Feed_ReplaysAndFollowsTheTenantsEntriesOnly()
    {
        var acmeCustomer = Ids.Customer("feed-acme");
        var globexCustomer = Ids.Customer("feed-globex");
        await RaiseAsync(Globex, globexCustomer);
        await RaiseAsync(Acme, acmeCustomer);

        await using var acmeWatcher = new Watcher(Engine.Recovery, new V1.WatchActionsRequest { AfterSequence = 0 }, As(Acme));
        var replayed = await acmeWatcher.WaitForAsync(r => r.Any(a => a.CustomerId == acmeCustomer), "acme's entry in the replay");
        Assert.All(replayed, a => Assert.Equal(Acme, a.Tenant));
        Assert.DoesNotContain(replayed, a => a.CustomerId == globexCustomer);

        // Live: another tenant's new entry never reaches acme's watcher; acme's next one does.
        var liveGlobex = Ids.Customer("feed-live-globex");
        var liveAcme = Ids.Customer("feed-live-acme");
        await RaiseAsync(Globex, liveGlobex);
        await RaiseAsync(Acme, liveAcme);
        var live = await acmeWatcher.WaitForAsync(r => r.Any(a => a.CustomerId == liveAcme), "acme's live entry");
        Assert.DoesNotContain(live, a => a.CustomerId == liveGlobex || a.Tenant != Acme);
    }

    [Fact]
    public async Task Tiers_AreTheTenantsOwn_AndAChangeRebaselinesItsCustomersOnly()
    {
        // A tenant of its own for this test, through the platform key, so no other test sees its tier change.
        var tenant = "tiers-" + Guid.NewGuid().ToString("N")[..8];
        var platform = As("platform", tenant);
        var customer = Ids.Customer("tiered");
        await Engine.Ingest.RecordEventAsync(Wire.Event(customer, 60, "standard"), platform);
        await Engine.Ingest.RecordEventAsync(Wire.Event(customer, 60, "standard"), As(Globex));

        var standard = (await Engine.Policies.ListTiersAsync(new V1.ListTiersRequest(), platform)).Tiers.Single(t => t.Name == "standard");
        standard.Baseline = 90;
        await Engine.Policies.UpsertTierAsync(standard, platform);

        Assert.Equal(90, (await Engine.Policies.ListTiersAsync(new V1.ListTiersRequest(), platform)).Tiers.Single(t => t.Name == "standard").Baseline);
        Assert.NotEqual(90, (await Engine.Policies.ListTiersAsync(new V1.ListTiersRequest(), As(Globex))).Tiers.Single(t => t.Name == "standard").Baseline);
        Assert.Equal(90, (await Engine.Scores.GetScoreAsync(new V1.GetScoreRequest { CustomerId = customer }, platform)).Baseline);
        Assert.NotEqual(90, (await Engine.Scores.GetScoreAsync(new V1.GetScoreRequest { CustomerId = customer }, As(Globex))).Baseline);

        // A new tier exists in its tenant only: globex's events naming it are refused.
        var vip = standard.Clone();
        vip.Name = "vip-" + tenant;
        await Engine.Policies.UpsertTierAsync(vip, platform);
        var refused = await Assert.ThrowsAsync<RpcException>(() => Engine.Ingest.RecordEventAsync(Wire.Event(Ids.Customer(), 60, vip.Name), As(Globex)).ResponseAsync);
        Assert.Equal(("tier", StatusCode.InvalidArgument), (Wire.Violation(refused).Field, refused.StatusCode));

        // Moving a customer between tiers names the tenant's customer.
        await Engine.Policies.SetCustomerTierAsync(new V1.SetCustomerTierRequest { CustomerId = customer, Tier = vip.Name }, platform);
        Assert.Equal("standard", (await Engine.Scores.GetScoreAsync(new V1.GetScoreRequest { CustomerId = customer }, As(Globex))).Tier);
    }

    [Fact]
    public async Task Rescore_ReplaysTheTenantsCustomersOnly()
    {
        var tenant = "rescore-" + Guid.NewGuid().ToString("N")[..8];
        var platform = As("platform", tenant);
        var customers = Enumerable.Range(0, 3).Select(_ => Ids.Customer("rescored")).ToArray();
        foreach (var c in customers)
        {
            await Engine.Ingest.RecordEventAsync(Wire.Event(c, 40, "basic"), platform);
        }

        await Engine.Ingest.RecordEventAsync(Wire.Event(customers[0], 40, "basic"), As(Globex));
        var report = await RescoreCommand.RescoreAsync(new V1.RescoreRequest(), new EngineConnection(Engine.Url, TenantEngineFixture.KeyOf("platform"), tenant),
            Quiet(), CancellationToken.None);
        Assert.Equal(3, report.Customers);
        var one = await RescoreCommand.RescoreAsync(new V1.RescoreRequest { CustomerIds = { customers[1] } },
            new EngineConnection(Engine.Url, TenantEngineFixture.KeyOf("platform"), tenant), Quiet(), CancellationToken.None);
        Assert.Equal(1, one.Customers);

        var unknown = await Assert.ThrowsAsync<RpcException>(() => RescoreCommand.RescoreAsync(
            new V1.RescoreRequest { CustomerIds = { customers[1] } }, new EngineConnection(Engine.Url, TenantEngineFixture.KeyOf(Globex)), Quiet(), CancellationToken.None));
        Assert.Equal(StatusCode.NotFound, unknown.StatusCode);
    }

    private static IAnsiConsole Quiet() =>
        AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(new StringWriter()), Interactive = InteractionSupport.No, Ansi = AnsiSupport.No });

    [Fact]
    public async Task ImportAndExport_WithTenant_MoveTheTenantsDataOnly()
    {
        using var files = new TempDirectory("tenant-files");
        var tenant = "files-" + Guid.NewGuid().ToString("N")[..8];
        var source = Ids.Customer("exported");
        await RaiseAsync(Acme, source);
        await Engine.Ingest.RecordEventAsync(Wire.Event(Ids.Customer("other"), 50), As(Globex));

        // acme's events out through the platform key naming acme, into a new tenant through the platform key again.
        var events = Path.Combine(files.Path, "events.jsonl");
        var platform = TenantEngineFixture.KeyOf("platform");
        await ExportCommand.ExportAsync("events", "jsonl", source, null, events, new EngineConnection(Engine.Url, platform, Acme), Quiet(), CancellationToken.None);
        var summary = await ImportCommand.ImportAsync(events, new EngineConnection(Engine.Url, platform, tenant), 2, Quiet(), new StringWriter(), CancellationToken.None);
        Assert.Equal(1, summary.Count(V1.EventStatus.Applied));

        var scores = Path.Combine(files.Path, "scores.jsonl");
        await ExportCommand.ExportAsync("scores", "jsonl", null, null, scores, new EngineConnection(Engine.Url, platform, tenant), Quiet(), CancellationToken.None);
        var exported = await File.ReadAllLinesAsync(scores);
        Assert.Equal([source], exported.Select(l => Rest.Parse<V1.CustomerScore>(l).CustomerId));
        Assert.Equal(StatusCode.NotFound, await CodeOfAsync(() =>
            Engine.Scores.GetScoreAsync(new V1.GetScoreRequest { CustomerId = source }, As(Globex)).ResponseAsync));
    }

    [Fact]
    public async Task Calibrate_WithTenant_StartsFromTheTierAsThatTenantHoldsIt()
    {
        using var files = new TempDirectory("tenant-calibrate");
        var tenant = "cal-" + Guid.NewGuid().ToString("N")[..8];
        var platform = As("platform", tenant);
        var standard = (await Engine.Policies.ListTiersAsync(new V1.ListTiersRequest(), platform)).Tiers.Single(t => t.Name == "standard");
        standard.Baseline = 77;
        standard.WaitTargetSeconds = 45;
        await Engine.Policies.UpsertTierAsync(standard, platform);
        var (events, _) = CxEngine.Tests.Calibration.SyntheticHistory.Generate(150, seed: 9, CxEngine.Tests.Calibration.SyntheticHistory.Truth);
        var eventsPath = Path.Combine(files.Path, "events.jsonl");
        var fittedPath = Path.Combine(files.Path, "fitted.json");
        await File.WriteAllLinesAsync(eventsPath, events.Select(e => Google.Protobuf.JsonFormatter.Default.Format(e)));

        var error = new StringWriter();
        var code = await CalibrateCommand.RunAsync(
            ["--events", eventsPath, "--tenant", tenant, "--url", Engine.Url, "--api-key", TenantEngineFixture.KeyOf("platform"), "--budget", "10", "--out", fittedPath],
            new StringWriter(), error, TimeProvider.System);

        Assert.True(code == 0, error.ToString());
        var fitted = Rest.Parse<V1.TierPolicy>(await File.ReadAllTextAsync(fittedPath));
        Assert.Equal(("standard", 77.0, 45.0), (fitted.Name, fitted.Baseline, fitted.WaitTargetSeconds));

        // A tier the tenant does not have is named as missing there.
        var missing = new StringWriter();
        Assert.Equal(2, await CalibrateCommand.RunAsync(
            ["--events", eventsPath, "--tenant", tenant, "--tier", "gold", "--url", Engine.Url, "--api-key", TenantEngineFixture.KeyOf("platform"), "--out", fittedPath],
            new StringWriter(), missing, TimeProvider.System));
        Assert.Contains($"tenant '{tenant}' has no tier 'gold'", missing.ToString());
    }

    [Fact]
    public async Task Webhooks_AnEndpointOfATenantReceivesItsEntriesOnly_AndAnEveryTenantEndpointReceivesEachWithItsTenant()
    {
        var acmeCustomer = Ids.Customer("hook-acme");
        var globexCustomer = Ids.Customer("hook-globex");
        await RaiseAsync(Globex, globexCustomer);
        await RaiseAsync(Acme, acmeCustomer);

        await WaitForAsync(fixture.EveryTenantsHooks, h => h.Any(w => w.Action.CustomerId == acmeCustomer) && h.Any(w => w.Action.CustomerId == globexCustomer), "both tenants' entries");
        var everyone = fixture.EveryTenantsHooks.Handled.ToArray();
        Assert.Equal(Globex, everyone.First(w => w.Action.CustomerId == globexCustomer).Action.Tenant);
        Assert.Equal(Acme, everyone.First(w => w.Action.CustomerId == acmeCustomer).Action.Tenant);

        await WaitForAsync(fixture.AcmeHooks, h => h.Any(w => w.Action.CustomerId == acmeCustomer), "acme's entry");
        Assert.All(fixture.AcmeHooks.Handled, w => Assert.Equal(Acme, w.Action.Tenant));
        Assert.DoesNotContain(fixture.AcmeHooks.Handled, w => w.Action.CustomerId == globexCustomer);

        // Each tenant lists its own endpoints' deliveries.
        Assert.Equal(["acme-desk"], (await Engine.Recovery.ListWebhookDeliveriesAsync(new V1.ListWebhookDeliveriesRequest(), As(Acme))).Deliveries.Select(d => d.Name));
        Assert.Empty((await Engine.Recovery.ListWebhookDeliveriesAsync(new V1.ListWebhookDeliveriesRequest(), As(Globex))).Deliveries);
    }

    internal static async Task WaitForAsync(Receiver receiver, Func<IReadOnlyCollection<CxEngine.WebhookReceiver.ReceivedWebhook>, bool> done, string what, int seconds = 30)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!done(receiver.Handled))
        {
            Assert.True(DateTime.UtcNow < deadline, $"no {what} within {seconds} s");
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task PlatformKey_NamesTheTenantPerCall_AndTenantKeysCannotNameAnother()
    {
        var customer = Ids.Customer("platform");
        await RaiseAsync(Acme, customer);

        var missing = await Assert.ThrowsAsync<RpcException>(() => Engine.Scores.GetScoreAsync(new V1.GetScoreRequest { CustomerId = customer }, As("platform")).ResponseAsync);
        Assert.Equal((StatusCode.InvalidArgument, CallerTenant.Header), (missing.StatusCode, Wire.Violation(missing).Field));
        var bad = await Assert.ThrowsAsync<RpcException>(() => Engine.Scores.GetScoreAsync(new V1.GetScoreRequest { CustomerId = customer }, As("platform", "Not A Tenant")).ResponseAsync);
        Assert.Equal((StatusCode.InvalidArgument, CallerTenant.Header), (bad.StatusCode, Wire.Violation(bad).Field));

        Assert.Equal(customer, (await Engine.Scores.GetScoreAsync(new V1.GetScoreRequest { CustomerId = customer }, As("platform", Acme))).CustomerId);
        Assert.Equal(StatusCode.NotFound, await CodeOfAsync(() =>
            Engine.Scores.GetScoreAsync(new V1.GetScoreRequest { CustomerId = customer }, As("platform", Globex)).ResponseAsync));

        // A tenant key may name its own tenant, never another.
        Assert.Equal(customer, (await Engine.Scores.GetScoreAsync(new V1.GetScoreRequest { CustomerId = customer }, As(Acme, Acme))).CustomerId);
        Assert.Equal(StatusCode.PermissionDenied, await CodeOfAsync(() =>
            Engine.Scores.GetScoreAsync(new V1.GetScoreRequest { CustomerId = customer }, As(Globex, Acme)).ResponseAsync));

        // A key without a tenant is in the default tenant, as is a JWT without the claim; a JWT's claim names its tenant.
        Assert.Equal(StatusCode.NotFound, await CodeOfAsync(() =>
            Engine.Scores.GetScoreAsync(new V1.GetScoreRequest { CustomerId = customer }, As("single")).ResponseAsync));
        Assert.Equal(customer, (await Engine.Scores.GetScoreAsync(new V1.GetScoreRequest { CustomerId = customer }, Credentials.Bearer(Token(Acme)))).CustomerId);
        Assert.Equal(StatusCode.NotFound, await CodeOfAsync(() =>
            Engine.Scores.GetScoreAsync(new V1.GetScoreRequest { CustomerId = customer }, Credentials.Bearer(Token(null))).ResponseAsync));

        // REST takes the header the same way.
        using var rest = Rest.Client(Engine, apiKey: TenantEngineFixture.KeyOf("platform"));
        rest.DefaultRequestHeaders.Add(CallerTenant.Header, Acme);
        Assert.Equal(customer, (await Rest.ReadAsync<V1.CustomerScore>(await rest.GetAsync($"/v1/customers/{customer}/score"))).CustomerId);
    }

    private static string Token(string? tenant)
    {
        var claims = new List<Claim> { new("sub", "svc-tenant"), new("roles", Roles.Read) };
        if (tenant is not null)
        {
            claims.Add(new Claim(CallerTenant.Claim, tenant));
        }

        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = Credentials.Issuer,
            Audience = "cxengine",
            Subject = new ClaimsIdentity(claims),
            Expires = DateTime.UtcNow.AddMinutes(10),
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(Credentials.SigningKey), SecurityAlgorithms.HmacSha256),
        });
    }

    [Fact]
    public async Task Erase_RemovesTheCustomerEverywhere_AndALaterEventStartsANewCustomer()
    {
        var customer = Ids.Customer("erased");
        var first = await RaiseAsync(Acme, customer);
        var eventId = Ids.Event();
        await Engine.Ingest.RecordEventAsync(Wire.Event(customer, 20, "premium", eventId: eventId), As(Acme));
        var keep = Ids.Customer("kept");
        await RaiseAsync(Acme, keep);
        var globexTwin = await RaiseAsync(Globex, customer);

        // Only an admin erases, and only in its tenant.
        Assert.Equal(StatusCode.PermissionDenied, await CodeOfAsync(() =>
            Engine.Scores.EraseCustomerAsync(new V1.EraseCustomerRequest { CustomerId = customer }, As("acme-reader")).ResponseAsync));
        Assert.Equal(StatusCode.NotFound, await CodeOfAsync(() =>
            Engine.Scores.EraseCustomerAsync(new V1.EraseCustomerRequest { CustomerId = Ids.Customer("never") }, As(Acme)).ResponseAsync));

        using var rest = Rest.Client(Engine, apiKey: TenantEngineFixture.KeyOf(Acme));
        var erased = await Rest.ReadAsync<V1.EraseCustomerResponse>(await rest.DeleteAsync($"/v1/customers/{customer}"));
        Assert.Equal((2L, 1L), (erased.EventsErased, erased.ActionsErased));
        Assert.Equal(HttpStatusCode.NotFound, (await rest.DeleteAsync($"/v1/customers/{customer}")).StatusCode);

        // Gone from every read, list, export and replay of the feed.
        Assert.Equal(StatusCode.NotFound, await CodeOfAsync(() => Engine.Scores.GetScoreAsync(new V1.GetScoreRequest { CustomerId = customer }, As(Acme)).ResponseAsync));
        Assert.Equal(StatusCode.NotFound, await CodeOfAsync(() => Engine.Scores.GetHistoryAsync(new V1.GetHistoryRequest { CustomerId = customer }, As(Acme)).ResponseAsync));
        Assert.Empty((await Engine.Recovery.ListActionsAsync(new V1.ListActionsRequest { CustomerId = customer }, As(Acme))).Actions);
        Assert.Equal(StatusCode.NotFound, await CodeOfAsync(() =>
            Engine.Recovery.AcknowledgeActionAsync(new V1.ActionRef { ActionId = first.Action.ActionId }, As(Acme)).ResponseAsync));
        var exported = await TenantEngineFixture.ExportedIdsAsync(Engine, As(Acme));
        Assert.DoesNotContain(customer, exported);
        Assert.Contains(keep, exported);

        await using (var watcher = new Watcher(Engine.Recovery, new V1.WatchActionsRequest { AfterSequence = 0 }, As(Acme)))
        {
            var replayed = await watcher.WaitForAsync(r => r.Any(a => a.CustomerId == keep), "the kept customer's entry");
            Assert.DoesNotContain(replayed, a => a.CustomerId == customer);
        }

        // The other tenant's customer of the same id is untouched.
        Assert.Equal(1, (await Engine.Scores.GetScoreAsync(new V1.GetScoreRequest { CustomerId = customer }, As(Globex))).EventsApplied);
        Assert.Equal(globexTwin.Action.ActionId, Assert.Single((await Engine.Recovery.ListActionsAsync(new V1.ListActionsRequest { CustomerId = customer }, As(Globex))).Actions).ActionId);

        // A later event starts a new customer; the erased event ids are forgotten with it.
        var again = await Engine.Ingest.RecordEventAsync(Wire.Event(customer, 20, "premium", eventId: eventId), As(Acme));
        Assert.Equal((V1.EventStatus.Applied, 1L), (again.Status, again.Score.EventsApplied));
    }

    [Fact]
    public async Task Erase_DropsTheCustomersQueuedWebhookDeliveries()
    {
        var customer = Ids.Customer("hook-erased");
        var after = Ids.Customer("hook-after");
        fixture.AcmeHooks.Unavailable = true;
        try
        {
            await RaiseAsync(Acme, customer);
            // The entry is being retried against the failing endpoint.
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (!(await Engine.Recovery.ListWebhookDeliveriesAsync(new V1.ListWebhookDeliveriesRequest(), As(Acme))).Deliveries.Any(d => d.Attempts > 0))
            {
                Assert.True(DateTime.UtcNow < deadline, "no failed attempt at acme's endpoint within 30 s");
                await Task.Delay(50);
            }

            await Engine.Scores.EraseCustomerAsync(new V1.EraseCustomerRequest { CustomerId = customer }, As(Acme));
            await RaiseAsync(Acme, after);
        }
        finally
        {
            fixture.AcmeHooks.Unavailable = false;
        }

        await WaitForAsync(fixture.AcmeHooks, h => h.Any(w => w.Action.CustomerId == after), "the entry after the erased customer's");
        Assert.DoesNotContain(fixture.AcmeHooks.Handled, w => w.Action.CustomerId == customer);
    }
}

/// <summary>One token bucket per tenant across its callers (CxEngine:Limits:EventsPerSecondPerTenant), beside the per-caller one.</summary>
public sealed class TenantLimitTests
{
    [Fact]
    public async Task ATenantsCallersShareItsBudget_AndAnotherTenantKeepsItsOwn()
    {
        using var data = new TempDirectory("tenant-limits");
        string[] keys = ["a1", "a2", "b1"];
        var args = new List<string> { "--CxEngine:Limits:EventsPerSecondPerTenant=1", "--CxEngine:Limits:EventBurstPerTenant=5" };
        for (var i = 0; i < keys.Length; i++)
        {
            args.AddRange(Credentials.KeyArgs(i, keys[i], keys[i][0] == 'a' ? "alpha" : "beta", Roles.Ingest));
        }

        await using var engine = await EngineHost.StartAsync(data.Path, [.. args]);
        V1.RecordEventsRequest Batch(int n) => new() { Events = { Enumerable.Range(0, n).Select(_ => Wire.Event(Ids.Customer(), 50)) } };

        await engine.Ingest.RecordEventsAsync(Batch(5), TenantEngineFixture.As("a1"));
        var refused = await Assert.ThrowsAsync<RpcException>(() => engine.Ingest.RecordEventsAsync(Batch(3), TenantEngineFixture.As("a2")).ResponseAsync);
        Assert.Equal(StatusCode.ResourceExhausted, refused.StatusCode);
        Assert.Contains("tenant 'alpha'", refused.Status.Detail);
        Assert.Contains("EventsPerSecondPerTenant", refused.Status.Detail);

        var other = await engine.Ingest.RecordEventsAsync(Batch(5), TenantEngineFixture.As("b1"));
        Assert.All(other.Results, r => Assert.Equal(V1.EventStatus.Applied, r.Status));
    }
}
