using Grpc.Core;
using V1 = CxEngine.Contracts.V1;

namespace CxEngine.Silo.Services;

public sealed partial class RecoveryService
{
    /// <summary>The caller's tenant's webhook endpoints: each one's stored position, lag and last error (README, "Webhooks").</summary>
    [Microsoft.AspNetCore.Authorization.Authorize(Roles = ReadersOfActions)]
    public override Task<V1.ListWebhookDeliveriesResponse> ListWebhookDeliveries(V1.ListWebhookDeliveriesRequest request, ServerCallContext context) =>
        webhooks.ListAsync(Security.CallerTenant.Of(context), context.CancellationToken);
}
