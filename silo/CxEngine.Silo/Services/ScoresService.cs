using CxEngine.Customers;
using CxEngine.Policies;
using CxEngine.Recovery;
using CxEngine.Silo.Grpc;
using CxEngine.Silo.Ingest;
using CxEngine.Silo.Security;
using Microsoft.AspNetCore.Authorization;
using CxEngine.Storage;
using Grpc.Core;
using V1 = CxEngine.Contracts.V1;

namespace CxEngine.Silo.Services;

/// <summary>
/// Scores: what CRM systems read, in the caller's tenant. Unknown customers (another tenant's included) are NOT_FOUND.
/// </summary>
public sealed class ScoresService(IGrainFactory grains, CustomerStore customers, TierCatalogCache tiers) : V1.Scores.ScoresBase
{
    public const int MaxBatch = 1000;

    [Authorize(Roles = Roles.Read)]
    public override async Task<V1.CustomerScore> GetScore(V1.GetScoreRequest request, ServerCallContext context)
    {
        RequestValidationException.ThrowIf(EventValidation.CheckId("customer_id", request.CustomerId));
        var score = await grains.GetCustomer(context.Key(request.CustomerId)).GetScoreAsync().WaitAsync(context.CancellationToken)
            ?? throw NotFound(request.CustomerId);
        return ContractMapper.ToScore(score);
    }

    [Authorize(Roles = Roles.Read)]
    public override async Task<V1.BatchGetScoresResponse> BatchGetScores(V1.BatchGetScoresRequest request, ServerCallContext context)
    {
        if (request.CustomerIds.Count is 0 or > MaxBatch)
        {
            throw new RequestValidationException(new FieldError("customer_ids", $"must hold 1 to {MaxBatch} ids, got {request.CustomerIds.Count}"));
        }

        for (var i = 0; i < request.CustomerIds.Count; i++)
        {
            RequestValidationException.ThrowIf(EventValidation.CheckId($"customer_ids[{i}]", request.CustomerIds[i]));
        }

        var tenant = CallerTenant.Of(context);
        var ids = request.CustomerIds.Distinct(StringComparer.Ordinal).ToArray();
        var scores = await Task.WhenAll(ids.Select(id => grains.GetCustomer(Tenants.Key(tenant, id)).GetScoreAsync()))
            .WaitAsync(context.CancellationToken);
        var response = new V1.BatchGetScoresResponse();
        for (var i = 0; i < ids.Length; i++)
        {
            if (scores[i] is { } score)
            {
                response.Scores.Add(ContractMapper.ToScore(score));
            }
            else
            {
                response.NotFound.Add(ids[i]);
            }
        }

        return response;
    }

