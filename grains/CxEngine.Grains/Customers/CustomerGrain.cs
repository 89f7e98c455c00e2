using CxEngine.Policies;
using CxEngine.Recovery;
using CxEngine.Scoring;
using CxEngine.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CxEngine.Customers;

/// <summary>
/// One customer. Holds the state, deduplicates, runs the scoring step over a batch, records why the
/// score moved, keeps the recovery action and its lifecycle, and persists once per batch; then appends
/// the action changes to the log and updates the at-risk index, and only then acknowledges. It
/// computes no score itself.
/// </summary>
public sealed partial class CustomerGrain(
    [PersistentState("customer", CxStorage.Name)] IPersistentState<CustomerState> state,
    TierCatalogCache tiers,
    RecoveryStore recovery,
    [FromKeyedServices(EngineClock.Key)] TimeProvider clock,
    IOptions<EngineOptions> options,
    ILogger<CustomerGrain> logger) : Grain, ICustomerGrain
{
    private const string NotAppliedRetry = "storage is unavailable; the event was not applied, retry it with the same event_id";
    private const string NotAcknowledgedRetry = "the event is stored but its recovery side effects are not; retry it with the same event_id";

    private readonly CustomerLimits _limits = options.Value.Customers;
    private readonly EventIdWindow _seen = new();

    // Set when a write failed and storage could not be re-read: the in-memory state may be ahead of
    // storage, so this activation answers nothing more and deactivates.
    private bool _stale;

    private CustomerState S => state.State;

    private string CustomerId => this.GetPrimaryKeyString();

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _seen.Load(S, _limits.IdempotencyWindow);
        // Side effects a previous activation stored but could not deliver go out first.
        await TryFlushAsync();
    }

    public async Task<IReadOnlyList<EventOutcome>> ApplyAsync(IReadOnlyList<CustomerEvent> events)
    {
        ThrowIfStale();

        // Side effects still owed from an earlier batch go first: until they are delivered, not even a
        // retried event is acknowledged (as a duplicate), since its recovery entry is not in the log yet.
        if ((S.Outbox.Count > 0 || S.AtRiskDirty) && await TryFlushAsync() is null)
        {
            return [.. events.Select(e => new EventOutcome(e.EventId, EventStatus.Unavailable, null, Error: NotAcknowledgedRetry))];
        }

        var catalog = await tiers.GetAsync();
        var outcomes = new EventOutcome[events.Count];
        var applied = 0;
        var now = clock.GetUtcNow().UtcDateTime;
        var wasBelow = IsBelow(catalog);

        for (var i = 0; i < events.Count; i++)
        {
            var evt = events[i];
            var idHash = EventIdWindow.Hash(evt.EventId);
            if (_seen.Contains(idHash))
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
            var result = ScoringStep.Apply(S.Score, evt.Event, policy, S.OpenAction?.Severity ?? S.ResolvedEpisode);

            S.Score = result.State;
            S.EventsApplied++;
            _seen.Add(idHash);
            var change = ScoreChangeRecord.From(evt, result.Explanation, now);
            AppendHistory(change);
            var action = ApplyRecovery(result.Recovery, evt.EventId, policy, now);

            outcomes[i] = new EventOutcome(evt.EventId, EventStatus.Applied, Snapshot(policy), change, action);
            applied++;
        }

        if (applied == 0)
        {
            return outcomes;
        }

        // The index follows every move of a customer below the line, and the crossing back over it.
        S.AtRiskDirty |= wasBelow || IsBelow(catalog);
        if (!await TryPersistAsync(events.Count))
        {
            return MarkApplied(outcomes, NotAppliedRetry);
        }

        var sequences = await TryFlushAsync();
        if (sequences is null)
        {
            // Stored, so a retry is a DUPLICATE; but not acknowledged until the log has the actions.
            return MarkApplied(outcomes, NotAcknowledgedRetry);
        }

        for (var i = 0; i < outcomes.Length; i++)
        {
            if (outcomes[i].Action is { } action && sequences.TryGetValue((action.ActionId, action.Revision), out var sequence))
            {
                outcomes[i] = outcomes[i] with { Action = action with { Sequence = sequence } };
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
        S.AtRiskDirty = true;
        await PersistAndFlushAsync("the tier was not changed");
        return Snapshot(policy);
    }

    public async Task<RecoveryActionRecord> AcknowledgeActionAsync(string actionId, string by, string? note)
    {
        ThrowIfStale();
        var open = FindOpenAction(actionId, "acknowledged");
        if (open.Status == ActionStatus.Acknowledged)
        {
            throw new ActionTransitionException($"action {actionId} is already acknowledged by {open.AcknowledgedBy}");
        }

        var now = clock.GetUtcNow().UtcDateTime;
        var acknowledged = Change(open, ActionChange.Acknowledged, now) with
        {
            Status = ActionStatus.Acknowledged,
            AcknowledgedBy = by,
            AcknowledgedAt = now,
            Note = note,
        };
        S.OpenAction = acknowledged;
        return await RecordLifecycleChangeAsync(acknowledged, "the action was not acknowledged");
    }

    public async Task<RecoveryActionRecord> ResolveActionAsync(string actionId, string by, string? note, string? outcome)
    {
        ThrowIfStale();
        var open = FindOpenAction(actionId, "resolved");
        var now = clock.GetUtcNow().UtcDateTime;
        var resolved = Change(open, ActionChange.Resolved, now) with
        {
            Status = ActionStatus.Resolved,
            ResolvedBy = by,
            ResolvedAt = now,
            ResolutionOutcome = outcome,
            Note = note,
        };
        S.OpenAction = null;
        // The episode stays handled until the customer recovers; only a worse fall raises a new action.
        S.ResolvedEpisode = resolved.Severity;
        S.AtRiskDirty = true;
        return await RecordLifecycleChangeAsync(resolved, "the action was not resolved");
    }

    public async Task MarkOverdueAsync(string actionId)
    {
        ThrowIfStale();
        var now = clock.GetUtcNow().UtcDateTime;
        if (S.OpenAction is not { } open || open.ActionId != actionId
            || open.Status is not (ActionStatus.Open or ActionStatus.Escalated) || open.DueBy > now)
        {
            return; // acknowledged, closed, or already given a new deadline: nothing is overdue
        }

        var catalog = await tiers.GetAsync();
        var policy = catalog.Find(open.Tier) ?? catalog.Find(S.Tier ?? catalog.DefaultTier)!;
        var severity = (Severity)Math.Min((int)Severity.High, (int)open.Severity + 1);
        S.OpenAction = WithPlaybook(Change(open, ActionChange.Overdue, now), severity, policy) with
        {
            Status = ActionStatus.Escalated,
            Overdue = true,
            DueBy = now + policy.SlaFor(severity),
        };
        LogActionOverdue(logger, actionId, open.Severity, severity);
        await RecordLifecycleChangeAsync(S.OpenAction, "the overdue action was not escalated");
    }

    private RecoveryActionRecord FindOpenAction(string actionId, string verb)
    {
        if (S.OpenAction is { } open && open.ActionId == actionId)
        {
            return open;
        }

        if (RecoveryActionRecord.TryParseId(actionId, out _, out var number) && number <= S.ActionsRaised)
        {
            throw new ActionTransitionException($"action {actionId} is closed and cannot be {verb}");
        }

        DeactivateIfUnknown();
        throw new ActionNotFoundException($"no recovery action '{actionId}'");
    }

    private async Task<RecoveryActionRecord> RecordLifecycleChangeAsync(RecoveryActionRecord changed, string whatFailed)
    {
        S.Outbox.Add(changed);
        var sequences = await PersistAndFlushAsync(whatFailed);
        return changed with { Sequence = sequences.GetValueOrDefault((changed.ActionId, changed.Revision)) };
    }

    private async Task<Dictionary<(string, int), long>> PersistAndFlushAsync(string whatFailed)
    {
        if (!await TryPersistAsync(0))
        {
            throw new StorageUnavailableException($"storage is unavailable; {whatFailed}, retry the call");
        }

        return await TryFlushAsync()
            ?? throw new StorageUnavailableException($"the change is stored but the action log could not be written; retry the call");
    }

    private RecoveryActionRecord? ApplyRecovery(RecoveryDecision decision, string eventId, TierPolicy policy, DateTime now)
    {
        RecoveryActionRecord? changed = null;
        switch (decision.Kind)
        {
            case RecoveryDecisionKind.Escalate when S.OpenAction is { } open:
                changed = S.OpenAction = WithPlaybook(Change(open, ActionChange.Escalated, now), decision.Severity, policy) with
                {
                    Status = ActionStatus.Escalated,
                    Tier = policy.Name,
                    Score = S.Score.Score,
                    Expectation = S.Score.Expectation,
                    Baseline = policy.Baseline,
                    Reasons = CostliestChanges(),
                    // A more severe action is due sooner, never later than it already was.
                    DueBy = Min(open.DueBy, now + policy.SlaFor(decision.Severity)),
                };
                LogActionEscalated(logger, open.ActionId, open.Severity, decision.Severity);
                break;

            case RecoveryDecisionKind.Raise:
            case RecoveryDecisionKind.Escalate:
                // A first fall, or a worse fall after a person resolved the last action: a new action.
                S.ResolvedEpisode = Severity.None;
                S.ActionsRaised++;
                changed = S.OpenAction = WithPlaybook(new RecoveryActionRecord
                {
                    ActionId = RecoveryActionRecord.FormatId(CustomerId, S.ActionsRaised),
                    CustomerId = CustomerId,
                    Tier = policy.Name,
                    Status = ActionStatus.Open,
                    Change = ActionChange.Raised,
                    Revision = 1,
                    Score = S.Score.Score,
                    Expectation = S.Score.Expectation,
                    Baseline = policy.Baseline,
                    TriggerEventId = eventId,
                    Reasons = CostliestChanges(),
                    DueBy = now + policy.SlaFor(decision.Severity),
                    RaisedAt = now,
                    UpdatedAt = now,
                }, decision.Severity, policy);
                LogActionRaised(logger, S.OpenAction.ActionId, decision.Severity, S.Score.Score, policy.Baseline);
                break;

            case RecoveryDecisionKind.Recover when S.OpenAction is { } recovered:
                S.OpenAction = null;
                changed = Change(recovered, ActionChange.Recovered, now) with
                {
                    Status = ActionStatus.Recovered,
                    Score = S.Score.Score,
                    Expectation = S.Score.Expectation,
                    ClosedByEventId = eventId,
                };
                LogActionRecovered(logger, recovered.ActionId, S.Score.Score);
                break;

            case RecoveryDecisionKind.Recover:
                // The customer is back above the line after a resolved action: the episode is over.
                S.ResolvedEpisode = Severity.None;
                break;
        }

        if (changed is not null)
        {
            S.Outbox.Add(changed);
        }

        return changed;
    }

    /// <summary>The action at a severity: the playbook's steps, its compensation, and whether that needs approval.</summary>
    private static RecoveryActionRecord WithPlaybook(RecoveryActionRecord action, Severity severity, TierPolicy policy)
    {
        var compensation = RecoveryPlaybook.SuggestedCompensation(severity, policy);
        return action with
        {
            Severity = severity,
            Steps = RecoveryPlaybook.StepsFor(severity),
            SuggestedCompensation = compensation,
            RequiresApproval = RecoveryPlaybook.RequiresApproval(compensation, policy),
        };
    }

    private static RecoveryActionRecord Change(RecoveryActionRecord action, ActionChange change, DateTime now) =>
        action with { Change = change, Revision = action.Revision + 1, UpdatedAt = now, Sequence = 0 };

    /// <summary>
    /// Delivers what the stored state owes the outside: action-log entries and the at-risk index.
    /// Returns the log sequences given to the entries, or null when that failed (it stays owed).
    /// </summary>
    private async Task<Dictionary<(string, int), long>?> TryFlushAsync()
    {
        var sequences = new Dictionary<(string, int), long>();
        try
        {
            if (S.Outbox.Count > 0)
            {
                var entries = S.Outbox.ToArray();
                var assigned = await GrainFactory.GetGrain<IActionLogGrain>(IActionLogGrain.Key).AppendAsync(entries);
                for (var i = 0; i < entries.Length; i++)
                {
                    sequences[(entries[i].ActionId, entries[i].Revision)] = assigned[i];
                    if (S.OpenAction is { } open && open.ActionId == entries[i].ActionId && open.Revision == entries[i].Revision)
                    {
                        S.OpenAction = open with { Sequence = assigned[i] };
                    }
                }

                S.Outbox.Clear();
            }

            if (S.AtRiskDirty && S.Exists)
            {
                var catalog = await tiers.GetAsync();
                await recovery.SetAtRiskAsync(CustomerId, IsBelow(catalog) ? AtRiskEntryOf(Snapshot(catalog)) : null);
                S.AtRiskDirty = false;
            }

            return sequences;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogFlushFailed(logger, ex, CustomerId, S.Outbox.Count);
            return null;
        }
    }

    private static AtRiskEntry AtRiskEntryOf(CustomerSnapshot s) =>
        new(s.CustomerId, s.Tier, s.Score, s.Expectation, s.Baseline, s.EventsApplied, s.LastEventAt, s.OpenAction?.ActionId);

    private bool IsBelow(TierCatalog catalog) =>
        S.Exists && catalog.Find(S.Tier!) is { } policy && S.Score.Score < policy.Baseline;

    private static EventOutcome[] MarkApplied(EventOutcome[] outcomes, string error)
    {
        for (var i = 0; i < outcomes.Length; i++)
        {
            if (outcomes[i].Status == EventStatus.Applied)
            {
                outcomes[i] = new EventOutcome(outcomes[i].EventId, EventStatus.Unavailable, null, Error: error);
            }
        }

        return outcomes;
    }

    /// <summary>The (at most three) retained changes that cost the most score, worst first.</summary>
    private ScoreChangeRecord[] CostliestChanges() =>
        [.. S.History.Where(c => c.Delta < 0).OrderBy(c => c.Delta).Take(3)];

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
            LogWriteFailed(logger, ex, CustomerId, batchSize);
            try
            {
                await state.ReadStateAsync();
                _seen.Load(S, _limits.IdempotencyWindow);
            }
            catch (Exception reloadError)
            {
                // Storage is down for reads too: drop this activation so the next call starts from storage.
                LogReloadFailed(logger, reloadError, CustomerId);
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

    private void DeactivateIfUnknown()
    {
        if (!S.Exists)
        {
            DeactivateOnIdle();
        }
    }

    private CustomerSnapshot Snapshot(TierCatalog catalog) =>
        Snapshot(catalog.Find(S.Tier ?? catalog.DefaultTier) ?? catalog.Find(catalog.DefaultTier)!);

    private CustomerSnapshot Snapshot(TierPolicy policy) => new(
        CustomerId,
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

    [LoggerMessage(EventId = 1006, Level = LogLevel.Warning, Message = "Recovery action {ActionId} overdue: escalated from {From} to {To}")]
    private static partial void LogActionOverdue(ILogger logger, string actionId, Severity from, Severity to);

    [LoggerMessage(EventId = 1007, Level = LogLevel.Warning, Message = "Delivering customer {CustomerId}'s {Entries} action-log entries or at-risk standing failed; kept for the next call")]
    private static partial void LogFlushFailed(ILogger logger, Exception exception, string customerId, int entries);
}
