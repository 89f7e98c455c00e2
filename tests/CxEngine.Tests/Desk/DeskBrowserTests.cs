using CxEngine.Silo.Security;
using CxEngine.Tests.Security;
using CxEngine.Tests.Service;
using Grpc.Core;
using OpenQA.Selenium;
using V1 = CxEngine.Contracts.V1;

namespace CxEngine.Tests.Desk;

/// <summary>An engine with credentials (an admin key, a read-only key, another tenant's key) and one headless Chromium.</summary>
public sealed class DeskFixture : IAsyncLifetime
{
    private readonly TempDirectory _data = new("desk");

    public EngineHost Host { get; private set; } = null!;

    internal Browser Browser { get; private set; } = null!;

    public static readonly string[] Keys = ["desk-admin", "desk-reader", "globex-desk"];

    public static Metadata As(string name) => Credentials.ApiKey(TenantEngineFixture.KeyOf(name));

    public async Task InitializeAsync()
    {
        var args = new List<string>();
        void Key(int i, string name, string? tenant, params string[] roles) => args.AddRange(Credentials.KeyArgs(i, name, tenant, roles));

        Key(0, "desk-admin", null, Roles.All);
        Key(1, "desk-reader", null, Roles.Read);
        Key(2, "globex-desk", "globex", Roles.All);
        args.Add($"--CxEngine:Security:Jwt:Issuer={Credentials.Issuer}");
        args.Add($"--CxEngine:Security:Jwt:SigningKey={Convert.ToBase64String(Credentials.SigningKey)}");
        Host = await EngineHost.StartAsync(_data.Path, [.. args]);
        Browser = new Browser();
    }

    public async Task DisposeAsync()
    {
        Browser?.Dispose();
        await Host.DisposeAsync();
        _data.Dispose();
    }
}

/// <summary>
/// The recovery desk in a real browser against the real engine: sign-in, the live queue, acknowledge and bulk resolve,
/// the customer page with its chart, the tier preview, and tenants kept apart.
/// </summary>
[Collection(DeskCollection.Name)]
public sealed class DeskBrowserTests(DeskFixture fixture) : IClassFixture<DeskFixture>
{
    private EngineHost Engine => fixture.Host;

    private Browser Browser => fixture.Browser;

    private string Url(string path) => $"{Engine.HttpUrl.TrimEnd('/')}/{path.TrimStart('/')}";

    /// <summary>Cookies are the current site's: the browser is taken to the desk's site before its cookies are deleted.</summary>
    private void SignOutAll()
    {
        Browser.Open(Url("desk/signin"));
        Browser.Driver.Manage().Cookies.DeleteAllCookies();
        Browser.Open(Url("desk/signin")); // a fresh form: the deleted cookies took its antiforgery cookie along
    }

    private void SignIn(string key)
    {
        SignOutAll();
        Browser.Open(Url("desk"));
        Browser.Until(d => d.Url.Contains("/desk/signin", StringComparison.Ordinal), "the sign-in page for a visitor without a session");
        Browser.Find("#credential")!.SendKeys(TenantEngineFixture.KeyOf(key));
        Browser.Find("form.signin button[type=submit]")!.Click();
        Browser.Until(d => d.FindElements(By.CssSelector("h1")).FirstOrDefault(h => h.Text == "Recovery queue"), "the queue after signing in");
        WaitLive();
    }

    /// <summary>
    /// The queue's circuit is up and following the feed. Until then the rows are the prerendered ones, which the circuit
    /// replaces (an element found before it would go stale).
    /// </summary>
    private void WaitLive() => WaitLive(Browser);

    private static void WaitLive(Browser browser) =>
        browser.Until(d => d.FindElement(By.CssSelector("table.queue caption")).Text.Contains("live", StringComparison.Ordinal), "the live queue");

    private IWebElement? Row(string actionId) => Browser.Find($"tr[data-action-id='{actionId}']");

    private async Task<V1.RecoveryAction> RaiseAsync(string customer, string key = "desk-admin")
    {
        var result = await Engine.Ingest.RecordEventAsync(Wire.Awful(customer, "premium"), DeskFixture.As(key));
        Assert.Equal(V1.ActionChange.Raised, result.Action.Change);
        return result.Action;
    }