    [Authorize(Roles = Roles.Read)]
    public override async Task<V1.ScoreHistory> GetHistory(V1.GetHistoryRequest request, ServerCallContext context)
    {
        RequestValidationException.ThrowIf(EventValidation.CheckId("customer_id", request.CustomerId));
        if (request.Limit < 0 || request.Limit > PageTokens.MaxPageSize)
        {
            throw new RequestValidationException(new FieldError("limit", $"must be between 0 and {PageTokens.MaxPageSize}, got {request.Limit}"));
        }

        var pageSize = request.PageSize == 0 && request.Limit > 0 ? request.Limit : PageTokens.PageSize(request.PageSize);
        var token = PageTokens.Decode(request.PageToken, 2);
        if (token is not null && token[0] != request.CustomerId)
        {
            throw new RequestValidationException(new FieldError("page_token", "belongs to another customer's history"));
        }

        var before = token is null ? 0 : PageTokens.DecodeLong(token, 1);
        var history = await grains.GetCustomer(context.Key(request.CustomerId)).GetHistoryAsync(pageSize, before).WaitAsync(context.CancellationToken)
            ?? throw NotFound(request.CustomerId);
        var response = new V1.ScoreHistory { Score = ContractMapper.ToScore(history.Score) };
        foreach (var change in history.Changes)
        {
            response.Changes.Add(request.IncludeEvents ? ContractMapper.ToChange(change, request.CustomerId) : ContractMapper.ToChange(change));
        }

        foreach (var promise in history.OpenPromises ?? [])
        {
            response.OpenPromises.Add(ContractMapper.ToOpenPromise(promise));
        }

        if (history.NextBeforePosition is { } next)
        {
            response.NextPageToken = PageTokens.Encode(request.CustomerId, next.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        return response;
    }

    /// <summary>
    /// From the customers' standing rows under today's baselines, one query a page (never a call per customer):
    /// a tier's new baseline moves its customers in or out of the list at once.
    /// </summary>
    [Authorize(Roles = Roles.Read)]
    public override async Task<V1.ListAtRiskResponse> ListAtRisk(V1.ListAtRiskRequest request, ServerCallContext context)
    {
        var tenant = CallerTenant.Of(context);
        var pageSize = PageTokens.PageSize(request.PageSize);
        var token = PageTokens.Decode(request.PageToken, 2);
        if (token is not null && EventValidation.CheckId("page_token", token[1]) is not null)
        {
            throw new RequestValidationException(new FieldError("page_token", "is not a token this list gave"));
        }

        (double, string)? after = token is null ? null : (PageTokens.DecodeDouble(token, 0), Tenants.Key(tenant, token[1]));
        var catalog = await tiers.GetAsync(tenant, request.Tier.Length > 0 ? request.Tier : null);

        var baselines = catalog.Tiers
            .Where(t => request.Tier.Length == 0 || t.Name == request.Tier)
            .Select(t => (t.Name, t.Baseline))
            .ToArray();
        var entries = await customers.ListAtRiskAsync(tenant, baselines, after, pageSize + 1, context.CancellationToken);

        var response = new V1.ListAtRiskResponse();
        foreach (var entry in entries.Take(pageSize))
        {
            response.Customers.Add(ContractMapper.ToScore(entry.ToSnapshot(catalog.FindOrDefault(entry.Tier).Baseline)));
        }

        if (entries.Count > pageSize)
        {
            // The same gap the query ordered by: the tier's baseline, less the score.
            var lastEntry = entries[pageSize - 1];
            var gap = catalog.FindOrDefault(lastEntry.Tier).Baseline - lastEntry.Score;
            response.NextPageToken = PageTokens.Encode(gap.ToString("R", System.Globalization.CultureInfo.InvariantCulture), Tenants.IdOf(lastEntry.CustomerId));
        }

        return response;
    }

    /// <summary>Every customer's stored standing in the tenant, a page at a time in customer-id order; no customer is activated.</summary>
    [Authorize(Roles = Roles.Read)]
    public override async Task ExportScores(V1.ExportScoresRequest request, IServerStreamWriter<V1.CustomerScore> responseStream, ServerCallContext context)
    {
        var tenant = CallerTenant.Of(context);
        var catalog = await tiers.GetAsync(tenant, request.Tier.Length > 0 ? request.Tier : null);
        if (request.Tier.Length > 0 && catalog.Find(request.Tier) is null)
        {
            throw new RequestValidationException(new FieldError("tier", $"unknown tier '{request.Tier}'; known tiers: {catalog.KnownNames}"));
        }

        const int Page = 1000;
        var after = "";
        IReadOnlyList<CustomerStanding> page;
        do
        {
            page = await customers.ReadStandingsAsync(tenant, request.Tier.Length > 0 ? request.Tier : null, after, Page, context.CancellationToken);
            foreach (var c in page)
            {
                await responseStream.WriteAsync(ContractMapper.ToScore(c.ToSnapshot(catalog.FindOrDefault(c.Tier).Baseline)), context.CancellationToken);
            }

            after = page.Count > 0 ? page[^1].CustomerId : after;
        }
        while (page.Count == Page);
    }

    /// <summary>Erases the customer in the caller's tenant (<see cref="ICustomerGrain.EraseAsync"/>); NOT_FOUND when nothing of it is stored.</summary>
    [Authorize(Roles = Roles.Admin)]
    public override async Task<V1.EraseCustomerResponse> EraseCustomer(V1.EraseCustomerRequest request, ServerCallContext context)
    {
        RequestValidationException.ThrowIf(EventValidation.CheckId("customer_id", request.CustomerId));
        var erased = await grains.GetCustomer(context.Key(request.CustomerId)).EraseAsync().WaitAsync(context.CancellationToken)
            ?? throw NotFound(request.CustomerId);
        return new V1.EraseCustomerResponse { EventsErased = erased.EventsErased, ActionsErased = erased.ActionsErased };
    }

    private static NotFoundException NotFound(string customerId) =>
        new($"customer '{customerId}' is unknown: no event or tier was ever recorded for it");
}
