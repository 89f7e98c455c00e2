using System.Collections.Concurrent;
using System.Threading.RateLimiting;
using CxEngine.Silo.Grpc;
using Grpc.Core;
using Microsoft.Extensions.Options;

namespace CxEngine.Silo.Security;

/// <summary>
/// Per-caller limits: how many streams a caller holds open, and how many events per second it sends.
/// A caller over a limit is answered RESOURCE_EXHAUSTED at once; nobody else waits because of it.
/// </summary>
public sealed class CallerLimits : IDisposable
{
    private readonly LimitsOptions _options;
    private readonly ConcurrentDictionary<string, int> _streams = new(StringComparer.Ordinal);
    private readonly PartitionedRateLimiter<string>? _events;
    private readonly int _burst;

    public CallerLimits(IOptions<LimitsOptions> options)
    {
        _options = options.Value;
        if (_options.EventsPerSecondPerCaller > 0)
        {
            var rate = _options.EventsPerSecondPerCaller;
            var burst = _burst = _options.EventBurstPerCaller > 0 ? _options.EventBurstPerCaller : rate;
            _events = PartitionedRateLimiter.Create<string, string>(caller => RateLimitPartition.GetTokenBucketLimiter(caller, _ =>
                new TokenBucketRateLimiterOptions
                {
                    TokenLimit = burst,
                    TokensPerPeriod = Math.Max(1, rate / 10),
                    ReplenishmentPeriod = TimeSpan.FromMilliseconds(100),
                    QueueLimit = 0,
                    AutoReplenishment = true,
                }));
        }
    }

    /// <summary>Holds one of the caller's stream slots until disposed, or throws RESOURCE_EXHAUSTED.</summary>
    public IDisposable OpenStream(ServerCallContext context)
    {
        var caller = CxAuthentication.CallerOf(context.GetHttpContext().User);
        var open = _streams.AddOrUpdate(caller, 1, (_, n) => n + 1);
        if (open > _options.MaxStreamsPerCaller)
        {
            Release(caller);
            throw new ResourceExhaustedException($"caller '{caller}' already has {_options.MaxStreamsPerCaller} streams open (CxEngine:Limits:MaxStreamsPerCaller)", retryAfterSeconds: 1);
        }

        return new Slot(this, caller);
    }

    /// <summary>Takes one event from the caller's budget; false when the caller is over its rate.</summary>
    public bool TryTakeEvent(ServerCallContext context) => TryTakeEvents(context, 1);

    /// <summary>Takes a batch's events from the caller's budget at once; false (nothing taken) when they do not fit.</summary>
    public bool TryTakeEvents(ServerCallContext context, int count)
    {
        if (_events is null)
        {
            return true;
        }

        // A batch larger than the whole bucket can never fit: refused like a batch over the rate.
        if (count > _burst)
        {
            return false;
        }

        using var lease = _events.AttemptAcquire(CxAuthentication.CallerOf(context.GetHttpContext().User), count);
        return lease.IsAcquired;
    }

    /// <summary>
    /// The answer to a caller over its rate, with when it may send again (whole seconds, for HTTP's Retry-After):
    /// the time the bucket takes to refill whole, at least one second.
    /// </summary>
    public ResourceExhaustedException OverRate(ServerCallContext context) => new(
        $"caller '{CxAuthentication.CallerOf(context.GetHttpContext().User)}' is over {_options.EventsPerSecondPerCaller} events/s (CxEngine:Limits:EventsPerSecondPerCaller); slow down and resend what was not answered",
        _events is null ? 1 : Math.Max(1, (int)Math.Ceiling((double)_burst / _options.EventsPerSecondPerCaller)));

    private void Release(string caller) => _streams.AddOrUpdate(caller, 0, (_, n) => Math.Max(0, n - 1));

    public void Dispose() => _events?.Dispose();

    private sealed class Slot(CallerLimits owner, string caller) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                owner.Release(caller);
            }
        }
    }
}
