using CxEngine.Scoring;

namespace CxEngine.Calibration;

/// <summary>What is judged at a measurement: a survey answer (CSAT 1-5) or an outcome label.</summary>
public enum MeasureKind : byte
{
    Survey = 1,
    Outcome = 2,
}

/// <summary>
/// The naive predictors SCORING.md asks to beat, known at the measurement's time from the same events the
/// model sees: whether the customer's latest promise (registered, kept or broken) is broken (late, reported
/// broken, or due and still not kept), by how many days it is late (a promise not kept yet is late by the
/// time since it was due), and the customer's previous survey answer.
/// </summary>
public readonly record struct NaiveBaselines(bool PromiseBroken, double DaysLate, int? LastCsat);

/// <summary>
/// One point where a score is judged. <see cref="Position"/> is the number of the customer's events applied
/// before the reading: for a survey, every event before it (the survey itself is withheld); for an outcome,
/// every event at or before its time.
/// </summary>
public readonly record struct Measurement(
    int Customer,
    int Position,
    long AtTicks,
    MeasureKind Kind,
    int Csat,
    bool Label,
    NaiveBaselines Baselines);

/// <summary>The measurements of an input, in customer order and, per customer, in replay order.</summary>
public sealed class MeasurementSet
{
    private MeasurementSet(Measurement[] items, int[] firstOfCustomer)
    {
        Items = items;
        FirstOfCustomer = firstOfCustomer;
    }

    public Measurement[] Items { get; }

    /// <summary>Index of each customer's first measurement; one extra entry at the end.</summary>
    public int[] FirstOfCustomer { get; }

    public int Count => Items.Length;

    public static MeasurementSet Build(CalibrationInput input)
    {
        var outcomesByCustomer = input.Outcomes
            .GroupBy(o => o.CustomerId, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.OrderBy(o => o.Time).ToList(), StringComparer.Ordinal);
        var items = new List<Measurement>();
        var first = new int[input.Customers.Count + 1];
        for (var c = 0; c < input.Customers.Count; c++)
        {
            first[c] = items.Count;
            var customer = input.Customers[c];
            var events = customer.Events;
            outcomesByCustomer.TryGetValue(customer.CustomerId, out var outcomes);
            var nextOutcome = 0;
            PromiseSignal? lastPromise = null;
            int? lastCsat = null;
            for (var i = 0; i <= events.Count; i++)
            {
                var atTicks = i < events.Count ? events[i].Event.OccurredAtTicks : long.MaxValue;

                // Outcomes read S after every event at or before their time, so those come before event i when it is later.
                while (outcomes is not null && nextOutcome < outcomes.Count && outcomes[nextOutcome].Time.Ticks < atTicks)
                {
                    var o = outcomes[nextOutcome++];
                    items.Add(new Measurement(c, i, o.Time.Ticks, MeasureKind.Outcome, 0, o.Label, Naive(lastPromise, lastCsat, o.Time.Ticks)));
                }

                if (i == events.Count)
                {
                    break;
                }

                var signals = events[i].Event.Signals;
                if (signals.Csat is { } csat)
                {
                    items.Add(new Measurement(c, i, atTicks, MeasureKind.Survey, csat, false, Naive(lastPromise, lastCsat, atTicks)));
                    lastCsat = csat;
                }

                if (signals.Promise is { } promise)
                {
                    lastPromise = promise;
                }
            }
        }

        first[input.Customers.Count] = items.Count;
        return new MeasurementSet([.. items], first);
    }

    private static NaiveBaselines Naive(PromiseSignal? promise, int? lastCsat, long atTicks)
    {
        if (promise is not { } p)
        {
            return new NaiveBaselines(false, 0, lastCsat);
        }

        // Late until kept: an open promise past its time is late by now, a kept one by how late it was kept.
        var keptBy = p.IsFulfilled && p.FulfilledAtTicks <= atTicks ? p.FulfilledAtTicks : atTicks;
        var daysLate = Math.Max(0, (keptBy - p.PromisedAtTicks) / (double)TimeSpan.TicksPerDay);
        var neverKept = p.Broken || (p.PromiseId is null && !p.IsFulfilled);
        return new NaiveBaselines(neverKept || daysLate > 0, daysLate, lastCsat);
    }
}
