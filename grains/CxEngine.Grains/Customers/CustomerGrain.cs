using CxEngine.Policies;
using CxEngine.Scoring;
using CxEngine.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CxEngine.Customers;

/// <summary>
/// One customer. On activation it reads its snapshot and replays the event log after it. A batch is
/// applied through the pure scoring step; what the batch causes (log entries, the customer's row and
/// snapshot, action-log entries) goes to storage as one commit, and the events are answered after that
/// commit and no other. It computes no score itself.
/// </summary>
public sealed partial class CustomerGrain(
    CustomerStore store,
    TierCatalogCache tiers,
    [FromKeyedServices(EngineClock.Key)] TimeProvider clock,
    IOptions<EngineOptions> options,
    ILogger<CustomerGrain> logger) : Grain, ICustomerGrain
{
    private const string NotAppliedRetry = "storage is unavailable; the event was not applied, retry it with the same event_id";

    // A batch whose ids storage finds in the log is applied again without them; this bounds how often.
    private const int MaxDuplicateRounds = 3;

    private readonly CustomerLimits _limits = options.Value.Customers;

    private StoredCustomer _state = new();

    // The version of the customer's row this activation last wrote or read (0: no row yet), and the log
    // position its stored snapshot includes.
    private long _version;
    private long _snapshotPosition;
    private RecentEventIds _recent = null!;

    // Set when a write failed and storage could not be re-read: the in-memory state may be ahead of
    // storage, so this activation answers nothing more and deactivates.
    private bool _stale;

    private string CustomerId => this.GetPrimaryKeyString();

    public override Task OnActivateAsync(CancellationToken cancellationToken) => LoadAsync();

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        // A snapshot that includes the whole log makes the next activation cheap; the log alone would do too.
        if (!_stale && _state.Exists && _state.Position > _snapshotPosition)
        {
            try
            {
                await CommitAsync([], [], writeSnapshot: true);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogSnapshotFailed(logger, ex, CustomerId);
            }
        }
    }

    public async Task<IReadOnlyList<EventOutcome>> ApplyAsync(IReadOnlyList<CustomerEvent> events)
    {
        ThrowIfStale();
        for (var round = 1; ; round++)
        {
            var pending = await ApplyInMemoryAsync(events);
            if (pending.Logged.Count == 0)
            {
                return pending.Outcomes;
            }

            try
            {
                var result = await CommitAsync(pending.Logged, pending.Actions, pending.SnapshotDue);
                return Acknowledge(pending, result);
            }
            catch (DuplicateEventsException duplicates) when (round < MaxDuplicateRounds)
            {
                // Ids older than what this activation remembers, found in the log: apply the batch again without them.
                await ReloadAsync();
                foreach (var id in duplicates.EventIds)
                {
                    _recent.Add(RecentEventIds.Hash(id));
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogWriteFailed(logger, ex, CustomerId, events.Count);
                await ReloadAsync();
                return MarkUnavailable(pending.Outcomes, NotAppliedRetry);
            }
        }
    }

    public async Task<CustomerSnapshot?> GetScoreAsync()
    {
        ThrowIfStale();
        if (!_state.Exists)
        {
            // A read of an unknown id must not leave an empty activation behind.
            DeactivateOnIdle();
            return null;
        }

        return Snapshot(await tiers.GetAsync());
    }

    public async Task<CustomerHistory?> GetHistoryAsync(int pageSize, long beforePosition)
    {
        ThrowIfStale();
        if (!_state.Exists)
        {
            DeactivateOnIdle();
            return null;
        }

        var before = beforePosition <= 0 ? _state.Position + 1 : Math.Min(beforePosition, _state.Position + 1);
        var page = await store.ReadBackwardsAsync(CustomerId, before, pageSize + 1);
        var changes = page.Take(pageSize).Select(e => e.ToChange()).ToArray();
        long? next = page.Count > pageSize ? page[pageSize - 1].Position : null;
        return new CustomerHistory(Snapshot(await tiers.GetAsync()), changes, next);
    }

    public async Task<CustomerSnapshot> SetTierAsync(string tier)
    {
        ThrowIfStale();
        var catalog = await tiers.GetAsync(tier);
        var policy = catalog.Find(tier) ?? throw new UnknownTierException(tier, catalog.KnownNames);
        if (_state.Tier == tier)
        {
            return Snapshot(policy);
        }

        if (!_state.Exists)
        {
            _state.Score = ScoreState.Initial(policy);
        }

        _state.Tier = tier;
        await CommitLifecycleAsync([], "the tier was not changed");
        return Snapshot(policy);
    }

    public async Task<RecoveryActionRecord> AcknowledgeActionAsync(string actionId, string by, string via, string? note)
    {
        ThrowIfStale();
        var open = FindOpenAction(actionId, "acknowledged");
        if (open.Status == ActionStatus.Acknowledged)
        {
            throw new ActionTransitionException($"action {actionId} is already acknowledged by {open.AcknowledgedBy}");
        }

        var now = Now;
        var acknowledged = Change(open, ActionChange.Acknowledged, now) with
        {
            Status = ActionStatus.Acknowledged,
            AcknowledgedBy = by,
            AcknowledgedVia = via,
            AcknowledgedAt = now,
            Note = note,
        };
        _state.OpenAction = acknowledged;
        return await CommitActionChangeAsync(acknowledged, "the action was not acknowledged");
    }

    public async Task<RecoveryActionRecord> ResolveActionAsync(string actionId, string by, string via, string? note, string? outcome)
    {
        ThrowIfStale();
        var open = FindOpenAction(actionId, "resolved");
        var now = Now;
        var resolved = Change(open, ActionChange.Resolved, now) with
        {
            Status = ActionStatus.Resolved,
            ResolvedBy = by,
            ResolvedVia = via,
            ResolvedAt = now,
            ResolutionOutcome = outcome,
            Note = note,
        };
        _state.OpenAction = null;
        // The episode stays handled until the customer recovers; only a worse fall raises a new action.
        _state.ResolvedEpisode = resolved.Severity;
        return await CommitActionChangeAsync(resolved, "the action was not resolved");
    }

    public async Task MarkOverdueAsync(string actionId)
    {
        ThrowIfStale();
        var now = Now;
        if (_state.OpenAction is not { } open || open.ActionId != actionId
            || open.Status is not (ActionStatus.Open or ActionStatus.Escalated) || open.DueBy > now)
        {
            return; // acknowledged, closed, or already given a new deadline: nothing is overdue
        }

        var catalog = await tiers.GetAsync();
        var policy = catalog.Find(open.Tier) ?? catalog.Find(_state.Tier ?? catalog.DefaultTier)!;
        var severity = (Severity)Math.Min((int)Severity.High, (int)open.Severity + 1);
        var overdue = WithPlaybook(Change(open, ActionChange.Overdue, now), severity, policy) with
        {
            Status = ActionStatus.Escalated,
            Overdue = true,
            DueBy = now + policy.SlaFor(severity),
        };
        _state.OpenAction = overdue;
        LogActionOverdue(logger, actionId, open.Severity, severity);
        await CommitActionChangeAsync(overdue, "the overdue action was not escalated");
    }

    private DateTime Now => clock.GetUtcNow().UtcDateTime;

    /// <summary>Applies a batch to the in-memory state, collecting what it causes; nothing is stored or answered yet.</summary>
    private async Task<PendingBatch> ApplyInMemoryAsync(IReadOnlyList<CustomerEvent> events)
    {
        var catalog = await tiers.GetAsync();
        var outcomes = new EventOutcome[events.Count];
        var logged = new List<EventLogEntry>(events.Count);
        var actions = new List<RecoveryActionRecord>();
        var now = Now;
        var tierBefore = _state.Tier;
        var episodeBefore = _state.ResolvedEpisode;

        for (var i = 0; i < events.Count; i++)
        {
            var evt = events[i];
            var idHash = RecentEventIds.Hash(evt.EventId);
            if (_recent.Contains(idHash))
            {
                outcomes[i] = new EventOutcome(evt.EventId, EventStatus.Duplicate, _state.Exists ? Snapshot(catalog) : null);
                continue;
            }

            var tierName = evt.Tier ?? _state.Tier ?? catalog.DefaultTier;
            if (catalog.Find(tierName) is null)
            {
                catalog = await tiers.GetAsync(tierName);
            }

            if (catalog.Find(tierName) is not { } policy)
            {
                // Validated at the edge; a tier can only be unknown here if the catalog changed in between.
                outcomes[i] = new EventOutcome(evt.EventId, EventStatus.Rejected, _state.Exists ? Snapshot(catalog) : null,
                    Error: $"tier: unknown tier '{tierName}'; known tiers: {catalog.KnownNames}");
                continue;
            }

            if (!_state.Exists)
            {
                _state.Score = ScoreState.Initial(policy);
            }

            _state.Tier = tierName;
            var result = ScoringStep.Apply(_state.Score, evt.Event, policy, _state.OpenAction?.Severity ?? _state.ResolvedEpisode);
            _state.Score = result.State;
            _state.Position++;
            _recent.Add(idHash);

            var entry = new EventLogEntry(_state.Position, evt.EventId, now, new LoggedEvent(evt.Event, evt.Channel, tierName, result.Explanation));
            logged.Add(entry);
            var action = await ApplyRecoveryAsync(result.Recovery, evt.EventId, policy, now, logged);
            if (action is not null)
            {
                actions.Add(action);
                logged[^1] = entry with { Body = entry.Body with { Action = new LoggedActionChange(action.ActionId, action.Revision, action.Change) } };
            }

            outcomes[i] = new EventOutcome(evt.EventId, EventStatus.Applied, Snapshot(policy), entry.ToChange(), action);
        }

        // What the log alone does not carry (the action, a resolved episode, the tier) goes into a snapshot
        // in the same commit, so a rebuild never needs more than snapshot + log.
        var snapshotDue = actions.Count > 0
            || _state.ResolvedEpisode != episodeBefore
            || _state.Tier != tierBefore
            || _state.Position - _snapshotPosition >= _limits.SnapshotEvery;
        return new PendingBatch(outcomes, logged, actions, snapshotDue);
    }

    private EventOutcome[] Acknowledge(PendingBatch pending, CommitResult result)
    {
        var outcomes = pending.Outcomes;
        if (result.Sequences.Length == 0)
        {
            return outcomes;
        }

        var sequences = new Dictionary<(string, int), long>(result.Sequences.Length);
        for (var i = 0; i < pending.Actions.Count; i++)
        {
            sequences[(pending.Actions[i].ActionId, pending.Actions[i].Revision)] = result.Sequences[i];
        }

        if (_state.OpenAction is { } open && sequences.TryGetValue((open.ActionId, open.Revision), out var openSequence))
        {
            _state.OpenAction = open with { Sequence = openSequence };
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

    /// <summary>Writes the batch's log entries, the row (and snapshot when due) and the action entries in one commit.</summary>
    private async Task<CommitResult> CommitAsync(IReadOnlyList<EventLogEntry> logged, IReadOnlyList<RecoveryActionRecord> actions, bool writeSnapshot)
    {
        var result = await store.CommitAsync(new CustomerCommit(CustomerId, _version, _state, logged, actions, writeSnapshot), Now);
        _version = result.Version;
        if (writeSnapshot || result.Version == 1)
        {
            _snapshotPosition = _state.Position;
        }

        return result;
    }

    /// <summary>A change a person or the overdue sweep made: snapshot and action entry in one commit, or nothing.</summary>
    private async Task<long[]> CommitLifecycleAsync(RecoveryActionRecord[] changes, string whatFailed)
    {
        try
        {
            return (await CommitAsync([], changes, writeSnapshot: true)).Sequences;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogWriteFailed(logger, ex, CustomerId, 0);
            await ReloadAsync();
            throw new StorageUnavailableException($"storage is unavailable; {whatFailed}, retry the call", ex);
        }
    }

    /// <summary>Records a lifecycle change of the open action and gives it back with its log sequence.</summary>
    private async Task<RecoveryActionRecord> CommitActionChangeAsync(RecoveryActionRecord change, string whatFailed)
    {
        var sequences = await CommitLifecycleAsync([change], whatFailed);
        var stored = change with { Sequence = sequences[0] };
        if (_state.OpenAction is { } open && open.ActionId == stored.ActionId)
        {
            _state.OpenAction = stored;
        }

        return stored;
    }

    private RecoveryActionRecord FindOpenAction(string actionId, string verb)
    {
        if (_state.OpenAction is { } open && open.ActionId == actionId)
        {
            return open;
        }

        if (RecoveryActionRecord.TryParseId(actionId, out _, out var number) && number <= _state.ActionsRaised)
        {
            throw new ActionTransitionException($"action {actionId} is closed and cannot be {verb}");
        }

        if (!_state.Exists)
        {
            DeactivateOnIdle();
        }

        throw new ActionNotFoundException($"no recovery action '{actionId}'");
    }

    private async Task<RecoveryActionRecord?> ApplyRecoveryAsync(
        RecoveryDecision decision, string eventId, TierPolicy policy, DateTime now, List<EventLogEntry> batch)
    {
        switch (decision.Kind)
        {
            case RecoveryDecisionKind.Escalate when _state.OpenAction is { } open:
                var escalated = _state.OpenAction = WithPlaybook(Change(open, ActionChange.Escalated, now), decision.Severity, policy) with
                {
                    Status = ActionStatus.Escalated,
                    Tier = policy.Name,
                    Score = _state.Score.Score,
                    Expectation = _state.Score.Expectation,
                    Baseline = policy.Baseline,
                    Reasons = await CostliestChangesAsync(batch),
                    // A more severe action is due sooner, never later than it already was.
                    DueBy = Min(open.DueBy, now + policy.SlaFor(decision.Severity)),
                };
                LogActionEscalated(logger, open.ActionId, open.Severity, decision.Severity);
                return escalated;

            case RecoveryDecisionKind.Raise:
            case RecoveryDecisionKind.Escalate:
                // A first fall, or a worse fall after a person resolved the last action: a new action.
                _state.ResolvedEpisode = Severity.None;
                _state.ActionsRaised++;
                var raised = _state.OpenAction = WithPlaybook(new RecoveryActionRecord
                {
                    ActionId = RecoveryActionRecord.FormatId(CustomerId, _state.ActionsRaised),
                    CustomerId = CustomerId,
                    Tier = policy.Name,
                    Status = ActionStatus.Open,
                    Change = ActionChange.Raised,
                    Revision = 1,
                    Score = _state.Score.Score,
                    Expectation = _state.Score.Expectation,
                    Baseline = policy.Baseline,
                    TriggerEventId = eventId,
                    Reasons = await CostliestChangesAsync(batch),
                    DueBy = now + policy.SlaFor(decision.Severity),
                    RaisedAt = now,
                    UpdatedAt = now,
                }, decision.Severity, policy);
                LogActionRaised(logger, raised.ActionId, decision.Severity, _state.Score.Score, policy.Baseline);
                return raised;

            case RecoveryDecisionKind.Recover when _state.OpenAction is { } recovered:
                _state.OpenAction = null;
                LogActionRecovered(logger, recovered.ActionId, _state.Score.Score);
                return Change(recovered, ActionChange.Recovered, now) with
                {
                    Status = ActionStatus.Recovered,
                    Score = _state.Score.Score,
                    Expectation = _state.Score.Expectation,
                    ClosedByEventId = eventId,
                };

            case RecoveryDecisionKind.Recover:
                // The customer is back above the line after a resolved action: the episode is over.
                _state.ResolvedEpisode = Severity.None;
                return null;

            default:
                return null;
        }
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
    /// The (at most three) changes that cost the most score among the latest ones: this batch's so far and,
    /// before them, the log's tail (read only when an action is raised or escalated, which is rare).
    /// </summary>
    private async Task<ScoreChangeRecord[]> CostliestChangesAsync(List<EventLogEntry> batch)
    {
        var window = _limits.ReasonWindow;
        var recent = batch.Count >= window ? batch.Skip(batch.Count - window) : batch;
        var fromLog = batch.Count >= window ? [] : await store.ReadBackwardsAsync(CustomerId, batch.Count > 0 ? batch[0].Position : _state.Position + 1, window - batch.Count);
        return [.. recent.Concat(fromLog).Select(e => e.ToChange()).Where(c => c.Delta < 0).OrderBy(c => c.Delta).Take(3)];
    }

    /// <summary>Rebuilds the customer from storage: its snapshot, then the log after it through the replay fold.</summary>
    private async Task LoadAsync()
    {
        var loaded = await store.LoadAsync(CustomerId);
        var state = loaded.Snapshot ?? new StoredCustomer();
        var snapshotPosition = state.Position;
        CustomerReplay.Replay(state, loaded.After);

        var recent = new RecentEventIds(_limits.RecentEventIds);
        foreach (var entry in loaded.After.Skip(Math.Max(0, loaded.After.Count - _limits.RecentEventIds)))
        {
            recent.Add(RecentEventIds.Hash(entry.EventId));
        }

        _state = state;
        _version = loaded.Version;
        _snapshotPosition = snapshotPosition;
        _recent = recent;
    }

    /// <summary>
    /// After a failed write the in-memory state may be ahead of storage (or, when the outcome of the commit is
    /// unknown, behind it): start again from what storage holds. If storage cannot even be read, this
    /// activation stops answering and goes away, so the next call starts from storage.
    /// </summary>
    private async Task ReloadAsync()
    {
        try
        {
            await LoadAsync();
        }
        catch (Exception reloadError) when (reloadError is not OperationCanceledException)
        {
            LogReloadFailed(logger, reloadError, CustomerId);
            _stale = true;
            DeactivateOnIdle();
            throw new StorageUnavailableException("storage is unavailable; nothing was applied, retry with the same event ids", reloadError);
        }
    }

    private static EventOutcome[] MarkUnavailable(EventOutcome[] outcomes, string error)
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

    private void ThrowIfStale()
    {
        if (_stale)
        {
            throw new StorageUnavailableException("storage is unavailable; retry the call");
        }
    }

    private CustomerSnapshot Snapshot(TierCatalog catalog) =>
        Snapshot(catalog.Find(_state.Tier ?? catalog.DefaultTier) ?? catalog.Find(catalog.DefaultTier)!);

    private CustomerSnapshot Snapshot(TierPolicy policy) => new(
        CustomerId,
        _state.Tier ?? policy.Name,
        _state.Score.Score,
        _state.Score.Expectation,
        policy.Baseline,
        _state.Position,
        _state.Score.HasEvents ? new DateTime(_state.Score.LastEventAtTicks, DateTimeKind.Utc) : null,
        _state.OpenAction);

    private static DateTime Min(DateTime a, DateTime b) => a < b ? a : b;

    private sealed record PendingBatch(
        EventOutcome[] Outcomes, List<EventLogEntry> Logged, List<RecoveryActionRecord> Actions, bool SnapshotDue);

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

    [LoggerMessage(EventId = 1008, Level = LogLevel.Warning, Message = "Writing customer {CustomerId}'s snapshot at deactivation failed; the log still holds every event")]
    private static partial void LogSnapshotFailed(ILogger logger, Exception exception, string customerId);
}
