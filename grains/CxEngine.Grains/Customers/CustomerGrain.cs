using CxEngine.Policies;
using CxEngine.Scoring;
using CxEngine.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CxEngine.Customers;

/// <summary>
/// One customer. Holds the state, deduplicates, runs the scoring step over a batch, records why the
/// score moved, keeps the recovery action, and persists once per batch. It computes no score itself.
/// </summary>
public sealed partial class CustomerGrain(
    [PersistentState("customer", CxStorage.Name)] IPersistentState<CustomerState> state,
    TierCatalogCache tiers,
    [FromKeyedServices(EngineClock.Key)] TimeProvider clock,
    IOptions<EngineOptions> options,
    ILogger<CustomerGrain> logger) : Grain, ICustomerGrain
{
    private readonly CustomerLimits _limits = options.Value.Customers;
    private readonly EventIdWindow _seen = new();

    // Set when a write failed and storage could not be re-read: the in-memory state may be ahead of
    // storage, so this activation answers nothing more and deactivates.
    private bool _stale;

    private CustomerState S => state.State;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _seen.Load(S.RecentEventIds, _limits.IdempotencyWindow);
        return Task.CompletedTask;
    }

    public async Task<IReadOnlyList<EventOutcome>> ApplyAsync(IReadOnlyList<CustomerEvent> events)
    {
        ThrowIfStale();
        var catalog = await tiers.GetAsync();
        var outcomes = new EventOutcome[events.Count];
        var applied = 0;
        var now = clock.GetUtcNow().UtcDateTime;

        for (var i = 0; i < events.Count; i++)
        {
            var evt = events[i];
            if (_seen.Contains(evt.EventId))
            {
                outcomes[i] = new EventOutcome(evt.EventId, EventStatus.Duplicate, Snapshot(catalog));
                continue;
            }

            var tierName = evt.Tier ?? S.Tier ?? catalog.DefaultTier;
            if (catalog.Find(tierName) is null)
            {
                catalog = await tiers.GetAsync(tierName);
            }

            if (catalog.Find(tierName) is not { } policy)
            {
                // Validated at the edge; a tier can only be unknown here if the catalog changed in between.
                outcomes[i] = new EventOutcome(evt.EventId, EventStatus.Rejected, S.Exists ? Snapshot(catalog) : null,
                    Error: $"tier: unknown tier '{tierName}'; known tiers: {catalog.KnownNames}");
                continue;
            }

            if (!S.Exists)
            {
                S.Score = ScoreState.Initial(policy);
            }

            S.Tier = tierName;
            var openSeverity = S.OpenAction?.Severity ?? Severity.None;
            var result = ScoringStep.Apply(S.Score, evt.Event, policy, openSeverity);

            S.Score = result.State;
            S.EventsApplied++;
            _seen.Add(evt.EventId);
            var change = ScoreChangeRecord.From(evt, result.Explanation, now);
            AppendHistory(change);
            var action = ApplyRecovery(result.Recovery, evt.EventId, policy, now);

            outcomes[i] = new EventOutcome(evt.EventId, EventStatus.Applied, Snapshot(policy), change, action);
            applied++;
        }

        if (applied > 0 && !await TryPersistAsync(events.Count))
        {
            for (var i = 0; i < outcomes.Length; i++)
            {
                if (outcomes[i].Status == EventStatus.Applied)
                {
                    outcomes[i] = new EventOutcome(outcomes[i].EventId, EventStatus.Unavailable, null,
                        Error: "storage is unavailable; the event was not applied, retry it with the same event_id");
                }
            }
        }

        return outcomes;
    }

    public async Task<CustomerSnapshot?> GetScoreAsync()
    {
        ThrowIfStale();
        if (!S.Exists)
        {
            // A read of an unknown id must not leave an empty activation behind.
            DeactivateOnIdle();
            return null;
        }

        return Snapshot(await tiers.GetAsync());
    }

    public async Task<CustomerHistory?> GetHistoryAsync(int limit)
    {
        ThrowIfStale();
        if (!S.Exists)
        {
            DeactivateOnIdle();
            return null;
        }

        var count = limit <= 0 ? S.History.Count : Math.Min(limit, S.History.Count);
        var changes = new ScoreChangeRecord[count];
        for (var i = 0; i < count; i++)
        {
            changes[i] = S.History[S.History.Count - 1 - i];
        }

        return new CustomerHistory(Snapshot(await tiers.GetAsync()), changes);
    }

    public async Task<CustomerSnapshot> SetTierAsync(string tier)
    {
        ThrowIfStale();
        var catalog = await tiers.GetAsync(tier);
        var policy = catalog.Find(tier) ?? throw new UnknownTierException(tier, catalog.KnownNames);
        if (S.Tier == tier)
        {
            return Snapshot(policy);
        }

        if (!S.Exists)
        {
            S.Score = ScoreState.Initial(policy);
        }

        S.Tier = tier;
        if (!await TryPersistAsync(0))
        {
            throw new StorageUnavailableException("storage is unavailable; the tier was not changed, retry the call");
        }

        return Snapshot(policy);
    }

    private RecoveryActionRecord? ApplyRecovery(RecoveryDecision decision, string eventId, TierPolicy policy, DateTime now)
    {
        switch (decision.Kind)
        {
            case RecoveryDecisionKind.Raise:
                S.ActionsRaised++;
                var compensation = RecoveryPlaybook.SuggestedCompensation(decision.Severity, policy);
                S.OpenAction = new RecoveryActionRecord
                {
                    ActionId = $"{this.GetPrimaryKeyString()}#{S.ActionsRaised}",
                    CustomerId = this.GetPrimaryKeyString(),
                    Tier = policy.Name,
                    Severity = decision.Severity,
                    Status = ActionStatus.Open,
                    Score = S.Score.Score,
                    Expectation = S.Score.Expectation,
                    Baseline = policy.Baseline,
                    TriggerEventId = eventId,
                    Reasons = CostliestChanges(),
                    Steps = RecoveryPlaybook.StepsFor(decision.Severity),
                    SuggestedCompensation = compensation,
                    RequiresApproval = RecoveryPlaybook.RequiresApproval(compensation, policy),
                    DueBy = now + policy.SlaFor(decision.Severity),
                    RaisedAt = now,
                    UpdatedAt = now,
                };
                LogActionRaised(logger, S.OpenAction.ActionId, decision.Severity, S.Score.Score, policy.Baseline);
                return S.OpenAction;

            case RecoveryDecisionKind.Escalate when S.OpenAction is { } open:
                var escalatedCompensation = RecoveryPlaybook.SuggestedCompensation(decision.Severity, policy);
                S.OpenAction = open with
                {
                    Severity = decision.Severity,
                    Status = ActionStatus.Escalated,
                    Tier = policy.Name,
                    Score = S.Score.Score,
                    Expectation = S.Score.Expectation,
                    Baseline = policy.Baseline,
                    Reasons = CostliestChanges(),
                    Steps = RecoveryPlaybook.StepsFor(decision.Severity),
                    SuggestedCompensation = escalatedCompensation,
                    RequiresApproval = RecoveryPlaybook.RequiresApproval(escalatedCompensation, policy),
                    // A more severe action is due sooner, never later than it already was.
                    DueBy = Min(open.DueBy, now + policy.SlaFor(decision.Severity)),
                    UpdatedAt = now,
                };
                LogActionEscalated(logger, open.ActionId, open.Severity, decision.Severity);
                return S.OpenAction;

            case RecoveryDecisionKind.Recover when S.OpenAction is { } recovered:
                S.OpenAction = null;
                LogActionRecovered(logger, recovered.ActionId, S.Score.Score);
                return recovered with
                {
                    Status = ActionStatus.Recovered,
                    Score = S.Score.Score,
                    Expectation = S.Score.Expectation,
                    ClosedByEventId = eventId,
                    UpdatedAt = now,
                };

            default:
                return null;
        }
    }

    /// <summary>The (at most three) retained changes that cost the most score, worst first.</summary>
    private ScoreChangeRecord[] CostliestChanges()
    {
        Span<int> worst = [-1, -1, -1];
        var history = S.History;
        for (var i = 0; i < history.Count; i++)
        {
            if (history[i].Delta >= 0)
            {
                continue;
            }

            for (var slot = 0; slot < worst.Length; slot++)
            {
                if (worst[slot] < 0 || history[i].Delta < history[worst[slot]].Delta)
                {
                    for (var j = worst.Length - 1; j > slot; j--)
                    {
                        worst[j] = worst[j - 1];
                    }

                    worst[slot] = i;
                    break;
                }
            }
        }

        var count = 0;
        while (count < worst.Length && worst[count] >= 0)
        {
            count++;
        }

        var reasons = new ScoreChangeRecord[count];
        for (var i = 0; i < count; i++)
        {
            reasons[i] = history[worst[i]];
        }

        return reasons;
    }

    private void AppendHistory(ScoreChangeRecord change)
    {
        S.History.Add(change);
        var excess = S.History.Count - _limits.HistoryLength;
        if (excess > 0)
        {
            S.History.RemoveRange(0, excess);
        }
    }

    /// <summary>
    /// Writes the state once for the whole batch. On failure the in-memory state is reloaded from storage,
    /// so the grain never serves a score that storage does not hold.
    /// </summary>
    private async Task<bool> TryPersistAsync(int batchSize)
    {
        try
        {
            await state.WriteStateAsync();
            return true;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogWriteFailed(logger, ex, this.GetPrimaryKeyString(), batchSize);
            try
            {
                await state.ReadStateAsync();
                _seen.Load(S.RecentEventIds, _limits.IdempotencyWindow);
            }
            catch (Exception reloadError)
            {
                // Storage is down for reads too: drop this activation so the next call starts from storage.
                LogReloadFailed(logger, reloadError, this.GetPrimaryKeyString());
                _stale = true;
                DeactivateOnIdle();
                throw new StorageUnavailableException("storage is unavailable; nothing was applied, retry with the same event ids", reloadError);
            }

            return false;
        }
    }

    private void ThrowIfStale()
    {
        if (_stale)
        {
            throw new StorageUnavailableException("storage is unavailable; retry the call");
        }
    }

    private CustomerSnapshot Snapshot(TierCatalog catalog) =>
        Snapshot(catalog.Find(S.Tier ?? catalog.DefaultTier) ?? catalog.Find(catalog.DefaultTier)!);

    private CustomerSnapshot Snapshot(TierPolicy policy) => new(
        this.GetPrimaryKeyString(),
        S.Tier ?? policy.Name,
        S.Score.Score,
        S.Score.Expectation,
        policy.Baseline,
        S.EventsApplied,
        S.Score.HasEvents ? new DateTime(S.Score.LastEventAtTicks, DateTimeKind.Utc) : null,
        S.OpenAction);

    private static DateTime Min(DateTime a, DateTime b) => a < b ? a : b;

    [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "Recovery action {ActionId} raised ({Severity}): score {Score:F1} below baseline {Baseline}")]
    private static partial void LogActionRaised(ILogger logger, string actionId, Severity severity, double score, double baseline);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Information, Message = "Recovery action {ActionId} escalated from {From} to {To}")]
    private static partial void LogActionEscalated(ILogger logger, string actionId, Severity from, Severity to);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Information, Message = "Recovery action {ActionId} closed as recovered at score {Score:F1}")]
    private static partial void LogActionRecovered(ILogger logger, string actionId, double score);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Warning, Message = "Writing customer {CustomerId} failed; {BatchSize} events answered UNAVAILABLE, state reloaded from storage")]
    private static partial void LogWriteFailed(ILogger logger, Exception exception, string customerId, int batchSize);

    [LoggerMessage(EventId = 1005, Level = LogLevel.Error, Message = "Reloading customer {CustomerId} after a failed write failed too; deactivating")]
    private static partial void LogReloadFailed(ILogger logger, Exception exception, string customerId);
}
