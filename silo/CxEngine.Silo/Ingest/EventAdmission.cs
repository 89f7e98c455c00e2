using CxEngine.Customers;
using CxEngine.Policies;
using V1 = CxEngine.Contracts.V1;

namespace CxEngine.Silo.Ingest;

/// <summary>
/// The one admission step of every ingest RPC: an event is validated and mapped against its tenant's tier catalog, its
/// customer named by key in the tenant (<see cref="Tenants"/>), and a rejection is counted (by the field that was
/// wrong) before the RPC answers it in its own way.
/// </summary>
public sealed class EventAdmission(TierCatalogCache tiers, EventValidation validation, EngineMetrics metrics)
{
    public async ValueTask<(string Customer, CustomerEvent? Event, FieldError? Error)> AdmitAsync(string tenant, V1.InteractionEvent request)
    {
        if (validation.TryMap(request, await tiers.GetAsync(tenant, request.Tier), out var evt) is { } error)
        {
            metrics.Event(EventStatus.Rejected, error.Field);
            return ("", null, error);
        }

        return (Tenants.Key(tenant, request.CustomerId), evt, null);
    }
}
