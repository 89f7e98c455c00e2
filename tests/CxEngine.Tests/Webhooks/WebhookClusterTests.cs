using CxEngine.Tests.Durability;
using CxEngine.Tests.Service;
using V1 = CxEngine.Contracts.V1;

namespace CxEngine.Tests.Webhooks;

/// <summary>
/// Two silo processes on one PostgreSQL database, both configured with the same endpoint: the lease lets one
/// deliver at a time, and when that one is SIGKILLed the other takes over from the stored position once the
/// lease runs out.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class WebhookClusterTests
{
    [Fact]
    public async Task TwoSilos_OneDeliversAtATime_AndWhenItDies_TheOtherGoesOnFromTheStoredPosition()
    {
        var secret = Receiver.NewSecret();
        await using var receiver = new Receiver(secret);
        await receiver.StartAsync();
        var settings = new Dictionary<string, string>
        {
            ["CxEngine:Storage:Provider"] = "PostgreSql",
            ["CxEngine:Storage:ConnectionString"] = await TestPostgres.CreateDatabaseAsync("webhooks"),
            ["CxEngine:Cluster:ServiceId"] = "webhook-test",
            ["CxEngine:Cluster:ClusterId"] = $"webhooks-{Guid.NewGuid():N}",
        };
        foreach (var setting in WebhookDeliveryTests.Settings(receiver.Url, secret))
        {
            var (key, value) = (setting[2..setting.IndexOf('=', StringComparison.Ordinal)], setting[(setting.IndexOf('=', StringComparison.Ordinal) + 1)..]);
            settings[key] = value;
        }

        var ports = (A: Ports.Free(), B: Ports.Free());
        await using var a = await SiloProcess.StartAsync("a", settings, ports.A);
        await using var b = await SiloProcess.StartAsync("b", settings, ports.B);
        var customers = Enumerable.Range(0, 20).Select(i => Ids.Customer($"cluster{i}")).ToArray();

        // A silo address reads "S{ip}:{port}:{generation}".
        static bool Names(string silo, int port) => silo.Contains($":{port}:", StringComparison.Ordinal);

        async Task RaiseThroughBothAsync(IEnumerable<string> batch)
        {
            var i = 0;
            foreach (var customer in batch)
            {
                var silo = i++ % 2 == 0 ? a : b;
                Assert.Equal(V1.EventStatus.Applied, (await silo.Ingest.RecordEventAsync(Wire.Awful(customer, "premium"))).Status);
            }
        }

        async Task<V1.WebhookDelivery> WaitForAsync(SiloProcess silo, Func<V1.WebhookDelivery, bool> done, string what)
        {
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (true)
            {
                var delivery = (await silo.Recovery.ListWebhookDeliveriesAsync(new V1.ListWebhookDeliveriesRequest())).Deliveries[0];
                if (done(delivery))
                {
                    return delivery;
                }

                Assert.True(DateTime.UtcNow < deadline, $"no {what} within 30 s; last: {delivery}");
                await Task.Delay(50);
            }
        }

        // Entries written by both silos reach the endpoint from one of them, in log order.
        await RaiseThroughBothAsync(customers[..10]);
        await receiver.WaitForAsync(10, "the first 10 entries");
        // Positions are sequences, which PostgreSQL does not number consecutively: the 10th entry's, as the log has it.
        long tenth;
        await using (var first = new Watcher(a.Recovery, new V1.WatchActionsRequest { AfterSequence = 0 }))
        {
            tenth = (await first.WaitForAsync(r => r.Count >= 10, "the first 10 log entries"))[9].Sequence;
        }

        var seenFromA = await WaitForAsync(a, d => d.Position == tenth, "the 10th entry's position seen from silo a");
        var seenFromB = await WaitForAsync(b, d => d.Position == tenth, "the 10th entry's position seen from silo b");
        Assert.Equal(seenFromA.Silo, seenFromB.Silo);
        var (owner, survivor, survivorPort) = Names(seenFromA.Silo, ports.A) ? (a, b, ports.B) : (b, a, ports.A);
        Assert.True(Names(seenFromA.Silo, owner == a ? ports.A : ports.B), $"'{seenFromA.Silo}' names neither silo port {ports.A} nor {ports.B}");

        // The endpoint starts failing, the delivering silo retries, and then it dies holding the lease.
        receiver.Unavailable = true;
        await RaiseThroughBothAsync(customers[10..]);
        await WaitForAsync(survivor, d => d.Attempts >= 2, "failed attempts by the delivering silo");
        owner.Kill();
        receiver.Unavailable = false;

        var handled = await receiver.WaitForAsync(20, "all 20 entries once the other silo took over", seconds: 45);
        await using var watcher = new Watcher(survivor.Recovery, new V1.WatchActionsRequest { AfterSequence = 0 });
        var log = await watcher.WaitForAsync(r => r.Count >= 20, "the 20 log entries");
        var after = await WaitForAsync(survivor, d => d.Position == log[19].Sequence, "the 20th entry's position stored by the survivor");
        Assert.True(Names(after.Silo, survivorPort), $"'{after.Silo}' is not the surviving silo (port {survivorPort})");
        Assert.Equal(log.Select(e => $"{e.ActionId}:{e.Revision}"), handled.Select(h => h.Id));
        // The dead silo had stored position 10 and never had entry 11 accepted, so nothing was sent twice.
        Assert.Equal(handled.Select(h => h.Id), receiver.Requests.Where(r => r.Status == 200).Select(r => r.Id));
    }
}
