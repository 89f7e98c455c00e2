using CxEngine.Calibration;
using CxEngine.Customers;
using CxEngine.Policies;
using CxEngine.Scoring;
using CxEngine.Silo.Ingest;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Time.Testing;
using V1 = CxEngine.Contracts.V1;

namespace CxEngine.Tests.Calibration;

/// <summary>
/// Customers whose survey answers are driven by a known model: deliveries kept or late by minutes to hours,
/// contacts of every effort, and surveys whose answer is the CSAT nearest to the truth policy's S just before
/// the survey, with some noise. A calibration that works moves towards the truth.
/// </summary>
internal static class SyntheticHistory
{
    public static readonly DateTime Start = new(2025, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    public static readonly FakeTimeProvider Clock = new(new DateTimeOffset(2026, 6, 1, 0, 0, 0, TimeSpan.Zero));

    /// <summary>The standard tier, but losses weigh twice as much, gains half, and each event moves S further.</summary>
    public static readonly TierPolicy Truth = TierPolicy.Standard with { LossAversion = 5, GainSensitivity = 0.5, LearningRate = 0.5 };

    public static EventMapper Mapper()
    {
        var validation = new EventValidation(Clock, 86_400);
        var catalog = new TierCatalog(0, "standard", TierPolicy.Defaults);
        return (V1.InteractionEvent evt, out CustomerEvent mapped) => validation.TryMap(evt, catalog, out mapped)?.ToString();
    }

    /// <summary>
    /// Events of <paramref name="customers"/> customers over a year, and whether each came back (S above the truth's median).
    /// A contact carries effort and resolution, or what <paramref name="contact"/> draws.
    /// </summary>
    public static (List<V1.InteractionEvent> Events, List<Outcome> Outcomes) Generate(
        int customers, int seed, TierPolicy truth, double noise = 0.35, bool openPromises = false, Func<Random, V1.Signals>? contact = null)
    {
        var random = new Random(seed);
        var mapper = Mapper();
        var events = new List<V1.InteractionEvent>();
        var outcomes = new List<Outcome>();
        for (var c = 0; c < customers; c++)
        {
            var customer = $"cust-{c:D5}";
            var state = new CustomerState();
            var at = Start.AddHours(random.Next(0, 24 * 300));
            var count = random.Next(4, 12);
            var pending = new List<V1.InteractionEvent>();
            for (var i = 0; i < count; i++)
            {
                at = at.AddHours(1 + random.Next(0, 24 * 6));
                foreach (var kept in pending.Where(p => p.OccurredAt.ToDateTime() < at).OrderBy(p => p.OccurredAt.ToDateTime()).ToList())
                {
                    pending.Remove(kept);
                    Apply(kept);
                }

                var evt = new V1.InteractionEvent
                {
                    EventId = $"{customer}-{i}",
                    CustomerId = customer,
                    OccurredAt = Timestamp.FromDateTime(at),
                };
                var roll = random.NextDouble();
                if (roll < 0.3)
                {
                    // A survey: the answer the truth's S just before it calls for.
                    var before = ScoreBefore(ref state, customer, truth, at);
                    var csat = (int)Math.Clamp(Math.Round(1 + (before / 25) + (noise * Normal(random))), 1, 5);
                    evt.Kind = V1.EventKind.Survey;
                    evt.Signals = new V1.Signals { Csat = csat };
                }
                else if (roll < 0.65 && openPromises)
                {
                    // A parcel promised days ahead: registered now, kept on time, late by hours to days, or never.
                    var id = $"{customer}-p{i}";
                    var due = at.AddDays(random.Next(3, 20));
                    var promise = new V1.Promise { PromiseId = id, MadeAt = Timestamp.FromDateTime(at), PromisedAt = Timestamp.FromDateTime(due) };
                    evt.Kind = V1.EventKind.Delivery;
                    evt.Signals = new V1.Signals { Promise = promise.Clone() };
                    var fate = random.NextDouble();
                    if (fate < 0.85)
                    {
                        var kept = fate < 0.4 ? due.AddHours(-random.Next(1, 48)) : due.AddHours(random.Next(1, 96));
                        promise.FulfilledAt = Timestamp.FromDateTime(kept);
                        pending.Add(new V1.InteractionEvent
                        {
                            EventId = $"{id}-kept",
                            CustomerId = customer,
                            OccurredAt = Timestamp.FromDateTime(kept),
                            Kind = V1.EventKind.Delivery,
                            Signals = new V1.Signals { Promise = promise },
                        });
                    }
                }
                else if (roll < 0.65)
                {
                    var promised = at.AddMinutes(-random.Next(0, 180));
                    var late = random.NextDouble() < 0.5;
                    evt.Kind = V1.EventKind.Delivery;
                    evt.Signals = new V1.Signals
                    {
                        Promise = new V1.Promise
                        {
                            PromisedAt = Timestamp.FromDateTime(late ? promised : at),
                            FulfilledAt = Timestamp.FromDateTime(at),
                        },
                    };
                }
                else
                {
                    evt.Kind = V1.EventKind.Contact;
                    evt.Signals = contact?.Invoke(random) ?? new V1.Signals { Effort = random.Next(1, 8), Resolved = random.NextDouble() < 0.7 };
                }

                Apply(evt);
            }

            foreach (var kept in pending.OrderBy(p => p.OccurredAt.ToDateTime()))
            {
                Apply(kept);
                at = kept.OccurredAt.ToDateTime() > at ? kept.OccurredAt.ToDateTime() : at;
            }

            void Apply(V1.InteractionEvent evt)
            {
                if (mapper(evt, out var mapped) is { } problem)
                {
                    throw new InvalidOperationException(problem);
                }

                var result = CustomerModel.Apply(state, customer, mapped, truth, mapped.Event.OccurredAt);
                Assert.Null(result.Rejection);
                state = result.State;
                events.Add(evt);
            }

            outcomes.Add(new Outcome(customer, at.AddDays(1), ScoreBefore(ref state, customer, truth, at.AddDays(1)) >= truth.NeutralSatisfaction));
        }

        return (events, outcomes);
    }

    public static CalibrationInput Input(List<V1.InteractionEvent> events, IReadOnlyList<Outcome> outcomes)
    {
        var mapper = Mapper();
        return CalibrationInput.FromEvents(
            events.Select(e => mapper(e, out var m) is null ? (e.CustomerId, m) : throw new InvalidOperationException()),
            outcomes);
    }

    /// <summary>The truth's S just before <paramref name="at"/>: promises missed by then applied, decayed to then.</summary>
    private static double ScoreBefore(ref CustomerState state, string customer, TierPolicy truth, DateTime at)
    {
        if (!state.Exists)
        {
            return truth.NeutralSatisfaction;
        }

        state = CustomerModel.ApplyDuePromises(state, customer, truth, at.Ticks - 1, at).State;
        return ScoringStep.Decay(state.Score.Score, state.Score.LastEventAtTicks, at.Ticks, truth);
    }

    private static double Normal(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
}
