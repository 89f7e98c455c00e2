using Microsoft.Extensions.Diagnostics.HealthChecks;
using Orleans.Runtime;

namespace CxEngine.Silo.Hosting;

/// <summary>grpc.health.v1 says SERVING only while this silo is an active cluster member.</summary>
public sealed class SiloHealthCheck(ISiloStatusOracle silo) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(silo.CurrentStatus == SiloStatus.Active
            ? HealthCheckResult.Healthy("silo active")
            : HealthCheckResult.Unhealthy($"silo {silo.CurrentStatus}"));
}
