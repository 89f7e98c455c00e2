using CxEngine.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using V1 = CxEngine.Contracts.V1;

namespace CxEngine.Tests.Service;

/// <summary>The deadline sweep handles each customer on its own: one that cannot be loaded stalls nobody else.</summary>
public sealed class DeadlineSweepTests
{
    [Fact]
    public async Task CustomerThatCannotEscalate_DoesNotStallTheOthers()
    {
        using var data = new TempDirectory("sweep");
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var broken = Ids.Customer("broken");
        var healthy = Ids.Customer("healthy");
        void UseClock(WebApplicationBuilder b) => b.Services.AddKeyedSingleton<TimeProvider>(EngineClock.Key, clock);

        await using (var first = await EngineHost.StartAsync(data.Path, UseClock))
        {
            // Both fall below baseline: one action each, the broken customer's due first.
            foreach (var customer in new[] { broken, healthy })
            {
                foreach (var x in new[] { 50.0, 50, 50 })
                {
                    await first.Ingest.RecordEventAsync(Wire.Event(customer, x, "standard"));
                }

                clock.Advance(TimeSpan.FromMinutes(1));
            }
        }

        // The broken customer's snapshot becomes unreadable: its grain cannot activate, so it cannot escalate.
        await using (var db = new SqliteConnection($"Data Source={Path.Combine(data.Path, "cxengine.db")};Pooling=false"))
        {
            await db.OpenAsync();
            await using var corrupt = db.CreateCommand();
            corrupt.CommandText = "UPDATE cx_customers SET snapshot = x'DEADBEEF' WHERE customer_id = $c";
            corrupt.Parameters.AddWithValue("$c", broken);
            Assert.Equal(1, await corrupt.ExecuteNonQueryAsync());
        }

        clock.Advance(TimeSpan.FromHours(25));
        await using var second = await EngineHost.StartAsync(data.Path, UseClock, "--CxEngine:Recovery:OverdueSweepInterval=00:00:10");
        await using var watcher = new Watcher(second.Recovery, new V1.WatchActionsRequest { AfterSequence = 0 });
        clock.Advance(TimeSpan.FromSeconds(10));

        var entries = await watcher.WaitForAsync(r => r.Any(a => a.CustomerId == healthy && a.Change == V1.ActionChange.Overdue), "the healthy customer's OVERDUE entry");
        Assert.DoesNotContain(entries, a => a.CustomerId == broken && a.Change == V1.ActionChange.Overdue);
    }
}
