using CxEngine.Customers;
using CxEngine.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CxEngine.Recovery;

/// <summary>
/// The engine's durable timers, read from indexes storage keeps with every commit, so they survive a restart
/// and the loss of a silo: actions past their due_by that nobody acknowledged (escalated as overdue) and open
/// promises past their deadline with no event (applied as missed). Runs on the engine clock, so tests move
/// time instead of waiting. Every silo sweeps; the customer grain ignores a second report of the same
/// deadline. Each customer is handled on its own: one that fails is logged and found again next sweep, and
/// never holds up the others.
/// </summary>
public sealed partial class DeadlineSweeper(
    RecoveryStore recovery,
    CustomerStore customers,
    IGrainFactory grains,
    [FromKeyedServices(EngineClock.Key)] TimeProvider clock,
    IOptions<EngineOptions> options,
    ILogger<DeadlineSweeper> logger) : ILifecycleParticipant<ISiloLifecycle>, IDisposable
{
    private const int PageSize = 500;

    private readonly CancellationTokenSource _stopping = new();
    private Task _loop = Task.CompletedTask;

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(DeadlineSweeper), ServiceLifecycleStage.Active, StartAsync, StopAsync);

    /// <summary>One sweep of both timers; returns the overdue actions escalated and the promises applied as missed.</summary>
    public async Task<(int Overdue, int PromisesMissed)> SweepAsync(CancellationToken cancellationToken = default)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        var overdue = 0;
        foreach (var actionId in await recovery.FindOverdueAsync(now, PageSize, cancellationToken))
        {
            if (RecoveryActionRecord.TryParseId(actionId, out var customerId, out _)
                && await TryAsync(customerId, () => grains.GetCustomer(customerId).MarkOverdueAsync(actionId), actionId))
            {
                overdue++;
            }
        }

        var missed = 0;
        foreach (var customerId in await customers.FindPromisesDueAsync(now, PageSize, cancellationToken))
        {
            var applied = 0;
            if (await TryAsync(customerId, async () => applied = await grains.GetCustomer(customerId).ApplyDuePromisesAsync(), "promises"))
            {
                missed += applied;
            }
        }

        return (overdue, missed);
    }

    private async Task<bool> TryAsync(string customerId, Func<Task> work, string what)
    {
        try
        {
            await work();
            return true;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogCustomerFailed(logger, ex, customerId, what);
            return false;
        }
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
                var (overdue, missed) = await SweepAsync(cancellationToken);
                if (overdue + missed > 0)
                {
                    LogSwept(logger, overdue, missed);
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogSweepFailed(logger, ex);
            }
        }
    }

    public void Dispose() => _stopping.Dispose();

    [LoggerMessage(EventId = 6101, Level = LogLevel.Information, Message = "{Overdue} overdue recovery actions escalated, {Missed} promises applied as missed")]
    private static partial void LogSwept(ILogger logger, int overdue, int missed);

    [LoggerMessage(EventId = 6102, Level = LogLevel.Warning, Message = "Sweeping for deadlines failed; will retry")]
    private static partial void LogSweepFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 6103, Level = LogLevel.Warning, Message = "Customer {CustomerId} ({What}) could not be handled this sweep; the next sweep retries it")]
    private static partial void LogCustomerFailed(ILogger logger, Exception exception, string customerId, string what);
}
