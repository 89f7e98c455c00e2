using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using CxEngine.Tests.Service;
using V1 = CxEngine.Contracts.V1;

namespace CxEngine.Tests.Webhooks;

/// <summary>
/// The real engine host pushing its action log to a real receiver on loopback (the sample's verifying
/// endpoint), with retries shortened by configuration rather than waited out.
/// </summary>
public sealed class WebhookDeliveryTests(Xunit.Abstractions.ITestOutputHelper output)
{
    internal static string[] Settings(string url, string secret, params string[] more) =>
    [
        $"--CxEngine:Webhooks:Endpoints:0:Url={url}",
        $"--CxEngine:Webhooks:Endpoints:0:Secret={secret}",
        "--CxEngine:Webhooks:RetryBaseDelay=00:00:00.050",
        "--CxEngine:Webhooks:RetryMaxDelay=00:00:00.400",
        // Long enough that a loaded machine never times out a POST the receiver did take (that would be a legitimate resend).
        "--CxEngine:Webhooks:AttemptTimeout=00:00:10",
        "--CxEngine:Webhooks:LeaseDuration=00:00:03",
        .. more,
    ];

    private static async Task RaiseAsync(EngineHost engine, IEnumerable<string> customers)
    {
        foreach (var customer in customers)
        {
            var result = await engine.Ingest.RecordEventAsync(Wire.Awful(customer, "premium"));
            Assert.Equal(V1.EventStatus.Applied, result.Status);
            Assert.Equal(V1.ActionChange.Raised, result.Action.Change);
        }
    }

