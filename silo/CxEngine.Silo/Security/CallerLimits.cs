using System.Collections.Concurrent;
using System.Threading.RateLimiting;
using CxEngine.Silo.Grpc;
using Grpc.Core;
using Microsoft.Extensions.Options;

namespace CxEngine.Silo.Security;

/// <summary>
/// Per-caller and per-tenant limits: how many streams a caller holds open, and how many events per second a caller,
/// and all of a tenant's callers together, send. A caller over a limit is answered RESOURCE_EXHAUSTED at once; nobody
/// else waits because of it.
/// </summary>
public sealed class CallerLimits : IDisposable
{
    private readonly LimitsOptions _options;
    private readonly ConcurrentDictionary<string, int> _streams = new(StringComparer.Ordinal);
    private readonly Bucket? _callers;
    private readonly Bucket? _tenants;

    public CallerLimits(IOptions<LimitsOptions> options)
    {
        _options = options.Value;
        _callers = Bucket.For(_options.EventsPerSecondPerCaller, _options.EventBurstPerCaller);
        _tenants = Bucket.For(_options.EventsPerSecondPerTenant, _options.EventBurstPerTenant);
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

    /// <summary>
    /// Takes <paramref name="count"/> events (a batch at once) from the tenant's budget and then the caller's. Null when
    /// they fit; otherwise the answer to give (nothing taken from the caller when the tenant's budget refused them).
    /// </summary>
    public ResourceExhaustedException? TakeEvents(ServerCallContext context, string tenant, int count)
    {
        if (_tenants?.TryTake(tenant, count) == false)
        {
            return _tenants.Over(
                $"tenant '{tenant}' is over {_options.EventsPerSecondPerTenant} events/s across its callers (CxEngine:Limits:EventsPerSecondPerTenant); slow down and resend what was not answered");
        }

        if (_callers is null)
        {
            return null;
        }

        var caller = CxAuthentication.CallerOf(context.GetHttpContext().User);
        return _callers.TryTake(caller, count) ? null : _callers.Over(
            $"caller '{caller}' is over {_options.EventsPerSecondPerCaller} events/s (CxEngine:Limits:EventsPerSecondPerCaller); slow down and resend what was not answered");
    }

    private void Release(string caller) => _streams.AddOrUpdate(caller, 0, (_, n) => Math.Max(0, n - 1));

    public void Dispose()
    {
        _callers?.Dispose();
        _tenants?.Dispose();
    }

    /// <summary>
    /// One token bucket per partition (a caller, a tenant), refilled every 100 ms when the rate divides into tenths of a
    /// second, otherwise every second (a token per 100 ms for 1 event/s would be ten times the rate).
    /// </summary>
    private sealed class Bucket(int rate, int burst) : IDisposable
    {
        private readonly PartitionedRateLimiter<string> _limiter = PartitionedRateLimiter.Create<string, string>(key =>
            RateLimitPartition.GetTokenBucketLimiter(key, _ => new TokenBucketRateLimiterOptions
            {
                TokenLimit = burst,
                TokensPerPeriod = rate % 10 == 0 ? rate / 10 : rate,
                ReplenishmentPeriod = rate % 10 == 0 ? TimeSpan.FromMilliseconds(100) : TimeSpan.FromSeconds(1),
                QueueLimit = 0,
                AutoReplenishment = true,
            }));

        public static Bucket? For(int rate, int burst) => rate > 0 ? new Bucket(rate, burst > 0 ? burst : rate) : null;

        public bool TryTake(string key, int count)
        {
            // A batch larger than the whole bucket can never fit: refused like a batch over the rate.
            if (count > burst)
            {
                return false;
            }

            using var lease = _limiter.AttemptAcquire(key, count);
            return lease.IsAcquired;
        }

        /// <summary>The answer, with when to send again (whole seconds, for HTTP's Retry-After): the time the bucket takes to refill whole.</summary>
        public ResourceExhaustedException Over(string message) => new(message, Math.Max(1, (int)Math.Ceiling((double)burst / rate)));

        public void Dispose() => _limiter.Dispose();
    }

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
