using CxEngine.Storage;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace CxEngine.Silo.Hosting;

/// <summary>
/// grpc.health.v1 says NOT_SERVING while this silo's storage writer is not working: its loop died and is being
/// restarted, no commit has succeeded since the last failure, or a write has waited longer than the write
/// timeout. An active silo that cannot store acknowledges nothing, so it should not be sent events.
/// </summary>
public sealed class StorageHealthCheck(CxDatabase database) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var health = database.Writer.Health;
        return Task.FromResult(health.IsHealthy
            ? HealthCheckResult.Healthy(health.Description)
            : HealthCheckResult.Unhealthy($"storage writer {health.State.ToString().ToLowerInvariant()}: {health.Description}"));
    }
}
