using CxEngine.Tests.Service;
using Grpc.Core;
using V1 = CxEngine.Contracts.V1;

namespace CxEngine.Tests.Durability;

/// <summary>
/// A contact-center client that keeps each customer's order under failure: it sends the n-th event of
/// every customer, waits for the answers, and resends what came back UNAVAILABLE before moving on, as
/// API.md tells clients to (same event_id, safe to retry).
/// </summary>
internal sealed class Waves(Workload workload)
{
    public int Unavailable { get; private set; }

    public int StreamFailures { get; private set; }

    public IEnumerable<V1.InteractionEvent> Wave(int n) => workload.ByCustomer.Values.Select(events => events[n]);

    /// <summary>Sends one wave through the given engines (customers spread over them) and returns the results.</summary>
    public async Task<IReadOnlyList<V1.EventResult>> SendAsync(IReadOnlyList<V1.Ingest.IngestClient> engines, IEnumerable<V1.InteractionEvent> events)
    {
        var parts = events.Select((e, i) => (e, i)).GroupBy(p => p.i % engines.Count, p => p.e).ToArray();
        var outcomes = await Task.WhenAll(parts.Select(part => Workload.StreamAsync(engines[part.Key], part)));
        foreach (var outcome in outcomes)
        {
            if (outcome.Failure is not null)
            {
                StreamFailures++;
            }
        }

        var results = outcomes.SelectMany(o => o.Results).ToArray();
        Unavailable += results.Count(r => r.Status == V1.EventStatus.Unavailable);
        return results;
    }

    /// <summary>Resends until every event is APPLIED or DUPLICATE, or the deadline passes.</summary>
    public async Task SendUntilAcceptedAsync(IReadOnlyList<V1.Ingest.IngestClient> engines, IReadOnlyList<V1.InteractionEvent> events, TimeSpan deadline)
    {
        var until = DateTime.UtcNow + deadline;
        var pending = events;
        while (true)
        {
            var results = await SendAsync(engines, pending);
            var accepted = results.Where(r => r.Status is V1.EventStatus.Applied or V1.EventStatus.Duplicate).Select(r => r.EventId).ToHashSet();
            Assert.DoesNotContain(results, r => r.Status == V1.EventStatus.Rejected);
            pending = [.. pending.Where(e => !accepted.Contains(e.EventId))];
            if (pending.Count == 0)
            {
                return;
            }

            if (DateTime.UtcNow > until)
            {
                Assert.Fail($"{pending.Count} events still not accepted after {deadline.TotalSeconds} s, e.g. {pending[0].EventId}: " +
                    string.Join("; ", results.Where(r => r.EventId == pending[0].EventId).Select(r => $"{r.Status} {r.Error}")));
            }

            await Task.Delay(250);
        }
    }
}
