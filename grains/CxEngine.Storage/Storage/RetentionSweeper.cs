using CxEngine.Recovery;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CxEngine.Storage;

/// <summary>
/// Keeps the logs to their retention, in the background, once an hour on the engine clock (the clock their
/// entries are stamped with): the customers' event log (<see cref="CustomerLimits.EventRetention"/>), a chunk
/// at a time so the writer is never held long, and the action log (<see cref="RecoveryOptions.LogRetention"/>).
/// </summary>
public sealed partial class RetentionSweeper(
    CustomerStore customers,
    RecoveryStore recovery,
    IOptions<EngineOptions> options,
    [FromKeyedServices(EngineClock.Key)] TimeProvider clock,
    ILogger<RetentionSweeper> logger) : ILifecycleParticipant<ISiloLifecycle>, IDisposable
{
    private const int Chunk = 5_000;
    private static readonly TimeSpan Every = TimeSpan.FromHours(1);

    private readonly CancellationTokenSource _stopping = new();
    private Task _loop = Task.CompletedTask;

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(RetentionSweeper), ServiceLifecycleStage.Active, _ =>
        {
            _loop = RunAsync(_stopping.Token);
            return Task.CompletedTask;
        }, async _ =>
        {
            await _stopping.CancelAsync();
            await _loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        });

    /// <summary>One pass: both logs trimmed to their retention as of the engine clock's now.</summary>
    public async Task SweepAsync(CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        await customers.TrimAsync(now - options.Value.Customers.EventRetention, Chunk, cancellationToken);
        var removed = await recovery.TrimAsync(now - options.Value.Recovery.LogRetention);
        if (removed > 0)
        {
            LogActionsTrimmed(logger, removed, options.Value.Recovery.LogRetention);
        }
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(Every, clock);
        do
        {
            try
            {
                await SweepAsync(cancellationToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogSweepFailed(logger, ex);
            }
        }
        while (await WaitAsync(timer, cancellationToken));
    }

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken cancellationToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    public void Dispose() => _stopping.Dispose();

    [LoggerMessage(EventId = 3301, Level = LogLevel.Information, Message = "Trimmed {Removed} action-log entries older than {Retention}")]
    private static partial void LogActionsTrimmed(ILogger logger, int removed, TimeSpan retention);

    [LoggerMessage(EventId = 3302, Level = LogLevel.Warning, Message = "Trimming the logs to their retention failed; will try again at the next sweep")]
    private static partial void LogSweepFailed(ILogger logger, Exception exception);
}