    [Fact]
    public async Task SignIn_AsksForAKey_ThenTheKeysRolesApply_AReadOnlyKeySeesTheQueueAndCannotAct()
    {
        var action = await RaiseAsync(Ids.Customer("signin"));

        SignOutAll();
        Browser.Find("#credential")!.SendKeys("not-a-key-of-this-engine");
        Browser.Find("form.signin button[type=submit]")!.Click();
        Browser.Until(d => d.FindElements(By.CssSelector("[role=alert]")).FirstOrDefault(e => e.Text.Contains("does not know this key", StringComparison.Ordinal)), "the refusal of an unknown key");

        SignIn("desk-admin");
        Assert.NotNull(Row(action.ActionId)?.FindElements(By.XPath(".//button[text()='Acknowledge']")).SingleOrDefault());
        Assert.Contains("desk-admin", Browser.Text());

        SignIn("desk-reader");
        var row = Browser.Until(_ => Row(action.ActionId), "the action for the read-only key");
        Assert.Empty(row.FindElements(By.TagName("button")));
        Assert.Contains("read-only", Browser.Text());
        Assert.Null(Browser.Find("#bulk-resolve"));
        Browser.Screenshot("desk-read-only");
    }

    [Fact]
    public async Task SignIn_WithABearerToken_TakesItsRoles_AndSignOutEndsTheSession()
    {
        var action = await RaiseAsync(Ids.Customer("token"));
        SignOutAll();
        Browser.Find("#credential")!.SendKeys(Credentials.Token(Roles.Read));
        Browser.Find("form.signin button[type=submit]")!.Click();
        WaitLive();
        var row = Browser.Until(_ => Row(action.ActionId), "the queue for a token with the read role");
        Assert.Empty(row.FindElements(By.TagName("button")));
        Assert.Contains("svc-read", Browser.Text());

        Browser.Find("form.signout button")!.Click();
        Browser.Until(d => d.Url.Contains("/desk/signin", StringComparison.Ordinal), "the sign-in page after signing out");
        Browser.Open(Url("desk"));
        Browser.Until(d => d.Url.Contains("/desk/signin", StringComparison.Ordinal), "the sign-in page again: the session is gone");
    }

    [Fact]
    public async Task ANewAction_AppearsLive_AndIsAcknowledgedFromItsRow()
    {
        SignIn("desk-admin");
        WaitLive();

        var action = await RaiseAsync(Ids.Customer("live"));
        var row = Browser.Until(_ => Row(action.ActionId), "the new action, without a reload");
        Assert.Contains("High", row.Text);
        Assert.Contains("due in", row.Text);

        row.FindElement(By.XPath(".//button[text()='Acknowledge']")).Click();
        Browser.Until(_ => Row(action.ActionId)?.Text.Contains("Acknowledged", StringComparison.Ordinal), "the row acknowledged");
        var stored = Assert.Single((await Engine.Recovery.ListActionsAsync(new V1.ListActionsRequest { CustomerId = action.CustomerId }, DeskFixture.As("desk-admin"))).Actions);
        Assert.Equal((V1.ActionStatus.Acknowledged, "desk-admin", "desk-admin"), (stored.Status, stored.AcknowledgedBy, stored.AcknowledgedVia));
        Browser.Screenshot("desk-queue");
    }

    [Fact]
    public async Task BulkResolve_ClosesEverySelectedAction_AndLeavesTheOthers()
    {
        var chosen = new[] { await RaiseAsync(Ids.Customer("bulk")), await RaiseAsync(Ids.Customer("bulk")) };
        var left = await RaiseAsync(Ids.Customer("bulk-left"));
        SignIn("desk-admin");
        WaitLive();

        foreach (var action in chosen)
        {
            Browser.Until(_ => Row(action.ActionId), $"{action.ActionId} in the queue").FindElement(By.CssSelector("input[type=checkbox]")).Click();
        }

        Browser.Until(d => d.FindElement(By.Id("bulk-resolve")).Text.Contains("(2)", StringComparison.Ordinal), "two actions selected");
        Browser.Find("#bulk-resolve")!.Click();
        Browser.Until(_ => chosen.All(a => Row(a.ActionId) is null), "the resolved actions leaving the queue");
        Assert.NotNull(Row(left.ActionId));
        Assert.Contains("2 of 2 actions resolved", Browser.Find("#status")!.Text);
        foreach (var action in chosen)
        {
            var stored = Assert.Single((await Engine.Recovery.ListActionsAsync(new V1.ListActionsRequest { CustomerId = action.CustomerId }, DeskFixture.As("desk-admin"))).Actions);
            Assert.Equal(V1.ActionStatus.Resolved, stored.Status);
        }
    }

