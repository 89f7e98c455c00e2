using System.Diagnostics;
using System.Runtime.CompilerServices;
using CxEngine.Customers;
using CxEngine.Policies;
using CxEngine.Scoring;
using CxEngine.Silo.Grpc;
using CxEngine.Silo.Ingest;
using CxEngine.Silo.Services;
using CxEngine.Storage;
using Grpc.Core;
using Microsoft.Extensions.Options;
using V1 = CxEngine.Contracts.V1;

namespace CxEngine.Silo.Replay;

/// <summary>
/// <c>Policies.Rescore</c>: checks the whole request before replaying anything, then walks the chosen customers
/// from storage (a page of standing rows at a time, never all of them in memory or activated at once), replays
/// each one's log with bounded parallelism, and reports. A dry run reads storage only; apply stores the candidate
/// policies as <c>UpsertTier</c> does and re-scores each customer inside its own grain turn.
/// </summary>
public sealed partial class RescoreRunner(
    IGrainFactory grains,
    TierCatalogCache cache,
    CustomerStore store,
    IOptions<EngineOptions> options,
    [FromKeyedServices(EngineClock.Key)] TimeProvider clock,
    ILogger<RescoreRunner> logger)
{
    public const int LargestChanges = 10;
    private const int Page = 1000;
    private static readonly TimeSpan ProgressEvery = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan LogEvery = TimeSpan.FromSeconds(5);

    /// <summary>Re-scores the tenant's chosen customers under its catalog with the candidates over it.</summary>
    public async Task RunAsync(string tenant, V1.RescoreRequest request, IServerStreamWriter<V1.RescoreProgress> stream, CancellationToken cancellationToken)
    {
        // Everything is checked before anything is stored or replayed.
        var catalog = grains.GetGrain<ITierCatalogGrain>(ITierCatalogGrain.KeyOf(tenant));
        var candidates = CheckPolicies(request);
        var before = await catalog.GetAsync().WaitAsync(cancellationToken);
        cache.Offer(before);
        var after = Overlay(before, candidates);
        await CheckSelectionAsync(tenant, request, after, cancellationToken);

        if (request.Apply)
        {
            foreach (var policy in candidates)
            {
                after = await catalog.UpsertAsync(policy).WaitAsync(cancellationToken);
                cache.Offer(after);
            }
        }

        var total = request.CustomerIds.Count > 0 ? request.CustomerIds.Distinct(StringComparer.Ordinal).Count()
            : request.Tiers.Count > 0 ? await CountAsync(tenant, request.Tiers.Distinct(StringComparer.Ordinal), cancellationToken)
            : await store.CountCustomersAsync(tenant, null, cancellationToken);
        var reason = $"re-score under tier policies version {after.Version}";
        var report = new Aggregate(total);
        LogStarted(logger, total, request.Apply, after.Version);

        using var done = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var progress = ReportProgressAsync(report, stream, request.Apply, done.Token);
        try
        {
            await Parallel.ForEachAsync(
                SelectAsync(tenant, request, cancellationToken),
                new ParallelOptions { MaxDegreeOfParallelism = options.Value.Customers.RescoreParallelism, CancellationToken = cancellationToken },
                async (customerId, ct) =>
                {
                    var result = request.Apply
                        ? await grains.GetGrain<ICustomerRescoring>(customerId).ApplyRescoreAsync(before, after, reason).WaitAsync(ct)
                        : await CustomerRescorer.DryRunAsync(store, customerId, before, after, clock.GetUtcNow().UtcDateTime, ct);
                    report.Add(result);
                });
        }
        finally
        {
            await done.CancelAsync();
            await progress.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        var final = report.ToReport();
        LogFinished(logger, final.Customers, final.EventsReplayed, request.Apply, report.Elapsed.TotalSeconds,
            final.MeanScoreBefore, final.MeanScoreAfter, final.ActionsRaised, final.ActionsClosed);
        await stream.WriteAsync(new V1.RescoreProgress { CustomersDone = report.Done, CustomersTotal = Math.Max(total, report.Done), Report = final }, cancellationToken);
    }

    /// <summary>The candidate policies, each validated as <c>UpsertTier</c> validates one; a bad one is named by its index and field.</summary>
    private static List<TierPolicy> CheckPolicies(V1.RescoreRequest request)
    {
        var policies = new List<TierPolicy>(request.Policies.Count);
        for (var i = 0; i < request.Policies.Count; i++)
        {
            var policy = ContractMapper.FromTier(request.Policies[i]);
            if (policy.Validate() is { } problem)
            {
                throw new RequestValidationException(problem with { Field = $"policies[{i}].{problem.Field}" });
            }

            if (policies.Any(p => p.Name == policy.Name))
            {
                throw new RequestValidationException(new FieldError($"policies[{i}].name", $"tier '{policy.Name}' is given twice"));
            }

            policies.Add(policy);
        }

        return policies;
    }

    private async Task CheckSelectionAsync(string tenant, V1.RescoreRequest request, TierCatalog catalog, CancellationToken cancellationToken)
    {
        if (request.CustomerIds.Count > 0 && request.Tiers.Count > 0)
        {
            throw new RequestValidationException(new FieldError("tiers", "choose customers by customer_ids or by tiers, not both"));
        }

        for (var i = 0; i < request.Tiers.Count; i++)
        {
            if (catalog.Find(request.Tiers[i]) is null)
            {
                throw new RequestValidationException(new FieldError($"tiers[{i}]", $"unknown tier '{request.Tiers[i]}'; known tiers: {catalog.KnownNames}"));
            }
        }

        for (var i = 0; i < request.CustomerIds.Count; i++)
        {
            RequestValidationException.ThrowIf(EventValidation.CheckId($"customer_ids[{i}]", request.CustomerIds[i]));
        }

        for (var start = 0; start < request.CustomerIds.Count; start += Page)
        {
            var ids = request.CustomerIds.Skip(start).Take(Page).ToArray();
            var keys = ids.Select(id => Tenants.Key(tenant, id)).ToArray();
            var known = (await store.ReadStandingsAsync(keys, cancellationToken)).Select(s => s.CustomerId).ToHashSet(StringComparer.Ordinal);
            for (var i = 0; i < ids.Length; i++)
            {
                if (!known.Contains(keys[i]))
                {
                    throw new NotFoundException($"customer_ids[{start + i}]: customer '{ids[i]}' is unknown: no event or tier was ever recorded for it");
                }
            }
        }
    }

    private static TierCatalog Overlay(TierCatalog catalog, List<TierPolicy> candidates) => candidates.Count == 0 ? catalog
        : catalog with
        {
            Tiers = [.. catalog.Tiers.Where(t => candidates.All(c => c.Name != t.Name)).Concat(candidates).OrderBy(t => t.Name, StringComparer.Ordinal)],
        };

    private async Task<long> CountAsync(string tenant, IEnumerable<string> tiers, CancellationToken cancellationToken)
    {
        long count = 0;
        foreach (var tier in tiers)
        {
            count += await store.CountCustomersAsync(tenant, tier, cancellationToken);
        }

        return count;
    }

    /// <summary>The chosen customers' keys, read from the standing rows a page at a time in id order (no grain is woken to list them).</summary>
    private async IAsyncEnumerable<string> SelectAsync(string tenant, V1.RescoreRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (request.CustomerIds.Count > 0)
        {
            foreach (var id in request.CustomerIds.Distinct(StringComparer.Ordinal))
            {
                yield return Tenants.Key(tenant, id);
            }

            yield break;
        }

        IEnumerable<string?> tiers = request.Tiers.Count > 0 ? request.Tiers.Distinct(StringComparer.Ordinal) : [null];
        foreach (var tier in tiers)
        {
            var after = "";
            IReadOnlyList<CustomerStanding> page;
            do
            {
                page = await store.ReadStandingsAsync(tenant, tier, after, Page, cancellationToken);
                foreach (var standing in page)
                {
                    yield return standing.CustomerId;
                }

                after = page.Count > 0 ? page[^1].CustomerId : after;
            }
            while (page.Count == Page);
        }
    }

    /// <summary>Progress to the caller twice a second and to the log every few seconds, from one writer (gRPC streams take one write at a time).</summary>
    private async Task ReportProgressAsync(Aggregate report, IServerStreamWriter<V1.RescoreProgress> stream, bool apply, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(ProgressEvery);
        var lastLog = TimeSpan.Zero;
        while (await timer.WaitForNextTickAsync(cancellationToken))
        {
            var doneCount = report.Done;
            await stream.WriteAsync(new V1.RescoreProgress { CustomersDone = doneCount, CustomersTotal = Math.Max(report.Total, doneCount) }, cancellationToken);
            if (report.Elapsed - lastLog >= LogEvery)
            {
                lastLog = report.Elapsed;
                LogProgress(logger, doneCount, report.Total, apply, doneCount / Math.Max(0.001, report.Elapsed.TotalSeconds));
            }
        }
    }

    /// <summary>The report's sums, added to by every replaying task.</summary>
    private sealed class Aggregate(long total)
    {
        private readonly Lock _lock = new();
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private readonly PriorityQueue<CustomerRescoreResult, double> _largest = new();
        private long _done, _customers, _events, _belowBefore, _belowAfter, _raised, _closed;
        private double _sumBefore, _sumAfter;

        public long Total => total;

        public long Done => Interlocked.Read(ref _done);

        public TimeSpan Elapsed => _clock.Elapsed;

        public void Add(CustomerRescoreResult? result)
        {
            lock (_lock)
            {
                _done++;
                if (result is null)
                {
                    return; // gone between listing and replay: nothing to say about it
                }

                _customers++;
                _events += result.EventsReplayed;
                _sumBefore += result.ScoreBefore;
                _sumAfter += result.ScoreAfter;
                _belowBefore += result.BelowBefore ? 1 : 0;
                _belowAfter += result.BelowAfter ? 1 : 0;
                _raised += result.ActionChange == RecoveryDecisionKind.Raise ? 1 : 0;
                _closed += result.ActionChange == RecoveryDecisionKind.Recover ? 1 : 0;
                var change = Math.Abs(result.ScoreAfter - result.ScoreBefore);
                if (_largest.Count < LargestChanges)
                {
                    _largest.Enqueue(result, change);
                }
                else if (_largest.TryPeek(out _, out var smallest) && change > smallest)
                {
                    _largest.EnqueueDequeue(result, change);
                }
            }
        }

        public V1.RescoreReport ToReport()
        {
            lock (_lock)
            {
                var report = new V1.RescoreReport
                {
                    Customers = _customers,
                    EventsReplayed = _events,
                    MeanScoreBefore = _customers == 0 ? 0 : _sumBefore / _customers,
                    MeanScoreAfter = _customers == 0 ? 0 : _sumAfter / _customers,
                    BelowBefore = _belowBefore,
                    BelowAfter = _belowAfter,
                    ActionsRaised = _raised,
                    ActionsClosed = _closed,
                };
                report.LargestChanges.AddRange(_largest.UnorderedItems
                    .OrderByDescending(e => e.Priority).ThenBy(e => e.Element.CustomerId, StringComparer.Ordinal)
                    .Select(e => new V1.CustomerRescore { CustomerId = Tenants.IdOf(e.Element.CustomerId), ScoreBefore = e.Element.ScoreBefore, ScoreAfter = e.Element.ScoreAfter }));
                return report;
            }
        }
    }

    [LoggerMessage(EventId = 5301, Level = LogLevel.Information, Message = "Re-score started: {Total} customers, apply {Apply}, tier policies version {Version}")]
    private static partial void LogStarted(ILogger logger, long total, bool apply, long version);

    [LoggerMessage(EventId = 5302, Level = LogLevel.Information, Message = "Re-score: {Done} of {Total} customers (apply {Apply}), {Rate:F0} customers/s")]
    private static partial void LogProgress(ILogger logger, long done, long total, bool apply, double rate);

    [LoggerMessage(EventId = 5303, Level = LogLevel.Information, Message = "Re-score finished: {Customers} customers, {Events} events, apply {Apply}, {Seconds:F1} s; mean score {Before:F2} -> {After:F2}; actions raised {Raised}, closed {Closed}")]
    private static partial void LogFinished(ILogger logger, long customers, long events, bool apply, double seconds, double before, double after, long raised, long closed);
}
