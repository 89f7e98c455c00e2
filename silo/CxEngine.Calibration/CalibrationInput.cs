using CxEngine.Customers;
using V1 = CxEngine.Contracts.V1;

namespace CxEngine.Calibration;

/// <summary>
/// Checks one cx.v1 event and maps it to the domain event, or returns "field: problem". The engine's own
/// ingest validation is passed in, so calibration reads exactly what the engine would accept.
/// </summary>
public delegate string? EventMapper(V1.InteractionEvent evt, out CustomerEvent mapped);

/// <summary>One customer's history in event-time order (ties keep the order of the input).</summary>
public sealed record CustomerHistory(string CustomerId, IReadOnlyList<CustomerEvent> Events);

/// <summary>A later outcome of a customer (churn, repeat purchase): the label, and the time the score is read at.</summary>
public readonly record struct Outcome(string CustomerId, DateTime Time, bool Label);

/// <summary>Everything a calibration run reads: the customers' histories and the outcomes outside the events.</summary>
public sealed record CalibrationInput(IReadOnlyList<CustomerHistory> Customers, IReadOnlyList<Outcome> Outcomes)
{
    public int EventCount => Customers.Sum(c => c.Events.Count);

    /// <summary>Groups mapped events per customer and orders each customer's events by event time (stable).</summary>
    public static CalibrationInput FromEvents(IEnumerable<(string CustomerId, CustomerEvent Event)> events, IReadOnlyList<Outcome> outcomes)
    {
        var byCustomer = new Dictionary<string, List<CustomerEvent>>(StringComparer.Ordinal);
        foreach (var (customerId, evt) in events)
        {
            if (!byCustomer.TryGetValue(customerId, out var list))
            {
                byCustomer[customerId] = list = [];
            }

            list.Add(evt);
        }

        var customers = byCustomer
            .OrderBy(kv => kv.Key, StringComparer.Ordinal)
            .Select(kv => new CustomerHistory(kv.Key, [.. kv.Value.OrderBy(e => e.Event.OccurredAtTicks)]))
            .ToList();
        return new CalibrationInput(customers, outcomes);
    }

    /// <summary>Keeps the customers the tier applies to: those whose events name no other tier.</summary>
    public CalibrationInput ForTier(string tier, out int leftOut)
    {
        var kept = Customers.Where(c => c.Events.All(e => e.Tier is null || e.Tier == tier)).ToList();
        leftOut = Customers.Count - kept.Count;
        var ids = kept.Select(c => c.CustomerId).ToHashSet(StringComparer.Ordinal);
        return new CalibrationInput(kept, [.. Outcomes.Where(o => ids.Contains(o.CustomerId))]);
    }
}

/// <summary>An input file that cannot be read as given: names the file, line and field.</summary>
public sealed class CalibrationInputException(string message) : Exception(message);
