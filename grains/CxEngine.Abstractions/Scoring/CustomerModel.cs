using System.Collections.Immutable;
using CxEngine.Customers;

namespace CxEngine.Scoring;

/// <summary>
/// One customer's whole model as a pure function: the customer's state, one event and the tier policy in,
/// a new state and the steps it took out. A step is one entry of the event log: the engine's own overdue and missed
/// promises that fall due before the event (earliest first), then the event itself, each through
/// <see cref="ScoringStep"/> and <see cref="RecoveryRules"/>. The input state is never changed, so a caller
/// that refuses the result (or fails to store it) still holds the state it had. The live grain, a re-score
/// and a calibration all apply events through here, which is what makes them agree.
/// </summary>
public static class CustomerModel
{
    /// <summary>How many scored promise ids a customer remembers, so a late fulfilment of a missed promise scores nothing.</summary>
    public const int ClosedPromiseMemory = 64;

    /// <summary>
    /// Applies one event. <paramref name="evt"/>'s tier, if any, is the caller's business: <paramref name="policy"/>
    /// is the tier the event is scored under. <paramref name="now"/> is the engine's clock, for the action's times.
    /// </summary>
    public static ModelResult Apply(CustomerState state, string customerId, CustomerEvent evt, TierPolicy policy, DateTime now)
    {
        var next = Begin(state, policy);
        var steps = new List<ModelStep>(1);
        var occurredAt = evt.Event.OccurredAtTicks;

        // SCORING.md step 2: promises overdue (version 3) or missed (version 2) before this event are applied first.
        ApplyDue(next, customerId, policy, occurredAt, now, steps, strictlyBefore: true);

        var signals = evt.Event.Signals;
        var scored = evt.Event;
        if (signals.Promise is { PromiseId: { } promiseId } promise)
        {
            var open = next.OpenPromises;
            var index = IndexOf(open, promiseId);
            if (promise.IsRegistration)
            {
                if (index >= 0)
                {
                    // A re-promise: new times (and a new deadline); the shortfall is still judged against the original time.
                    var current = open[index];
                    next.OpenPromises = open.SetItem(index, current with
                    {
                        PromisedAtTicks = promise.PromisedAtTicks,
                        NotifiedAtTicks = promise.NotifiedAtTicks != 0 ? promise.NotifiedAtTicks : current.NotifiedAtTicks,
                        MadeAtTicks = current.MadeAtTicks != 0 ? current.MadeAtTicks : promise.MadeAtTicks,
                    });
                }
                else if (!next.ClosedPromises.Contains(promiseId))
                {
                    if (open.Length >= policy.MaxOpenPromises)
                    {
                        return ModelResult.Rejected(state, "signals.promise.promise_id",
                            $"the customer already holds {open.Length} open promises, the tier's max_open_promises; keep, break or let one lapse first");
                    }

                    next.OpenPromises = open.Add(new OpenPromise(
                        promiseId, promise.MadeAtTicks, promise.PromisedAtTicks, promise.PromisedAtTicks, promise.NotifiedAtTicks,
                        evt.Event.Kind == EventKind.Delivery ? EventKind.Delivery : EventKind.Contact, evt.Channel));
                }

                // Registering scores nothing now; the event's other signals count as usual.
                scored = scored with { Signals = signals with { Promise = null } };
            }
            else if (promise.Overdue)
            {
                // The engine's own overdue step, replayed as recorded (a re-score of a log whose registration is gone):
                // scored as it stands; the promise stays open, and is not overdue again.
                if (index >= 0)
                {
                    next.OpenPromises = open.SetItem(index, open[index] with { OverdueApplied = true });
                }
            }
            else if (index >= 0)
            {
                // Kept, late or broken: judged against the registered promise, then closed.
                var registered = open[index];
                if (promise.IsFulfilled && registered.MadeAtTicks != 0 && promise.FulfilledAtTicks < registered.MadeAtTicks)
                {
                    return ModelResult.Rejected(state, "signals.promise.fulfilled_at",
                        $"must not be before the promise's made_at ({new DateTime(registered.MadeAtTicks, DateTimeKind.Utc):O})");
                }

                next.OpenPromises = open.RemoveAt(index);
                Close(next, promiseId);
                scored = scored with { Signals = signals with { Promise = registered.Judged(promise.FulfilledAtTicks, promise.NotifiedAtTicks) } };
            }
            else if (next.ClosedPromises.Contains(promiseId))
            {
                // Already scored (missed, kept or broken): the promise counts once; the other signals as usual.
                scored = scored with { Signals = signals with { Promise = null } };
            }
            else
            {
                // Unknown id: scored as in version 1, from the times on the event.
                Close(next, promiseId);
            }
        }

        // The log keeps the event as it arrived (a registration with its promise, a fulfilment with its times), so that
        // a re-score under other tolerances can decide the promise again; the explanation says what was scored.
        steps.Add(Step(next, customerId, evt.EventId, scored, evt.Event, evt.Channel, policy, now));
        return new ModelResult(next, steps);
    }

    /// <summary>
    /// The engine's clock passed promise deadlines with no event: applies every overdue and missed step due at or
    /// before <paramref name="untilTicks"/>. Nothing due: the same state and no steps.
    /// </summary>
    public static ModelResult ApplyDuePromises(CustomerState state, string customerId, TierPolicy policy, long untilTicks, DateTime now)
    {
        if (NextDeadlineTicks(state, policy) is not { } due || due > untilTicks)
        {
            return new ModelResult(state, []);
        }

        var next = Begin(state, policy);
        var steps = new List<ModelStep>();
        ApplyDue(next, customerId, policy, untilTicks, now, steps, strictlyBefore: false);
        return new ModelResult(next, steps);
    }

