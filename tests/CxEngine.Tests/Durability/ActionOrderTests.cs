using System.Text;
using CxEngine.Scoring;
using CxEngine.Tests.Scoring;
using CxEngine.Tests.Service;
using Npgsql;
using Xunit.Abstractions;
using V1 = CxEngine.Contracts.V1;

namespace CxEngine.Tests.Durability;

/// <summary>
/// Two silos on one PostgreSQL database raise and recover hundreds of actions at the same moment: a watcher
/// on one of them receives the action log in sequence order, never a later entry before an earlier one, and
/// once the load is over it has received every entry the log holds, none skipped. The commits take no lock: readers
/// stop at the settled part of the log (ActionSequences); without that stop this test misses entries (checked once).
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class ActionOrderTests(ITestOutputHelper output)
{
    private const int Customers = 400;
    private const int Cycles = 4;
    private const int DelightsPerCycle = 4;
    private const int EventsPerCustomer = Cycles * (1 + DelightsPerCycle);

    [Fact]
    public async Task TwoSilosRaisingAndRecoveringAtOnce_WatcherSeesTheLogInSequenceOrder_AndSkipsNothing()
    {
        var database = await TestPostgres.CreateDatabaseAsync("order");
        var settings = new Dictionary<string, string>
        {
            ["CxEngine:Storage:Provider"] = "PostgreSql",
            ["CxEngine:Storage:ConnectionString"] = database,
            ["CxEngine:Cluster:ServiceId"] = "order-test",
            ["CxEngine:Cluster:ClusterId"] = $"order-{Guid.NewGuid():N}",
        };

        await using var a = await SiloProcess.StartAsync("a", settings);
        await using var b = await SiloProcess.StartAsync("b", settings);
        V1.Ingest.IngestClient[] silos = [a.Ingest, b.Ingest];

        // Premium customers that fall below the baseline and climb back, again and again: a RAISED and a
        // RECOVERED entry per cycle, written by whichever silo hosts the customer, both silos at once.
        var run = Guid.NewGuid().ToString("N")[..8];
        var byCustomer = Enumerable.Range(0, Customers)
            .Select(c => $"order-{run}-{c:D4}")
            .ToDictionary(id => id, FallAndRecover);
        var expectedEntries = byCustomer.Values.Sum(ExpectedLogEntries);

        await using var watcher = new Watcher(a.Recovery, new V1.WatchActionsRequest { AfterSequence = 0 });

        // Wave n: the n-th event of every customer, half of the customers through each silo, concurrently;
        // what storage could not take is sent again (same id) before the customer's next event.
        var unavailable = 0;
        for (var n = 0; n < EventsPerCustomer; n++)
        {
            unavailable += await SendUntilAcceptedAsync(silos, [.. byCustomer.Values.Select(events => events[n])], TimeSpan.FromSeconds(30));
        }

        output.WriteLine($"{unavailable} answers were UNAVAILABLE and sent again");
        foreach (var silo in new[] { a, b })
        {
            // Why, when it was not zero: the first distinct errors each silo logged.
            var errors = silo.Log.Split('\n').Where(l => l.Contains("Exception (", StringComparison.Ordinal)).Select(l => l.Trim()).Distinct().Take(3);
            output.WriteLine($"silo {silo.Name}: {string.Join(" | ", errors)}");
        }

        // Two silos drawing sequences at once never collide: each transaction draws from a range of its own (no lock).
        Assert.Equal(0, unavailable);

        var log = await ReadActionLogAsync(database);
        output.WriteLine($"{log.Count} action-log entries, sequences {log.FirstOrDefault().Sequence}..{log.LastOrDefault().Sequence}");
        Assert.Equal(expectedEntries, log.Count);

        // Everything is committed before it is acknowledged; the watcher may still be on its way to the last entries.
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (watcher.Received.Count < log.Count && IsStrictlyIncreasing([.. watcher.Received]) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        var received = watcher.Received.ToArray();
        AssertStrictlyIncreasing(received);
        var skipped = log.Select(e => e.Sequence).Except(received.Select(r => r.Sequence)).ToArray();
        Assert.True(skipped.Length == 0,
            $"the watcher received {received.Length} of the log's {log.Count} entries; it never got {skipped.Length} of them, e.g. sequences {string.Join(", ", skipped.Take(10))}");
        Assert.Equal(log, received.Select(r => (r.Sequence, r.ActionId, r.Revision)).ToList());
    }

    /// <summary>Per customer: a very bad contact (below the premium baseline), then delighted contacts that bring it back above baseline + 5.</summary>
    private static V1.InteractionEvent[] FallAndRecover(string customerId)
    {
        var events = new List<V1.InteractionEvent>(EventsPerCustomer);
        for (var cycle = 0; cycle < Cycles; cycle++)
        {
            var awful = Wire.Awful(customerId, events.Count == 0 ? "premium" : "");
            awful.EventId = $"{customerId}-e{events.Count:D3}";
            awful.OccurredAt = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTime(Wire.T0.AddMinutes(events.Count));
            events.Add(awful);
            for (var i = 0; i < DelightsPerCycle; i++)
            {
                var delight = Wire.Event(customerId, 100, at: Wire.T0.AddMinutes(events.Count), eventId: $"{customerId}-e{events.Count:D3}");
                delight.Signals.Csat = 5;
                delight.Signals.Resolved = true;
                delight.Signals.Effort = 7;
                events.Add(delight);
            }
        }

        return [.. events];
    }

    /// <summary>How many action-log entries the model makes of a customer's events: each raise, escalation and recovery.</summary>
    private static int ExpectedLogEntries(V1.InteractionEvent[] events)
    {
        var open = Severity.None;
        var entries = 0;
        foreach (var step in Model.Run(TierPolicy.Premium, events.Select(ToScoring)))
        {
            entries += step.Recovery.Kind switch
            {
                RecoveryDecisionKind.Raise or RecoveryDecisionKind.Escalate => 1,
                RecoveryDecisionKind.Recover when open != Severity.None => 1,
                _ => 0,
            };
            open = step.Open;
        }

        return entries;
    }

    private static CxEngine.Scoring.ScoringEvent ToScoring(V1.InteractionEvent e) => Events.At(e.OccurredAt.ToDateTime(), new CxEngine.Scoring.Signals
    {
        Sentiment = e.Signals.HasSentiment ? e.Signals.Sentiment : null,
        Csat = e.Signals.HasCsat ? e.Signals.Csat : null,
        Effort = e.Signals.HasEffort ? e.Signals.Effort : null,
        Resolved = e.Signals.HasResolved ? e.Signals.Resolved : null,
        ConductIssueCount = e.Signals.ConductIssues.Count,
    });

    /// <summary>Sends the events through the silos (customers spread over them) until each is APPLIED or DUPLICATE; returns how many came back UNAVAILABLE.</summary>
    private static async Task<int> SendUntilAcceptedAsync(V1.Ingest.IngestClient[] silos, IReadOnlyList<V1.InteractionEvent> events, TimeSpan deadline)
    {
        var until = DateTime.UtcNow + deadline;
        var unavailable = 0;
        var pending = events;
        while (true)
        {
            var outcomes = await Task.WhenAll(pending
                .Select((e, i) => (e, i))
                .GroupBy(p => p.i % silos.Length, p => p.e)
                .Select(part => Workload.StreamAsync(silos[part.Key], part)));
            Assert.All(outcomes, o => Assert.Null(o.Failure));
            var results = outcomes.SelectMany(o => o.Results).ToArray();
            Assert.DoesNotContain(results, r => r.Status == V1.EventStatus.Rejected);
            unavailable += results.Count(r => r.Status == V1.EventStatus.Unavailable);
            var accepted = results.Where(r => r.Status is V1.EventStatus.Applied or V1.EventStatus.Duplicate).Select(r => r.EventId).ToHashSet();
            pending = [.. pending.Where(e => !accepted.Contains(e.EventId))];
            if (pending.Count == 0)
            {
                return unavailable;
            }

            if (DateTime.UtcNow > until)
            {
                Assert.Fail($"{pending.Count} events still not accepted after {deadline.TotalSeconds} s, e.g. {pending[0].EventId}: " +
                    string.Join("; ", results.Where(r => r.EventId == pending[0].EventId).Select(r => $"{r.Status} {r.Error}")));
            }

            await Task.Delay(100);
        }
    }

    /// <summary>The whole action log as the database holds it, in sequence order.</summary>
    private static async Task<List<(long Sequence, string ActionId, int Revision)>> ReadActionLogAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT sequence, action_id, revision FROM cx_action_log ORDER BY sequence", connection);
        await using var reader = await command.ExecuteReaderAsync();
        var log = new List<(long, string, int)>();
        while (await reader.ReadAsync())
        {
            log.Add((reader.GetInt64(0), reader.GetString(1), reader.GetInt32(2)));
        }

        return log;
    }

    private static bool IsStrictlyIncreasing(IReadOnlyList<V1.RecoveryAction> received)
    {
        long last = 0;
        foreach (var action in received)
        {
            if (action.Sequence <= last)
            {
                return false;
            }

            last = action.Sequence;
        }

        return true;
    }

    private static void AssertStrictlyIncreasing(IReadOnlyList<V1.RecoveryAction> received)
    {
        for (var i = 1; i < received.Count; i++)
        {
            if (received[i].Sequence <= received[i - 1].Sequence)
            {
                var around = new StringBuilder();
                foreach (var action in received.Skip(Math.Max(0, i - 5)).Take(10))
                {
                    around.Append(action.Sequence).Append(' ');
                }

                Assert.Fail($"the watcher received sequence {received[i].Sequence} after {received[i - 1].Sequence} (entry {i} of {received.Count}; around it: {around})");
            }
        }
    }
}
