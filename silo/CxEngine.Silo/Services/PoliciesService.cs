using CxEngine.Customers;
using CxEngine.Policies;
using CxEngine.Scoring;
using CxEngine.Silo.Grpc;
using CxEngine.Silo.Ingest;
using CxEngine.Silo.Security;
using Grpc.Core;
using V1 = CxEngine.Contracts.V1;

namespace CxEngine.Silo.Services;

/// <summary>
/// Policies: operators list and change their tenant's tiers at run time, and move its customers between tiers. A new
/// tenant starts with the configured tiers; a change reaches its customers only.
/// </summary>
[Microsoft.AspNetCore.Authorization.Authorize(Roles = Security.Roles.Admin)]
public sealed class PoliciesService(IGrainFactory grains, TierCatalogCache cache, Replay.RescoreRunner rescore) : V1.Policies.PoliciesBase
{
    private ITierCatalogGrain Catalog(ServerCallContext context) =>
        grains.GetGrain<ITierCatalogGrain>(ITierCatalogGrain.KeyOf(Security.CallerTenant.Of(context)));

    public override async Task<V1.ListTiersResponse> ListTiers(V1.ListTiersRequest request, ServerCallContext context)
    {
        var catalog = await Catalog(context).GetAsync().WaitAsync(context.CancellationToken);
        cache.Offer(catalog);
        var response = new V1.ListTiersResponse { DefaultTier = catalog.DefaultTier };
        response.Tiers.AddRange(catalog.Tiers.Select(ContractMapper.ToTier));
        return response;
    }

    public override async Task<V1.TierPolicy> UpsertTier(V1.TierPolicy request, ServerCallContext context)
    {
        var policy = ContractMapper.FromTier(request);
        if (policy.Validate() is { } problem)
        {
            throw new RequestValidationException(problem);
        }

        var catalog = await Catalog(context).UpsertAsync(policy).WaitAsync(context.CancellationToken);
        // This silo uses the new policy from the next event on; other silos hear it from the catalog grain.
        cache.Offer(catalog);
        return ContractMapper.ToTier(catalog.Find(policy.Name)!);
    }

    public override async Task<V1.CustomerScore> SetCustomerTier(V1.SetCustomerTierRequest request, ServerCallContext context)
    {
        RequestValidationException.ThrowIf(EventValidation.CheckId("customer_id", request.CustomerId));
        if (!TierPolicy.IsValidName(request.Tier))
        {
            throw new RequestValidationException(new FieldError("tier", "required: the name of a known tier"));
        }

        var score = await grains.GetCustomer(context.Key(request.CustomerId)).SetTierAsync(request.Tier).WaitAsync(context.CancellationToken);
        return ContractMapper.ToScore(score);
    }

    /// <summary>Replays the chosen customers' logs under candidate (or current) policies; a dry run unless apply is set.</summary>
    public override Task Rescore(V1.RescoreRequest request, IServerStreamWriter<V1.RescoreProgress> responseStream, ServerCallContext context) =>
        rescore.RunAsync(Security.CallerTenant.Of(context), request, responseStream, context.CancellationToken);
}