    [Fact]
    public async Task TheCustomerPage_DrawsScoreExpectationAndBaseline_AndExplainsEachChange()
    {
        var customer = Ids.Customer("page");
        var action = await RaiseAsync(customer);
        for (var i = 0; i < 3; i++)
        {
            await Engine.Ingest.RecordEventAsync(Wire.Event(customer, 30 + (15 * i), at: Wire.T0.AddHours(i + 1)), DeskFixture.As("desk-admin"));
        }

        // An open promise, with its deadlines on the page.
        await Engine.Ingest.RecordEventAsync(PromiseWire.Registration(customer, "refund-1", DateTime.UtcNow, TimeSpan.FromDays(2)), DeskFixture.As("desk-admin"));

        SignIn("desk-admin");
        Browser.Open(Url($"desk/customers/{customer}"));
        Browser.Until(d => d.FindElements(By.CssSelector("h1")).FirstOrDefault(h => h.Text.Contains(customer, StringComparison.Ordinal)), "the customer's page");
        var score = Browser.Find("svg polyline.score")!.GetAttribute("points")!.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(5, score.Length);
        Assert.NotNull(Browser.Find("svg polyline.expectation"));
        Assert.NotNull(Browser.Find("svg line.baseline"));
        Assert.Equal(5, Browser.Driver.FindElements(By.CssSelector("section[aria-labelledby=why-title] tbody tr")).Count);
        Assert.Contains($"Open action {action.ActionId}", Browser.Text());
        Assert.Contains("Playbook", Browser.Text());
        Assert.Contains("needs approval", Browser.Text());
        Assert.Contains("refund-1: promised for", Browser.Find("section[aria-labelledby=promises-title]")!.Text);
        Browser.Screenshot("desk-customer");

        Browser.Open(Url("desk/at-risk"));
        Browser.Until(d => d.FindElements(By.CssSelector("main a")).FirstOrDefault(a => a.Text == customer || d.FindElements(By.CssSelector("a[rel=next]")).Count > 0), "the at-risk list");
        Browser.Screenshot("desk-at-risk");
    }

    [Fact]
    public async Task TheTierPreview_ShowsWhomTheChangeWouldMove_AndChangesNothingUntilSaved()
    {
        await RaiseAsync(Ids.Customer("tiered"));
        SignIn("desk-admin");
        Browser.Open(Url("desk/tiers"));
        Browser.Until(d => d.FindElements(By.CssSelector("h1[data-interactive=true]")).FirstOrDefault(), "the tiers page, interactive");
        Browser.Find("#tier option[value=premium]")!.Click();
        Browser.Until(d => d.FindElement(By.CssSelector("legend")).Text.Contains("premium", StringComparison.Ordinal), "premium's settings");
        var baseline = Browser.Find("#baseline")!;
        baseline.Clear();
        baseline.SendKeys("20" + Keys.Tab);
        Browser.Find("#preview")!.Click();
        var report = Browser.Until(_ => Browser.Find("#preview-report"), "the dry-run report");
        Assert.Contains("Dry run", report.Text);
        Assert.Contains("Below the baseline", report.Text);
        Assert.Contains("Preview ready: nothing was changed.", Browser.Find("#status")!.Text);
        Browser.Screenshot("desk-tiers");

        var premium = (await Engine.Policies.ListTiersAsync(new V1.ListTiersRequest(), DeskFixture.As("desk-admin"))).Tiers.Single(t => t.Name == "premium");
        Assert.NotEqual(20, premium.Baseline);
    }

    [Fact]
    public async Task ASecondTenant_SeesNoneOfTheFirstsData()
    {
        var customer = Ids.Customer("tenant-one");
        var action = await RaiseAsync(customer);
        var theirs = await RaiseAsync(Ids.Customer("tenant-two"), "globex-desk");

        SignIn("globex-desk");
        Browser.Until(_ => Row(theirs.ActionId), "the second tenant's own action");
        Assert.Null(Row(action.ActionId));
        Assert.Contains("tenant globex", Browser.Text());

        Browser.Open(Url($"desk/customers/{customer}"));
        Browser.Until(d => d.FindElements(By.CssSelector("[role=alert]")).FirstOrDefault(e => e.Text.Contains("unknown", StringComparison.Ordinal)), "the first tenant's customer as unknown");
    }

    [Fact]
    public async Task OnAPhone_TheQueueStacksItsRows_AndKeepsItsButtons()
    {
        var action = await RaiseAsync(Ids.Customer("phone"));
        using var phone = new Browser(phone: true);
        phone.Open(Url("desk/signin"));
        phone.Find("#credential")!.SendKeys(TenantEngineFixture.KeyOf("desk-admin"));
        phone.Find("form.signin button[type=submit]")!.Click();
        WaitLive(phone);
        var row = phone.Until(d => d.FindElements(By.CssSelector($"tr[data-action-id='{action.ActionId}']")).FirstOrDefault(), "the queue on a phone");
        phone.Screenshot("desk-phone");
        var button = row.FindElement(By.XPath(".//button[text()='Resolve']"));
        Assert.True(button.Displayed);
        Assert.True(button.Location.X + button.Size.Width <= Browser.PhoneWidth, "the Resolve button must fit the phone's width");
        Assert.True((long)phone.Driver.ExecuteScript("return document.documentElement.scrollWidth")! <= Browser.PhoneWidth, "nothing may make the page wider than the phone");
    }
}

[CollectionDefinition(Name)]
public sealed class DeskCollection
{
    public const string Name = "desk";
}
