using CxEngine.Customers;
using CxEngine.Recovery;
using CxEngine.Scoring;
using CxEngine.Silo.Grpc;
using CxEngine.Silo.Ingest;
using Grpc.Core;
using V1 = CxEngine.Contracts.V1;

namespace CxEngine.Silo.Services;

/// <summary>
/// Recovery: the durable, resumable feed of action changes, the action list, and the lifecycle. Reading them (the feed,
/// the list, webhook deliveries) takes the read or the recovery role; changing an action takes the recovery role.
/// </summary>
public sealed partial class RecoveryService(
    IGrainFactory grains, RecoveryStore store, ActionFeed feed, Security.CallerLimits limits, Webhooks.WebhookDispatcher webhooks) : V1.Recovery.RecoveryBase
{
    /// <summary>Either role (ASP.NET Core reads the comma as "or").</summary>
    private const string ReadersOfActions = Security.Roles.Read + "," + Security.Roles.Recovery;

    private const int ReplayPage = 500;
    private const int MaxTextLength = 2000;

    /// <summary>
    /// Subscribes to the live feed first, then replays the log after the caller's position, then goes live:
    /// anything that arrived while replaying is in the subscription and is skipped if already sent, and a
    /// jump in the live sequence is filled from the log. A watcher cut off for being slow starts over the same way.
    /// </summary>
    [Microsoft.AspNetCore.Authorization.Authorize(Roles = ReadersOfActions)]
    public override async Task WatchActions(V1.WatchActionsRequest request, IServerStreamWriter<V1.RecoveryAction> responseStream, ServerCallContext context)
    {
        if (request.AfterSequence < -1)
        {
            throw new RequestValidationException(new FieldError("after_sequence", $"must be -1 (live only), 0 (from the oldest kept) or a sequence, got {request.AfterSequence}"));
        }

        if (!Enum.IsDefined(request.MinSeverity))
        {
            throw new RequestValidationException(new FieldError("min_severity", $"unknown value {(int)request.MinSeverity}"));
        }

        var tenant = Security.CallerTenant.Of(context);
        using var slot = limits.OpenStream(context);
        var tiers = request.Tiers.Count == 0 ? null : request.Tiers.ToHashSet(StringComparer.Ordinal);
        var minSeverity = (Severity)request.MinSeverity;
        var cancellationToken = context.CancellationToken;
        var last = request.AfterSequence == -1 ? feed.Head : request.AfterSequence;

        async Task SendAsync(RecoveryActionRecord entry)
        {
            // The tenant's entries only: its watchers resume by sequence with no other tenant's entry in between.
            if (Tenants.Owns(tenant, entry.CustomerId) && (tiers is null || tiers.Contains(entry.Tier)) && entry.Severity >= minSeverity)
            {
                await responseStream.WriteAsync(ContractMapper.ToAction(entry), cancellationToken);
            }

            last = entry.Sequence;
        }

        async Task CatchUpAsync()
        {
            IReadOnlyList<RecoveryActionRecord> page;
            do
            {
                page = await store.ReadLogAsync(last, ReplayPage, cancellationToken);
                foreach (var entry in page)
                {
                    await SendAsync(entry);
                }
            }
            while (page.Count == ReplayPage);
        }

        while (!cancellationToken.IsCancellationRequested)
        {
            using var subscription = feed.Subscribe();
            await CatchUpAsync();
            await foreach (var entry in subscription.Reader.ReadAllAsync(cancellationToken))
            {
                if (entry.Sequence <= last)
                {
                    continue;
                }

                if (entry.Sequence > last + 1)
                {
                    await CatchUpAsync();
                    if (entry.Sequence <= last)
                    {
                        continue;
                    }
                }

                await SendAsync(entry);
            }

            // The subscription ended: this watcher fell behind (or the silo is stopping); read the log again.
        }
    }

    [Microsoft.AspNetCore.Authorization.Authorize(Roles = ReadersOfActions)]
    public override async Task<V1.ListActionsResponse> ListActions(V1.ListActionsRequest request, ServerCallContext context)
    {
        foreach (var status in request.Statuses)
        {
            if (status == V1.ActionStatus.Unspecified || !Enum.IsDefined(status))
            {
                throw new RequestValidationException(new FieldError("statuses", $"unknown status {(int)status}"));
            }
        }

        if (!Enum.IsDefined(request.MinSeverity))
        {
            throw new RequestValidationException(new FieldError("min_severity", $"unknown value {(int)request.MinSeverity}"));
        }

        if (request.CustomerId.Length > 0)
        {
            RequestValidationException.ThrowIf(EventValidation.CheckId("customer_id", request.CustomerId));
        }

        var pageSize = PageTokens.PageSize(request.PageSize);
        var token = PageTokens.Decode(request.PageToken, 1);
        var tenant = Security.CallerTenant.Of(context);
        var query = new ActionQuery(
            tenant,
            [.. request.Statuses.Select(s => (ActionStatus)s).Distinct()],
            request.Tier.Length > 0 ? request.Tier : null,
            (Severity)request.MinSeverity,
            request.CustomerId.Length > 0 ? Tenants.Key(tenant, request.CustomerId) : null,
            pageSize + 1,
            token is null ? null : PageTokens.DecodeLong(token, 0));
        var actions = await store.ListActionsAsync(query, context.CancellationToken);

        var response = new V1.ListActionsResponse();
        response.Actions.AddRange(actions.Take(pageSize).Select(ContractMapper.ToAction));
        if (actions.Count > pageSize)
        {
            response.NextPageToken = PageTokens.Encode(actions[pageSize - 1].Sequence.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        return response;
    }

    [Microsoft.AspNetCore.Authorization.Authorize(Roles = Security.Roles.Recovery)]
    public override async Task<V1.RecoveryAction> AcknowledgeAction(V1.ActionRef request, ServerCallContext context)
    {
        var (actionId, customer, via) = await FindAsync(request.ActionId, context);
        var by = Person(request.By, via);
        CheckText("note", request.Note);
        return await ChangeAsync(
            actionId,
            () => customer.AcknowledgeActionAsync(actionId, by, via, NullIfEmpty(request.Note)),
            a => a.Status == ActionStatus.Acknowledged && a.AcknowledgedBy == by && a.AcknowledgedVia == via,
            context);
    }

    [Microsoft.AspNetCore.Authorization.Authorize(Roles = Security.Roles.Recovery)]
    public override async Task<V1.RecoveryAction> ResolveAction(V1.ResolveActionRequest request, ServerCallContext context)
    {
        var (actionId, customer, via) = await FindAsync(request.ActionId, context);
        var by = Person(request.By, via);
        CheckText("note", request.Note);
        CheckText("outcome", request.Outcome);
        return await ChangeAsync(
            actionId,
            () => customer.ResolveActionAsync(actionId, by, via, NullIfEmpty(request.Note), NullIfEmpty(request.Outcome)),
            a => a.Status == ActionStatus.Resolved && a.ResolvedBy == by && a.ResolvedVia == via,
            context);
    }

    /// <summary>
    /// An unknown action (another tenant's included) is NOT_FOUND before anything else about the request is looked at.
    /// An action id names its customer ("customer#n"), whose grain owns the action; the stored actions say whether it
    /// exists. Returns the action's key in the caller's tenant.
    /// </summary>
    private async Task<(string ActionId, ICustomerGrain Customer, string Via)> FindAsync(string actionId, ServerCallContext context)
    {
        var tenant = Security.CallerTenant.Of(context);
        if (!RecoveryActionRecord.TryParseId(actionId, out var customerId, out _) || EventValidation.CheckId("customer_id", customerId) is not null
            || Tenants.Key(tenant, actionId) is var key && await store.GetActionAsync(key, context.CancellationToken) is null)
        {
            throw new ActionNotFoundException($"no recovery action '{actionId}'");
        }

        return (key, grains.GetCustomer(Tenants.Key(tenant, customerId)), Security.CxAuthentication.ActorOf(context.GetHttpContext().User));
    }

    /// <summary>The person acting: <c>by</c> when given, otherwise the authenticated caller itself.</summary>
    private static string Person(string by, string via)
    {
        if (by.Length > EventValidation.MaxIdLength)
        {
            throw new RequestValidationException(new FieldError("by", $"must be at most {EventValidation.MaxIdLength} characters"));
        }

        return string.IsNullOrWhiteSpace(by) ? via : by;
    }

    /// <summary>
    /// Makes the change in the customer's grain. A retry of a change that was already stored (its answer was lost)
    /// finds the action as this very request left it, and gets that back instead of FAILED_PRECONDITION.
    /// </summary>
    private async Task<V1.RecoveryAction> ChangeAsync(
        string actionId, Func<Task<RecoveryActionRecord>> change, Func<RecoveryActionRecord, bool> alreadyDone, ServerCallContext context)
    {
        try
        {
            return ContractMapper.ToAction(await change().WaitAsync(context.CancellationToken));
        }
        catch (ActionTransitionException)
        {
            if (await store.GetActionAsync(actionId, context.CancellationToken) is { } stored && alreadyDone(stored))
            {
                return ContractMapper.ToAction(stored);
            }

            throw;
        }
    }

    private static void CheckText(string field, string value)
    {
        if (value.Length > MaxTextLength)
        {
            throw new RequestValidationException(new FieldError(field, $"must be at most {MaxTextLength} characters, got {value.Length}"));
        }
    }

    private static string? NullIfEmpty(string value) => value.Length == 0 ? null : value;
}
