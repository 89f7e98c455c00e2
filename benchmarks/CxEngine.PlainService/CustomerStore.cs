using System.Collections.Concurrent;
using CxEngine.Customers;
using CxEngine.Policies;
using CxEngine.Scoring;
using Google.Protobuf.WellKnownTypes;
using V1 = CxEngine.Contracts.V1;

namespace CxEngine.PlainService;

/// <summary>
/// Every customer in a dictionary, scored with the engine's pure model and the built-in tiers. A customer's
/// events run one after another (each waits for the previous one's commit), in the order they were submitted;
/// different customers run side by side and meet only in the writer's group commit.
/// </summary>
internal sealed class CustomerStore(GroupCommitWriter writer)
{
    private static readonly TierCatalog Tiers = new(0, "standard", TierPolicy.Defaults);

    private readonly ConcurrentDictionary<string, Customer> _customers = new(StringComparer.Ordinal);

    /// <summary>Queues the event behind its customer's earlier ones; the result comes after its commit.</summary>
    public Task<V1.EventResult> SubmitAsync(V1.InteractionEvent request)
    {
        var customer = _customers.GetOrAdd(request.CustomerId, static _ => new Customer());
        lock (customer)
        {
            var run = AfterAsync(customer.Last, customer, request);
            customer.Last = run;
            return run;
        }
    }

    private async Task<V1.EventResult> AfterAsync(Task previous, Customer customer, V1.InteractionEvent request)
    {
        await previous; // never faults: ApplyAsync answers every failure with a result
        return await ApplyAsync(customer, request);
    }

    private async Task<V1.EventResult> ApplyAsync(Customer customer, V1.InteractionEvent request)
    {
        if (Map(request) is not { } evt)
        {
            return Answer(request, V1.EventStatus.Rejected, "event_id, customer_id, occurred_at, kind and a signal are required; tier must be known");
        }

        var policy = Tiers.FindOrDefault(evt.Tier ?? customer.State.Tier);
        var result = CustomerModel.Apply(customer.State, request.CustomerId, evt, policy, DateTime.UtcNow);
        if (result.Rejection is { } rejection)
        {
            return Answer(request, V1.EventStatus.Rejected, $"{rejection.Field}: {rejection.Problem}");
        }

        var after = result.State;
        var explanation = result.Steps[^1].Body.Explanation;
        bool stored;
        try
        {
            stored = await writer.WriteAsync(new EventWrite(
                request.CustomerId, request.EventId, evt.Event.OccurredAtTicks, policy.Name, after.Score.Score, after.Score.Expectation, after.Position));
        }
        catch (Exception ex)
        {
            return Answer(request, V1.EventStatus.Unavailable, ex.Message);
        }

        if (!stored)
        {
            var duplicate = Answer(request, V1.EventStatus.Duplicate, "");
            duplicate.Score = Score(request.CustomerId, customer.State, Tiers.FindOrDefault(customer.State.Tier));
            return duplicate;
        }

        customer.State = after; // only once it is durable
        var applied = Answer(request, V1.EventStatus.Applied, "");
        applied.Score = Score(request.CustomerId, after, policy);
        applied.Change = new V1.ScoreChange
        {
            EventId = request.EventId,
            Kind = request.Kind,
            Channel = request.Channel,
            OccurredAt = request.OccurredAt,
            Experience = explanation.Experience,
            ExpectationBefore = explanation.ExpectationBefore,
            Disconfirmation = explanation.Disconfirmation,
            EventSatisfaction = explanation.EventSatisfaction,
            ScoreBefore = explanation.ScoreBefore,
            Decay = explanation.Decay,
            ScoreAfter = explanation.ScoreAfter,
            ExpectationAfter = explanation.ExpectationAfter,
            Delta = explanation.Delta,
            Unscored = explanation.Unscored,
        };
        if (result.Steps[^1].Action is { } action)
        {
            applied.Action = Action(action);
        }

        return applied;
    }

