using Google.Protobuf.WellKnownTypes;
using CxEngine.Contracts.V1;

namespace CxEngine.Traffic;

/// <summary>
/// Makes the interactions a contact center sends: calls and chats with waits, transfers and effort,
/// deliveries against promises (kept, late, broken, with or without warning), invoices, complaints,
/// surveys and recovery contacts, across the three tiers. Each customer has a "luck" of its own, so
/// some drift below their baseline and get recovery actions, and most do not. Deterministic per seed.
/// With <c>openPromises</c>, deliveries are orders: a promise registered when the order is placed
/// (SCORING.md version 2), then delivered on time, late, or never (the engine misses it by itself).
/// </summary>
public sealed class InteractionGenerator
{
    private static readonly ConductIssue[] ConductIssues = [.. System.Enum.GetValues<ConductIssue>().Where(c => c != ConductIssue.Unspecified)];

    private readonly Random _random;
    private readonly Customer[] _customers;
    private readonly string _runId;
    private long _sequence;

    private readonly bool _openPromises;

    public InteractionGenerator(int customers, int seed = 1, string? runId = null, string customerPrefix = "cust", DateTime? start = null, bool openPromises = false)
    {
        _openPromises = openPromises;
        ArgumentOutOfRangeException.ThrowIfLessThan(customers, 1);
        _random = new Random(seed);
        _runId = runId ?? Guid.NewGuid().ToString("N")[..8];
        var origin = start ?? DateTime.UtcNow.AddDays(-30);
        _customers = new Customer[customers];
        for (var i = 0; i < customers; i++)
        {
            var roll = _random.NextDouble();
            var tier = roll < 0.5 ? "basic" : roll < 0.85 ? "standard" : "premium";
            // Most customers are served well; a tail is served badly.
            var luck = Math.Clamp(0.85 + (NextGaussian() * 0.15), 0.05, 1.0);
            _customers[i] = new Customer($"{customerPrefix}-{i:D6}", tier, luck, origin.AddMinutes(_random.Next(0, 600)));
        }
    }

    public int CustomerCount => _customers.Length;

    public IReadOnlyList<string> CustomerIds => [.. _customers.Select(c => c.Id)];

    public string TierOf(string customerId) => _customers.First(c => c.Id == customerId).Tier;

    /// <summary>The next interaction of a customer picked at random.</summary>
    public InteractionEvent Next() => NextFor(_random.Next(_customers.Length));

    /// <summary>The next interaction of customer number <paramref name="index"/>.</summary>
    public InteractionEvent NextFor(int index)
    {
        var customer = _customers[index];
        var next = customer.Clock.AddMinutes(5 + (_random.NextDouble() * 600));
        // Never in the future: a long run catches up with the present and stays there.
        var now = DateTime.UtcNow;
        customer.Clock = next < now ? next : now;
        var good = _random.NextDouble() < customer.Luck;
        var evt = new InteractionEvent
        {
            EventId = $"{_runId}-{Interlocked.Increment(ref _sequence):D10}",
            CustomerId = customer.Id,
            OccurredAt = Timestamp.FromDateTime(customer.Clock),
            // The first event tells the engine the tier, as a CRM integration would.
            Tier = customer.Events++ == 0 ? customer.Tier : "",
            Signals = new Signals(),
        };

        var roll = _random.NextDouble();
        if (customer.NeedsRecovery && roll < 0.3)
        {
            Recovery(evt, good);
            customer.NeedsRecovery = false;
        }
        else if (roll < 0.40)
        {
            Contact(evt, good);
        }
        else if (roll < 0.65 && _openPromises)
        {
            Order(evt, good, customer);
        }
        else if (roll < 0.65)
        {
            Delivery(evt, good, customer.Clock);
        }
        else if (roll < 0.78)
        {
            Invoice(evt, good);
        }
        else if (roll < 0.93)
        {
            Survey(evt, good);
        }
        else
        {
            evt.Kind = EventKind.Complaint;
            evt.Channel = Pick(Channel.Email, Channel.Phone, Channel.Social);
            evt.Signals.Sentiment = -0.4 - (_random.NextDouble() * 0.6);
        }

        if (!good)
        {
            customer.NeedsRecovery = true;
        }

        return evt;
    }

    private void Contact(InteractionEvent evt, bool good)
    {
        evt.Kind = EventKind.Contact;
        evt.Channel = Pick(Channel.Phone, Channel.Chat, Channel.Email, Channel.SelfService);
        var s = evt.Signals;
        s.WaitSeconds = good ? _random.Next(5, 120) : _random.Next(120, 1500);
        s.Transfers = good ? (_random.NextDouble() < 0.8 ? 0 : 1) : _random.Next(1, 4);
        s.Resolved = good || _random.NextDouble() < 0.3;
        s.Effort = good ? _random.Next(5, 8) : _random.Next(1, 4);
        s.Sentiment = good ? 0.2 + (_random.NextDouble() * 0.8) : -1 + (_random.NextDouble() * 0.8);
        if (!good)
        {
            var issues = _random.Next(0, 3);
            for (var i = 0; i < issues; i++)
            {
                s.ConductIssues.Add(ConductIssues[_random.Next(ConductIssues.Length)]);
            }
        }
    }

