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
    ICustomerJournal journal,
    TierCatalogCache tiers,
    [FromKeyedServices(EngineClock.Key)] TimeProvider clock,
    IOptions<EngineOptions> options,
    ILogger<CustomerGrain> logger) : Grain, ICustomerGrain
{
    private const string NotAppliedRetry = "storage is unavailable; the event was not applied, retry it with the same event_id";

    // A batch whose ids storage finds in the log is applied again without them; this bounds how often.
    private const int MaxDuplicateRounds = 3;

    private readonly CustomerLimits _limits = options.Value.Customers;

    private CustomerState _state = new();

    // The version of the customer's row this activation last wrote or read (0: no row yet), and the log
    // position its stored snapshot includes.
    private long _version;
    private long _snapshotPosition;
    private RecentEventIds _recent = null!;

    // Set when a write failed and storage could not be re-read: the in-memory state may be ahead of
    // storage, so this activation answers nothing more and deactivates.
    private bool _stale;

    // Whether this activation has taken events: one activated only for a re-score leaves memory after it.
    private bool _ingesting;

    // The customer's key (Tenants): its tenant and id in one string, as storage and action ids carry it.
    private string CustomerId => this.GetPrimaryKeyString();

    private string Tenant => field ??= Tenants.TenantOf(CustomerId);

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

    public async Task<EventOutcomes> ApplyAsync(IReadOnlyList<CustomerEvent> events)
    {
        ThrowIfStale();
        _ingesting = true;

        // Ids storage found in the log during this call: duplicates for the rest of it, however many there are (the
        // recent-ids ring holds only the latest few, and a resent batch can carry more than it holds).
        HashSet<long>? foundInLog = null;
        for (var round = 1; ; round++)
        {
            var pending = await ApplyInMemoryAsync(events, foundInLog);
            if (pending.Logged.Count == 0)
            {
                return new EventOutcomes(pending.Outcomes);
            }

            try
            {
                // The commit is awaited here, not through CommitAsync: one async frame less on the path of every batch.
                var result = Committed(await StartCommit(pending.Logged, pending.Actions, pending.SnapshotDue), pending.SnapshotDue);
                return new EventOutcomes(Acknowledge(pending, result));
            }
            catch (DuplicateEventsException duplicates) when (round < MaxDuplicateRounds)
            {
                // Ids older than what this activation remembers, found in the log: apply the batch again without them.
                await ReloadAsync();
                foundInLog ??= [];
                foreach (var id in duplicates.EventIds)
                {
                    var hash = RecentEventIds.Hash(id);
                    foundInLog.Add(hash);
                    _recent.Add(hash);
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogWriteFailed(logger, ex, CustomerId, events.Count);
                await ReloadAsync();
                return new EventOutcomes(MarkUnavailable(pending.Outcomes, NotAppliedRetry));
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

        return Snapshot(await tiers.GetAsync(Tenant, null));
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
        var page = await journal.ReadBackwardsAsync(CustomerId, before, pageSize + 1);
        var changes = page.Take(pageSize).Select(e => e.ToChange(asReceived: true)).ToArray();
        long? next = page.Count > pageSize ? page[pageSize - 1].Position : null;
        var catalog = await tiers.GetAsync(Tenant, null);
        var policy = catalog.FindOrDefault(_state.Tier);
        var promises = _state.OpenPromises.IsDefaultOrEmpty ? [] : _state.OpenPromises
            .Select(p => new OpenPromiseDue(p, p.OverdueTicks(policy), p.DeadlineTicks(policy)))
            .OrderBy(p => Math.Min(p.OverdueAtTicks ?? long.MaxValue, p.MissedAtTicks))
            .ToArray();
        return new CustomerHistory(Snapshot(catalog), changes, next, promises);
    }

    public async Task<CustomerSnapshot> SetTierAsync(string tier)
    {
        ThrowIfStale();
        var catalog = await tiers.GetAsync(Tenant, tier);
        var policy = catalog.Find(tier) ?? throw new UnknownTierException(tier, catalog.KnownNames);
        if (CustomerLifecycle.SetTier(_state, policy) is { } next)
        {
            _state = next;
            await CommitLifecycleAsync([], "the tier was not changed");
        }

        return Snapshot(policy);
    }

    public async Task<RecoveryActionRecord> AcknowledgeActionAsync(string actionId, string by, string via, string? note)
    {
        ThrowIfStale();
        var (next, acknowledged) = Lifecycle(() => CustomerLifecycle.Acknowledge(_state, actionId, by, via, note, Now));
        _state = next;
        return await CommitActionChangeAsync(acknowledged!, "the action was not acknowledged");
    }

    public async Task<RecoveryActionRecord> ResolveActionAsync(string actionId, string by, string via, string? note, string? outcome)
    {
        ThrowIfStale();
        var (next, resolved) = Lifecycle(() => CustomerLifecycle.Resolve(_state, actionId, by, via, note, outcome, Now));
        _state = next;
        return await CommitActionChangeAsync(resolved!, "the action was not resolved");
    }

    public async Task MarkOverdueAsync(string actionId)
    {
        ThrowIfStale();
        var catalog = await tiers.GetAsync(Tenant, null);
        var policy = catalog.FindOrDefault(_state.OpenAction?.Tier ?? _state.Tier);
        if (CustomerLifecycle.MarkOverdue(_state, actionId, policy, Now) is not { Change: { } overdue } result)
        {
            return; // acknowledged, closed, or already given a new deadline: nothing is overdue
        }

        LogActionOverdue(logger, actionId, _state.OpenAction!.Severity, overdue.Severity);
        _state = result.State;
        await CommitActionChangeAsync(overdue, "the overdue action was not escalated");
    }

    public async Task<int> ApplyDuePromisesAsync()
    {
        ThrowIfStale();
        if (!_state.Exists)
        {
            DeactivateOnIdle();
            return 0;
        }

        var policy = (await tiers.GetAsync(Tenant, null)).FindOrDefault(_state.Tier);
        var now = Now;
        var result = CustomerModel.ApplyDuePromises(_state, CustomerId, policy, now.Ticks, now);
        if (result.Steps.Count == 0)
        {
            // Storage said a promise was due, but none is under today's policy (its tolerance may have grown):
            // store the deadline the policy gives now, so the sweep stops finding this customer.
            await CommitLifecycleAsync([], "the promise deadline was not moved");
            return 0;
        }

        _state = result.State;
        var logged = new List<EventLogEntry>(result.Steps.Count);
        var actions = new List<RecoveryActionRecord>();
        await AppendStepsAsync(result.Steps, now, logged, actions);
        try
        {
            await CommitAsync(logged, actions, writeSnapshot: true);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogWriteFailed(logger, ex, CustomerId, 0);
            await ReloadAsync();
            throw new StorageUnavailableException("storage is unavailable; the missed promises were not applied and will be again", ex);
        }

        foreach (var entry in logged)
        {
            _recent.Add(RecentEventIds.Hash(entry.EventId));
        }

        LogPromisesMissed(logger, CustomerId, logged.Count);
        return logged.Count;
    }

    public async Task<CustomerErasure?> EraseAsync()
    {
        ThrowIfStale();
        var erased = await journal.EraseAsync(CustomerId);
        // Nothing of the customer is left to snapshot on the way out, and no id to remember: the next event starts anew.
        _state = new CustomerState();
        _version = 0;
        _snapshotPosition = 0;
        _recent = new RecentEventIds(_limits.RecentEventIds);
        DeactivateOnIdle();
        if (erased is not null)
        {
            LogErased(logger, CustomerId, erased.EventsErased, erased.ActionsErased);
        }

        return erased;
    }

    private DateTime Now => clock.GetUtcNow().UtcDateTime;

    /// <summary>
    /// Applies a batch to the in-memory state through the pure model, collecting what it causes (log entries, action
    /// changes with their reasons); nothing is stored or answered yet. A ValueTask: it completes at once unless a tier
    /// catalog or the log's tail (an action's reasons) must be read, so most batches allocate no task for it.
    /// </summary>
    private async ValueTask<PendingBatch> ApplyInMemoryAsync(IReadOnlyList<CustomerEvent> events, HashSet<long>? foundInLog)
    {
        var catalog = await tiers.GetAsync(Tenant, null);
        var outcomes = new EventOutcome[events.Count];
        var logged = new List<EventLogEntry>(events.Count);
        var actions = new List<RecoveryActionRecord>();
        var now = Now;
        var before = _state;

        for (var i = 0; i < events.Count; i++)
        {
            var evt = events[i];
            var idHash = RecentEventIds.Hash(evt.EventId);
            if (_recent.Contains(idHash) || foundInLog?.Contains(idHash) == true)
            {
                outcomes[i] = new EventOutcome(evt.EventId, EventStatus.Duplicate, _state.Exists ? Snapshot(catalog) : null);
                continue;
            }

            var tierName = evt.Tier ?? _state.Tier ?? catalog.DefaultTier;
            if (catalog.Find(tierName) is null)
            {
                catalog = await tiers.GetAsync(Tenant, tierName);
            }

            if (catalog.Find(tierName) is not { } policy)
            {
                // Validated at the edge; a tier can only be unknown here if the catalog changed in between.
                outcomes[i] = new EventOutcome(evt.EventId, EventStatus.Rejected, _state.Exists ? Snapshot(catalog) : null,
                    Rejection: new FieldError("tier", $"unknown tier '{tierName}'; known tiers: {catalog.KnownNames}"));
                continue;
            }

            var result = CustomerModel.Apply(_state, CustomerId, evt, policy, now);
            if (result.Rejection is { } rejection)
            {
                outcomes[i] = new EventOutcome(evt.EventId, EventStatus.Rejected, _state.Exists ? Snapshot(catalog) : null, Rejection: rejection);
                continue;
            }

            _state = result.State;
            var first = logged.Count;
            var action = await AppendStepsAsync(result.Steps, now, logged, actions);
            for (var j = first; j < logged.Count - 1; j++)
            {
                _recent.Add(RecentEventIds.Hash(logged[j].EventId)); // the missed promises applied before the event
            }

            _recent.Add(idHash);

            // The event's own entry is the last; an action a missed promise before it changed is reported too.
            outcomes[i] = new EventOutcome(evt.EventId, EventStatus.Applied, Snapshot(policy), logged[^1], action);
        }

        // What the log alone does not carry (the action, a resolved episode, the tier, the open promises) goes into
        // a snapshot in the same commit, so a rebuild never needs more than snapshot + log.
        var snapshotDue = actions.Count > 0
            || _state.ResolvedEpisode != before.ResolvedEpisode
            || _state.Tier != before.Tier
            || _state.OpenPromises != before.OpenPromises
            || _state.ClosedPromises != before.ClosedPromises
            || _state.Position - _snapshotPosition >= _limits.SnapshotEvery;
        return new PendingBatch(outcomes, logged, actions, snapshotDue);
    }

    /// <summary>
    /// Appends the model's steps to the batch as log entries, and the actions they changed; an action a step raised,
    /// escalated or reopened gets its reasons, the costliest recent changes (the batch's, then the log's tail: read
    /// only then, which is rare). Returns the last action the steps changed, or null.
    /// </summary>
    private async Task<RecoveryActionRecord?> AppendStepsAsync(
        IReadOnlyList<ModelStep> steps, DateTime now, List<EventLogEntry> logged, List<RecoveryActionRecord> actions)
    {
        RecoveryActionRecord? last = null;
        foreach (var step in steps)
        {
            logged.Add(new EventLogEntry(step.Position, step.EventId, now, step.Body));
            if (step.Action is not { } action)
            {
                continue;
            }

            if (RecoveryRules.NeedsReasons(action.Change))
            {
                action = action with { Reasons = await CostliestChangesAsync(logged) };
                if (_state.OpenAction is { } open && open.ActionId == action.ActionId && open.Revision == action.Revision)
                {
                    _state.OpenAction = action;
                }
            }

            actions.Add(last = action);
            LogActionChanged(logger, action.ActionId, action.Change, action.Severity, action.Score, action.Baseline);
        }

        return last;
    }

    /// <summary>
    /// Puts the actions as the log keeps them (with their sequences, from the commit) in the state, in the results'
    /// actions and in the results' scores (taken before the commit): one record per action revision shared by all.
    /// </summary>
    private EventOutcome[] Acknowledge(PendingBatch pending, CommitResult result)
    {
        var outcomes = pending.Outcomes;
        if (result.Actions.Length == 0)
        {
            return outcomes;
        }

        _state.OpenAction = result.AsLogged(_state.OpenAction);
        for (var i = 0; i < outcomes.Length; i++)
        {
            var outcome = outcomes[i];
            var score = outcome.Score is { OpenAction: { } open } s && result.AsLogged(open) is var logged && !ReferenceEquals(logged, open)
                ? s with { OpenAction = logged }
                : outcome.Score;
            outcomes[i] = outcome with { Action = result.AsLogged(outcome.Action), Score = score };
        }

        return outcomes;
    }

    /// <summary>Writes the batch's log entries, the row (and snapshot when due) and the action entries in one commit.</summary>
    private async Task<CommitResult> CommitAsync(IReadOnlyList<EventLogEntry> logged, IReadOnlyList<RecoveryActionRecord> actions, bool writeSnapshot) =>
        Committed(await StartCommit(logged, actions, writeSnapshot), writeSnapshot);

    /// <summary>Hands storage the commit; the caller awaits it and passes the result to <see cref="Committed"/>.</summary>
    private Task<CommitResult> StartCommit(IReadOnlyList<EventLogEntry> logged, IReadOnlyList<RecoveryActionRecord> actions, bool writeSnapshot)
    {
        if (_state.OpenPromises.IsDefaultOrEmpty)
        {
            return Write(null);
        }

        // The earliest open-promise deadline goes into the customer's row: the index the promise sweep reads.
        var catalog = tiers.GetAsync(Tenant, null);
        return catalog.IsCompletedSuccessfully ? Write(catalog.Result) : WriteAfterLoadAsync(catalog);

        Task<CommitResult> Write(TierCatalog? current) => journal.CommitAsync(new CustomerCommit(
            CustomerId, _version, _state, logged, actions, writeSnapshot,
            current is null ? null : CustomerModel.NextDeadlineTicks(_state, current.FindOrDefault(_state.Tier))), Now);

        async Task<CommitResult> WriteAfterLoadAsync(ValueTask<TierCatalog> loading) => await Write(await loading);
    }

    /// <summary>What a commit changed in this activation: the row version it wrote, and the position its snapshot includes.</summary>
    private CommitResult Committed(CommitResult result, bool writeSnapshot)
    {
        _version = result.Version;
        if (writeSnapshot || result.Version == 1)
        {
            _snapshotPosition = _state.Position;
        }

        return result;
    }

    /// <summary>A change a person or the overdue sweep made: snapshot and action entry in one commit, or nothing.</summary>
    private async Task<RecoveryActionRecord[]> CommitLifecycleAsync(RecoveryActionRecord[] changes, string whatFailed)
    {
        try
        {
            return (await CommitAsync([], changes, writeSnapshot: true)).Actions;
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
        var stored = (await CommitLifecycleAsync([change], whatFailed))[0];
        if (_state.OpenAction is { } open && open.ActionId == stored.ActionId)
        {
            _state.OpenAction = stored;
        }

        return stored;
    }

    /// <summary>A lifecycle change of the model; a customer that never existed leaves memory when it is refused as unknown.</summary>
    private LifecycleResult Lifecycle(Func<LifecycleResult> change)
    {
        try
        {
            return change();
        }
        catch (ActionNotFoundException) when (!_state.Exists)
        {
            DeactivateOnIdle();
            throw;
        }
    }

    /// <summary>The (at most three) costliest of the latest changes: the batch's and, before them, the log's tail.</summary>
    private async Task<ScoreChangeRecord[]> CostliestChangesAsync(List<EventLogEntry> batch)
    {
        var window = _limits.ReasonWindow;
        var recent = batch.Count >= window ? batch.Skip(batch.Count - window) : batch;
        var fromLog = batch.Count >= window ? [] : await journal.ReadBackwardsAsync(CustomerId, batch.Count > 0 ? batch[0].Position : _state.Position + 1, window - batch.Count);
        return RecoveryRules.CostliestReasons(recent.Concat(fromLog).Select(e => e.ToChange()));
    }

    /// <summary>Rebuilds the customer from storage: its snapshot, then the log after it through the replay fold.</summary>
    private async Task LoadAsync()
    {
        var loaded = await journal.LoadAsync(CustomerId);
        var state = loaded.Snapshot ?? new CustomerState();
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

    private CustomerSnapshot Snapshot(TierCatalog catalog) => Snapshot(catalog.FindOrDefault(_state.Tier));

    private CustomerSnapshot Snapshot(TierPolicy policy) => new(
        CustomerId,
        _state.Tier ?? policy.Name,
        _state.Score.Score,
        _state.Score.Expectation,
        policy.Baseline,
        _state.Position,
        _state.Score.HasEvents ? new DateTime(_state.Score.LastEventAtTicks, DateTimeKind.Utc) : null,
        _state.OpenAction);

    private sealed record PendingBatch(
        EventOutcome[] Outcomes, List<EventLogEntry> Logged, List<RecoveryActionRecord> Actions, bool SnapshotDue);

    [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "Recovery action {ActionId} {Change} ({Severity}): score {Score:F1}, baseline {Baseline}")]
    private static partial void LogActionChanged(ILogger logger, string actionId, ActionChange change, Severity severity, double score, double baseline);

    [LoggerMessage(EventId = 1009, Level = LogLevel.Information, Message = "Customer {CustomerId}: {Count} open promises applied as missed on the engine clock")]
    private static partial void LogPromisesMissed(ILogger logger, string customerId, int count);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Warning, Message = "Writing customer {CustomerId} failed; {BatchSize} events answered UNAVAILABLE, state reloaded from storage")]
    private static partial void LogWriteFailed(ILogger logger, Exception exception, string customerId, int batchSize);

    [LoggerMessage(EventId = 1005, Level = LogLevel.Error, Message = "Reloading customer {CustomerId} after a failed write failed too; deactivating")]
    private static partial void LogReloadFailed(ILogger logger, Exception exception, string customerId);

    [LoggerMessage(EventId = 1006, Level = LogLevel.Warning, Message = "Recovery action {ActionId} overdue: escalated from {From} to {To}")]
    private static partial void LogActionOverdue(ILogger logger, string actionId, Severity from, Severity to);

    [LoggerMessage(EventId = 1010, Level = LogLevel.Information, Message = "Customer {CustomerId} erased: {Events} log entries, {Actions} actions")]
    private static partial void LogErased(ILogger logger, string customerId, long events, long actions);

    [LoggerMessage(EventId = 1008, Level = LogLevel.Warning, Message = "Writing customer {CustomerId}'s snapshot at deactivation failed; the log still holds every event")]
    private static partial void LogSnapshotFailed(ILogger logger, Exception exception, string customerId);
}