    /// <summary>The proto event to the model's event: the fields the traffic sends, checked only as far as the model needs.</summary>
    private static CustomerEvent? Map(V1.InteractionEvent e)
    {
        if (e.EventId.Length == 0 || e.CustomerId.Length == 0 || e.OccurredAt is null || e.Kind == V1.EventKind.Unspecified || e.Signals is not { } s)
        {
            return null;
        }

        if (e.Tier.Length > 0 && Tiers.Find(e.Tier) is null)
        {
            return null;
        }

        PromiseSignal? promise = null;
        if (s.Promise is { } p)
        {
            promise = new PromiseSignal(Ticks(p.PromisedAt), Ticks(p.FulfilledAt), Ticks(p.NotifiedAt))
            {
                PromiseId = p.PromiseId.Length > 0 ? p.PromiseId : null,
                MadeAtTicks = Ticks(p.MadeAt),
                Broken = p.Broken,
            };
        }

        var signals = new Signals
        {
            Csat = s.HasCsat ? s.Csat : null,
            Effort = s.HasEffort ? s.Effort : null,
            Resolved = s.HasResolved ? s.Resolved : null,
            Transfers = s.HasTransfers ? s.Transfers : 0,
            WaitSeconds = s.HasWaitSeconds ? s.WaitSeconds : null,
            Sentiment = s.HasSentiment ? s.Sentiment : null,
            Promise = promise,
            ConductIssueCount = s.ConductIssues.Distinct().Count(),
        };
        var scoring = new ScoringEvent(Ticks(e.OccurredAt), (EventKind)e.Kind, signals);
        return ScoringStep.HasSignal(scoring)
            ? new CustomerEvent(e.EventId, (Channel)e.Channel, scoring, e.Tier.Length > 0 ? e.Tier : null)
            : null;
    }

    private static long Ticks(Timestamp? t) => t is null ? 0 : t.ToDateTime().Ticks;

    private static V1.EventResult Answer(V1.InteractionEvent request, V1.EventStatus status, string error) =>
        new() { EventId = request.EventId, CustomerId = request.CustomerId, Status = status, Error = error };

    private static V1.CustomerScore Score(string customerId, CustomerState state, TierPolicy policy)
    {
        var score = new V1.CustomerScore
        {
            CustomerId = customerId,
            Tier = policy.Name,
            Score = state.Score.Score,
            Expectation = state.Score.Expectation,
            Baseline = policy.Baseline,
            BelowBaseline = state.Score.Score < policy.Baseline,
            EventsApplied = state.Position,
        };
        if (state.Score.HasEvents)
        {
            score.LastEventAt = Timestamp.FromDateTime(new DateTime(state.Score.LastEventAtTicks, DateTimeKind.Utc));
        }

        if (state.OpenAction is { } open)
        {
            score.OpenAction = Action(open);
        }

        return score;
    }

    private static V1.RecoveryAction Action(RecoveryActionRecord a) => new()
    {
        ActionId = a.ActionId,
        CustomerId = a.CustomerId,
        Tier = a.Tier,
        Severity = (V1.Severity)a.Severity,
        Status = (V1.ActionStatus)a.Status,
        Change = (V1.ActionChange)a.Change,
        Revision = a.Revision,
        Score = a.Score,
        Expectation = a.Expectation,
        Baseline = a.Baseline,
        TriggerEventId = a.TriggerEventId,
        SuggestedCompensation = a.SuggestedCompensation,
        RequiresApproval = a.RequiresApproval,
        DueBy = Timestamp.FromDateTime(a.DueBy),
        RaisedAt = Timestamp.FromDateTime(a.RaisedAt),
        UpdatedAt = Timestamp.FromDateTime(a.UpdatedAt),
    };

    private sealed class Customer
    {
        public CustomerState State { get; set; } = new();

        /// <summary>The customer's latest submitted event; the next one starts when it is done.</summary>
        public Task Last { get; set; } = Task.CompletedTask;
    }
}