    private void Delivery(InteractionEvent evt, bool good, DateTime now)
    {
        evt.Kind = EventKind.Delivery;
        evt.Channel = Channel.Delivery;
        var promised = now.AddMinutes(-_random.Next(0, 120));
        var promise = new Promise { PromisedAt = Timestamp.FromDateTime(promised) };
        if (good)
        {
            promise.FulfilledAt = Timestamp.FromDateTime(promised.AddMinutes(-_random.Next(0, 30)));
        }
        else if (_random.NextDouble() < 0.2)
        {
            // Broken: never delivered. Sometimes the customer was at least told in advance.
            if (_random.NextDouble() < 0.5)
            {
                promise.NotifiedAt = Timestamp.FromDateTime(promised.AddHours(-2));
            }
        }
        else
        {
            promise.FulfilledAt = Timestamp.FromDateTime(promised.AddMinutes(_random.Next(10, 240)));
            if (_random.NextDouble() < 0.4)
            {
                promise.NotifiedAt = Timestamp.FromDateTime(promised.AddMinutes(-30));
            }
        }

        evt.Signals.Promise = promise;
    }

    /// <summary>
    /// An order's promise: placed (registered, delivery due in 1 to 4 days), or the oldest open order delivered
    /// (on time, or late and sometimes hopelessly late); one order in ten is never delivered and left for the engine to miss.
    /// </summary>
    private void Order(InteractionEvent evt, bool good, Customer customer)
    {
        evt.Kind = EventKind.Delivery;
        evt.Channel = Channel.Delivery;
        var now = customer.Clock;
        if (customer.OpenOrders.Count > 0 && _random.NextDouble() < 0.7)
        {
            var (id, promised) = customer.OpenOrders.Dequeue();
            if (_random.NextDouble() < 0.1)
            {
                // Lost: never delivered, never reported. This event is a survey about something else instead.
                Survey(evt, good);
                return;
            }

            // A good delivery keeps its date; a bad one is hours to two days late. The delivery is the event, so
            // the customer's clock moves to it (never past the present).
            var delivered = good ? promised.AddMinutes(-_random.Next(0, 240)) : promised.AddMinutes(_random.Next(60, 2880));
            delivered = delivered > DateTime.UtcNow ? DateTime.UtcNow : delivered < customer.Clock ? customer.Clock : delivered;
            customer.Clock = delivered;
            evt.OccurredAt = Timestamp.FromDateTime(delivered);
            evt.Signals.Promise = new Promise
            {
                PromiseId = id,
                PromisedAt = Timestamp.FromDateTime(promised),
                FulfilledAt = Timestamp.FromDateTime(delivered),
            };
            return;
        }

        var order = $"{_runId}-{customer.Id}-o{customer.Orders++}";
        var due = now.AddHours(24 + _random.Next(0, 72));
        customer.OpenOrders.Enqueue((order, due));
        evt.Signals.Promise = new Promise
        {
            PromiseId = order,
            MadeAt = Timestamp.FromDateTime(now),
            PromisedAt = Timestamp.FromDateTime(due),
        };
    }

    private void Invoice(InteractionEvent evt, bool good)
    {
        evt.Kind = EventKind.Invoice;
        evt.Channel = Channel.Billing;
        evt.Signals.Sentiment = good ? _random.NextDouble() * 0.6 : -0.5 - (_random.NextDouble() * 0.5);
    }

    private void Survey(InteractionEvent evt, bool good)
    {
        evt.Kind = EventKind.Survey;
        evt.Channel = Pick(Channel.Email, Channel.SelfService);
        evt.Signals.Csat = good ? _random.Next(4, 6) : _random.Next(1, 3);
        if (_random.NextDouble() < 0.5)
        {
            evt.Signals.Effort = good ? _random.Next(5, 8) : _random.Next(1, 4);
        }
    }

    private void Recovery(InteractionEvent evt, bool good)
    {
        evt.Kind = EventKind.Recovery;
        evt.Channel = Channel.Phone;
        evt.Signals.WaitSeconds = _random.Next(0, 30);
        evt.Signals.Resolved = good || _random.NextDouble() < 0.5;
        evt.Signals.Transfers = 0;
        evt.Signals.Effort = good ? 7 : 4;
        evt.Signals.Sentiment = good ? 0.8 : 0.1;
    }

    private Channel Pick(params Channel[] channels) => channels[_random.Next(channels.Length)];

    private double NextGaussian()
    {
        var u1 = 1.0 - _random.NextDouble();
        var u2 = _random.NextDouble();
        return Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }

    private sealed class Customer(string id, string tier, double luck, DateTime clock)
    {
        public string Id { get; } = id;

        public string Tier { get; } = tier;

        public double Luck { get; } = luck;

        public DateTime Clock { get; set; } = clock;

        public int Events { get; set; }

        public bool NeedsRecovery { get; set; }

        public int Orders { get; set; }

        public Queue<(string Id, DateTime PromisedAt)> OpenOrders { get; } = new();
    }
}
