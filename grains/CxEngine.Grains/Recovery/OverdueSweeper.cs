using CxEngine.Customers;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CxEngine.Recovery;

/// <summary>
/// Finds actions past their due_by that nobody acknowledged and has their customers escalate them.
/// Runs on the engine clock, so tests move time instead of waiting. Every silo sweeps; the customer
/// grain ignores a second report of the same deadline.
/// </summary>
public sealed partial class OverdueSweeper(
    RecoveryStore store,
    IGrainFactory grains,
    [FromKeyedServices(EngineClock.Key)] TimeProvider clock,
    IOptions<EngineOptions> options,
    ILogger<OverdueSweeper> logger) : ILifecycleParticipant<ISiloLifecycle>, IDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private Task _loop = Task.CompletedTask;

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(OverdueSweeper), ServiceLifecycleStage.Active, StartAsync, StopAsync);

    /// <summary>One sweep: every overdue action found now is escalated.</summary>
    public async Task<int> SweepAsync(CancellationToken cancellationToken = default)
    {
        var overdue = await store.FindOverdueAsync(clock.GetUtcNow().UtcDateTime, 500, cancellationToken);
        foreach (var actionId in overdue)
        {
            if (RecoveryActionRecord.TryParseId(actionId, out var customerId, out _))
            {
                await grains.GetGrain<ICustomerGrain>(customerId).MarkOverdueAsync(actionId);
            }
        }

        return overdue.Count;
    }

    private Task StartAsync(CancellationToken cancellationToken)
    {
        _loop = LoopAsync(_stopping.Token);
        return Task.CompletedTask;
    }

    private async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        await _loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    private async Task LoopAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(options.Value.Recovery.OverdueSweepInterval, clock);
        while (await timer.WaitForNextTickAsync(cancellationToken))
        {
            try
            {
                var count = await SweepAsync(cancellationToken);
                if (count > 0)
                {
                    LogEscalated(logger, count);
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogSweepFailed(logger, ex);
            }
        }
    }

    public void Dispose() => _stopping.Dispose();

    [LoggerMessage(EventId = 6101, Level = LogLevel.Information, Message = "{Count} overdue recovery actions escalated")]
    private static partial void LogEscalated(ILogger logger, int count);

    [LoggerMessage(EventId = 6102, Level = LogLevel.Warning, Message = "Sweeping for overdue actions failed; will retry")]
    private static partial void LogSweepFailed(ILogger logger, Exception exception);
}