    /// <summary>The earliest moment the engine acts on one of the customer's open promises (overdue or missed), or null when none is open.</summary>
    public static long? NextDeadlineTicks(CustomerState state, TierPolicy policy)
    {
        long? next = null;
        foreach (var promise in Promises(state))
        {
            var deadline = promise.NextDueTicks(policy);
            next = next is { } n && n <= deadline ? n : deadline;
        }

        return next;
    }

    private static CustomerState Begin(CustomerState state, TierPolicy policy)
    {
        var next = state.Copy();
        if (!next.Exists)
        {
            next.Score = ScoreState.Initial(policy);
        }

        next.Tier = policy.Name;
        next.OpenPromises = Promises(state);
        next.ClosedPromises = next.ClosedPromises.IsDefault ? [] : next.ClosedPromises;
        return next;
    }

    private static ImmutableArray<OpenPromise> Promises(CustomerState state) => state.OpenPromises.IsDefault ? [] : state.OpenPromises;

    /// <summary>
    /// Applies, earliest first, every step the customer's open promises fall due for before (or at) <paramref name="untilTicks"/>:
    /// overdue (version 3: the promise stays open) and missed (the promise closes), each at its own time.
    /// </summary>
    private static void ApplyDue(
        CustomerState next, string customerId, TierPolicy policy, long untilTicks, DateTime now, List<ModelStep> steps, bool strictlyBefore)
    {
        while (true)
        {
            var index = -1;
            long due = 0;
            for (var i = 0; i < next.OpenPromises.Length; i++)
            {
                var candidate = next.OpenPromises[i].NextDueTicks(policy);
                if ((strictlyBefore ? candidate < untilTicks : candidate <= untilTicks) && (index < 0 || candidate < due))
                {
                    index = i;
                    due = candidate;
                }
            }

            if (index < 0)
            {
                return;
            }

            var promise = next.OpenPromises[index];
            if (promise.OverdueTicks(policy) == due)
            {
                next.OpenPromises = next.OpenPromises.SetItem(index, promise with { OverdueApplied = true });
                var overdue = new ScoringEvent(due, promise.Kind, new Signals { Promise = promise.OverdueSignal() });
                steps.Add(Step(next, customerId, PromiseSignal.OverdueEventIdPrefix + promise.PromiseId, overdue, overdue, promise.Channel, policy, now));
                continue;
            }

            next.OpenPromises = next.OpenPromises.RemoveAt(index);
            Close(next, promise.PromiseId);
            var missed = new ScoringEvent(due, promise.Kind, new Signals { Promise = promise.Judged(0, 0) });
            steps.Add(Step(next, customerId, PromiseSignal.MissedEventIdPrefix + promise.PromiseId, missed, missed, promise.Channel, policy, now));
        }
    }

    /// <summary>One log entry: the scoring step (or nothing to score) of <paramref name="evt"/>, then the recovery rules; the entry keeps <paramref name="received"/>.</summary>
    private static ModelStep Step(
        CustomerState next, string customerId, string eventId, in ScoringEvent evt, in ScoringEvent received, Channel channel, TierPolicy policy, DateTime now)
    {
        next.Position++;
        var scored = ScoringStep.HasExperience(evt);
        var result = scored ? ScoringStep.Apply(next.Score, evt, policy, next.OpenAction?.Severity ?? next.ResolvedEpisode) : default;
        if (!scored || double.IsNaN(result.Explanation.Experience))
        {
            // Only promises registered, or only signals the tier weighs 0: recorded, nothing scored.
            return new ModelStep(next.Position, eventId, new LoggedEvent(received, channel, policy.Name, ScoreExplanation.Unchanged(next.Score)), null);
        }

        next.Score = result.State;
        var action = RecoveryRules.AfterStep(next, customerId, eventId, evt.OccurredAtTicks, result.Recovery, policy, now);
        var body = new LoggedEvent(received, channel, policy.Name, result.Explanation,
            action is null ? null : new LoggedActionChange(action.ActionId, action.Revision, action.Change));
        return new ModelStep(next.Position, eventId, body, action);
    }

    private static void Close(CustomerState next, string promiseId)
    {
        var closed = next.ClosedPromises.Add(promiseId);
        next.ClosedPromises = closed.Length > ClosedPromiseMemory ? closed.RemoveRange(0, closed.Length - ClosedPromiseMemory) : closed;
    }

    private static int IndexOf(ImmutableArray<OpenPromise> promises, string promiseId)
    {
        for (var i = 0; i < promises.Length; i++)
        {
            if (promises[i].PromiseId == promiseId)
            {
                return i;
            }
        }

        return -1;
    }
}

/// <summary>One entry of the event log a model step produced, and the action change it caused (reasons not yet attached).</summary>
public sealed record ModelStep(long Position, string EventId, LoggedEvent Body, RecoveryActionRecord? Action);

/// <summary>The customer after an event, and the log entries it produced; or why the event was refused (state unchanged).</summary>
public sealed record ModelResult(CustomerState State, IReadOnlyList<ModelStep> Steps)
{
    public FieldError? Rejection { get; private init; }

    public static ModelResult Rejected(CustomerState unchanged, string field, string problem) =>
        new(unchanged, []) { Rejection = new FieldError(field, problem) };
}