    internal static async Task<V1.ListWebhookDeliveriesResponse> WaitForAsync(
        EngineHost engine, Func<V1.ListWebhookDeliveriesResponse, bool> done, string what, int seconds = 30)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            var deliveries = await engine.Recovery.ListWebhookDeliveriesAsync(new V1.ListWebhookDeliveriesRequest());
            if (done(deliveries))
            {
                return deliveries;
            }

            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"no {what} within {seconds} s; last: {deliveries}");
            }

            await Task.Delay(50);
        }
    }

    private static async Task<IReadOnlyList<V1.RecoveryAction>> LogAsync(EngineHost engine, int count)
    {
        await using var watcher = new Watcher(engine.Recovery, new V1.WatchActionsRequest { AfterSequence = 0 });
        return await watcher.WaitForAsync(r => r.Count >= count, $"the {count} log entries");
    }

    [Fact]
    public async Task Entries_ArriveSignedAsProto3Json_InLogOrder_OnceEach_AndFilteredOnesOnlyMoveThePosition()
    {
        using var data = new TempDirectory("webhooks");
        var secret = Receiver.NewSecret();
        await using var receiver = new Receiver(secret);
        await receiver.StartAsync();
        // A second endpoint that wants basic-tier actions only, at an address where nothing listens: it must
        // never be called, and still move past every entry.
        var nowhere = $"http://127.0.0.1:{Ports.Free()}/never?token=do-not-show";
        await using var engine = await EngineHost.StartAsync(data.Path, Settings(receiver.Url, secret,
            "--CxEngine:Webhooks:Endpoints:1:Name=basic-desk",
            $"--CxEngine:Webhooks:Endpoints:1:Url={nowhere}",
            $"--CxEngine:Webhooks:Endpoints:1:Secret={Receiver.NewSecret()}",
            "--CxEngine:Webhooks:Endpoints:1:Tiers:0=basic"));

        var customers = Enumerable.Range(0, 6).Select(i => Ids.Customer($"wh{i}")).ToArray();
        await RaiseAsync(engine, customers);
        await engine.Recovery.AcknowledgeActionAsync(new V1.ActionRef { ActionId = $"{customers[2]}#1", By = "desk-7", Note = "calling back" });

        var log = await LogAsync(engine, 7);
        var handled = await receiver.WaitForAsync(7, "7 webhooks");
        var caughtUp = await WaitForAsync(engine, r => r.Deliveries.All(d => d.Position == 7), "both endpoints at position 7");

        Assert.Equal(log.Select(a => $"{a.ActionId}:{a.Revision}"), handled.Select(h => h.Id));
        Assert.Equal(log, handled.Select(h => h.Action));
        Assert.Equal(V1.ActionChange.Acknowledged, handled[6].Action.Change);
        // Each POSTed once, and every signature verified (a bad one would have been answered 401).
        Assert.Equal(handled.Select(h => (h.Id, 200)), receiver.Requests);

        var (main, filtered) = (caughtUp.Deliveries[0], caughtUp.Deliveries[1]);
        Assert.Equal(7, caughtUp.Head);
        Assert.Equal((receiver.Url, receiver.Url, 0L, 0, ""), (main.Name, main.Url, main.LagEntries, main.Attempts, main.LastError));
        Assert.Equal(0, main.LagSeconds);
        Assert.NotEmpty(main.Silo);
        Assert.NotNull(main.LastDeliveredAt);
        // Filtered out: passed over without a single attempt; its URL is shown without the query.
        Assert.Equal(("basic-desk", nowhere[..nowhere.IndexOf('?', StringComparison.Ordinal)], 0L, 0, ""),
            (filtered.Name, filtered.Url, filtered.LagEntries, filtered.Attempts, filtered.LastError));
        Assert.DoesNotContain("do-not-show", caughtUp.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(secret["whsec_".Length..], caughtUp.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task EndpointDown_GetsEverythingOnceBack_InOrder_NothingMissing_AlsoAcrossAnEngineRestart()
    {
        using var data = new TempDirectory("webhooks-down");
        var secret = Receiver.NewSecret();
        await using var receiver = new Receiver(secret) { Unavailable = true };
        await receiver.StartAsync();
        var settings = Settings(receiver.Url, secret);
        var customers = Enumerable.Range(0, 15).Select(i => Ids.Customer($"down{i}")).ToArray();

        await using (var engine = await EngineHost.StartAsync(data.Path, settings))
        {
            // Up but failing: retried with back-off, and the read RPC says how it stands.
            await RaiseAsync(engine, customers[..5]);
            var failing = await WaitForAsync(engine, r => r.Deliveries[0].Attempts >= 3, "three failed attempts at a 503 endpoint");
            var delivery = failing.Deliveries[0];
            Assert.Equal((0L, 5L), (delivery.Position, delivery.LagEntries));
            Assert.Contains("HTTP 503", delivery.LastError, StringComparison.Ordinal);
            Assert.NotNull(delivery.LastErrorAt);
            Assert.True(delivery.LagSeconds > 0, $"lag {delivery.LagSeconds} s");
            Assert.DoesNotContain(receiver.Requests, r => r.Status == 200);

            receiver.Unavailable = false;
            await receiver.WaitForAsync(5, "the first 5 once the endpoint answers again");
            await WaitForAsync(engine, r => r.Deliveries[0].Position == 5, "position 5 stored");

            // Down altogether: the next entries wait for it.
            await receiver.StopAsync();
            await RaiseAsync(engine, customers[5..10]);
            var down = await WaitForAsync(engine, r => r.Deliveries[0].Attempts >= 2, "attempts at a stopped endpoint");
            Assert.Equal((10L, 5L, 5L), (down.Head, down.Deliveries[0].Position, down.Deliveries[0].LagEntries));
            Assert.NotEmpty(down.Deliveries[0].LastError);
            Assert.DoesNotContain("HTTP 503", down.Deliveries[0].LastError, StringComparison.Ordinal);
        }

        // The engine restarts while the endpoint is still down, and more actions come.
        await using (var engine = await EngineHost.StartAsync(data.Path, settings))
        {
            await RaiseAsync(engine, customers[10..]);
            await receiver.StartAsync();
            var handled = await receiver.WaitForAsync(15, "all 15 entries once the endpoint and the engine are back");
            var log = await LogAsync(engine, 15);
            await WaitForAsync(engine, r => r.Deliveries[0] is { Position: 15, LagEntries: 0, Attempts: 0 }, "caught up at 15");

            // Nothing missing, in log order.
            Assert.Equal(log.Select(a => $"{a.ActionId}:{a.Revision}"), handled.Select(h => h.Id));
            Assert.Equal(customers.Select(c => $"{c}#1:1"), handled.Select(h => h.Id));
            // At least once allows a resend of what was sent but not yet recorded; here every position was stored
            // (the engine stopped cleanly), so each entry was accepted exactly once, the first five not again after the restart.
            Assert.Equal(handled.Select(h => h.Id), receiver.Requests.Where(r => r.Status == 200).Select(r => r.Id));
        }
    }

    [Fact]
    public async Task DeadEndpoint_DoesNotSlowIngest_ItOnlyFallsBehind()
    {
        // Accepts connections and never answers: each attempt waits out its timeout.
        using var blackHole = new TcpListener(IPAddress.Loopback, 0);
        blackHole.Start();
        var held = new ConcurrentBag<Socket>();
        using var closing = new CancellationTokenSource();
        var accepting = Task.Run(async () =>
        {
            try
            {
                while (true)
                {
                    held.Add(await blackHole.AcceptSocketAsync(closing.Token));
                }
            }
            catch (OperationCanceledException)
            {
            }
        });

        using var data = new TempDirectory("webhooks-dead");
        var url = $"http://127.0.0.1:{((IPEndPoint)blackHole.LocalEndpoint).Port}/hook";
        await using (var engine = await EngineHost.StartAsync(data.Path, Settings(url, Receiver.NewSecret(), "--CxEngine:Webhooks:AttemptTimeout=00:00:00.500")))
        {
            const int Events = 300;
            var latencies = new ConcurrentBag<double>();
            var total = Stopwatch.StartNew();
            await Parallel.ForEachAsync(Enumerable.Range(0, Events), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, ct) =>
            {
                var started = Stopwatch.GetTimestamp();
                var result = await engine.Ingest.RecordEventAsync(Wire.Awful(Ids.Customer($"dead{i}"), "premium"), cancellationToken: ct);
                latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                Assert.Equal(V1.EventStatus.Applied, result.Status);
            });
            total.Stop();
            var sorted = latencies.Order().ToArray();
            output.WriteLine($"{Events} events, each raising an action, with the endpoint never answering: {total.ElapsedMilliseconds} ms, " +
                $"ack p50 {sorted[Events / 2]:F1} ms, p99 {sorted[Events * 99 / 100]:F1} ms, max {sorted[^1]:F1} ms");

            // Every event applied at once, each raising an action the endpoint cannot take.
            Assert.True(latencies.Max() < 2000, $"slowest ack {latencies.Max():F0} ms (all {Events} in {total.ElapsedMilliseconds} ms)");
            var behind = await WaitForAsync(engine, r => r.Deliveries[0].Attempts >= 2, "failed attempts at the dead endpoint");
            Assert.Equal((Events, 0L, (long)Events), (behind.Head, behind.Deliveries[0].Position, behind.Deliveries[0].LagEntries));
            Assert.Contains("AttemptTimeout", behind.Deliveries[0].LastError, StringComparison.Ordinal);

            // The operator's metrics say the same, per endpoint.
            using var http = new HttpClient { BaseAddress = new Uri(engine.OperatorUrl) };
            var endpoint = System.Text.RegularExpressions.Regex.Escape($"endpoint=\"{url}\"");
            string[] expected =
            [
                $"cx_webhooks_position{{[^}}]*{endpoint}}} 0$", $"cx_webhooks_lag_entries{{[^}}]*{endpoint}}} {Events}$",
                $"cx_webhooks_lag_seconds{{[^}}]*{endpoint}}} [1-9]", $"cx_webhooks_failures_total{{[^}}]*{endpoint}}} [1-9]",
                $"cx_webhooks_pending_attempts{{[^}}]*{endpoint}}} [1-9]", $"cx_webhooks_last_error_time_seconds{{[^}}]*{endpoint}}} 1[0-9]{{9}}",
            ];
            bool Shows(string scrape, string line) =>
                System.Text.RegularExpressions.Regex.IsMatch(scrape, "^" + line, System.Text.RegularExpressions.RegexOptions.Multiline);
            var scrape = "";
            for (var i = 0; i < 40 && !expected.All(line => Shows(scrape, line)); i++)
            {
                await Task.Delay(250);
                scrape = await http.GetStringAsync("/metrics");
            }

            Assert.All(expected, line => Assert.True(Shows(scrape, line), $"no line like {line} in\n{scrape}"));
        }

        await closing.CancelAsync();
        await accepting;
        foreach (var socket in held)
        {
            socket.Dispose();
        }
    }
}
