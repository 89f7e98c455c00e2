using CxEngine.Customers;
using CxEngine.Scoring;
using Google.Protobuf.WellKnownTypes;
using V1 = CxEngine.Contracts.V1;

namespace CxEngine.Tests.Service;

/// <summary>A premium delivery promise on the wire, and what the pure model makes of it on the engine's clock.</summary>
internal static class PromiseWire
{
    public const string SweepEvery = "--CxEngine:Recovery:OverdueSweepInterval=00:00:10";

    public static V1.InteractionEvent Registration(string customerId, string promiseId, DateTime now, TimeSpan lead) => new()
    {
        EventId = $"order-{promiseId}",
        CustomerId = customerId,
        OccurredAt = Timestamp.FromDateTime(now),
        Channel = V1.Channel.Delivery,
        Kind = V1.EventKind.Delivery,
        Tier = "premium",
        Signals = new V1.Signals
        {
            Promise = new V1.Promise { PromiseId = promiseId, MadeAt = Timestamp.FromDateTime(now), PromisedAt = Timestamp.FromDateTime(now + lead) },
        },
    };

    /// <summary>The registration under <paramref name="premium"/>, then every step the clock makes due by <paramref name="clockAfter"/>.</summary>
    public static ModelResult OnTheClock(V1.InteractionEvent registration, DateTime clockAfter, TierPolicy premium)
    {
        var promise = registration.Signals.Promise;
        var evt = new CustomerEvent(registration.EventId, Channel.Delivery, new ScoringEvent(registration.OccurredAt.ToDateTime().Ticks, EventKind.Delivery,
            new Signals { Promise = new PromiseSignal(promise.PromisedAt.ToDateTime().Ticks, 0, 0) { PromiseId = promise.PromiseId, MadeAtTicks = promise.MadeAt.ToDateTime().Ticks } }), "premium");
        var registered = CustomerModel.Apply(new CustomerState(), registration.CustomerId, evt, premium, clockAfter).State;
        return CustomerModel.ApplyDuePromises(registered, registration.CustomerId, premium, clockAfter.Ticks, clockAfter);
    }

    /// <summary>The history's entry of the missed step is the model's: a DELIVERY of experience 0 at the deadline.</summary>
    public static void AssertMissedStep(V1.ScoreChange change, ModelStep missed)
    {
        Assert.Equal(V1.EventKind.Delivery, change.Kind);
        Assert.Equal(0, change.Experience);
        Assert.Equal(new DateTime(missed.Body.Event.OccurredAtTicks, DateTimeKind.Utc), change.OccurredAt.ToDateTime());
    }

    /// <summary>Each promise is scored once: a late report of it, at <paramref name="at"/>, scores nothing more.</summary>
    public static async Task AssertALateReportScoresNothingAsync(EngineHost engine, V1.InteractionEvent registration, DateTime at, double score)
    {
        var late = registration.Clone();
        late.EventId = "callback-done";
        late.Signals.Promise.FulfilledAt = Timestamp.FromDateTime(at);
        late.OccurredAt = late.Signals.Promise.FulfilledAt;
        var afterLate = await engine.Ingest.RecordEventAsync(late);
        Assert.True(afterLate.Change.Unscored);
        Assert.Equal(score, afterLate.Score.Score, 9);
    }
}
