using System.ComponentModel.DataAnnotations;
using CxEngine.Scoring;

namespace CxEngine;

/// <summary>Tier policies and the per-customer limits, bound from the "CxEngine" configuration section.</summary>
public sealed class EngineOptions
{
    public const string SectionName = "CxEngine";

    /// <summary>The tier a customer gets when no event or operator has named one.</summary>
    [Required]
    public string DefaultTier { get; set; } = "standard";

    /// <summary>
    /// The tier policies the catalog starts with (keyed by name). Configuration replaces or adds tiers;
    /// with none configured, the three tiers of SCORING.md apply. Tiers changed at run time through the
    /// Policies service are persisted and win over these on later starts.
    /// </summary>
    public Dictionary<string, TierPolicy> Tiers { get; set; } = new(StringComparer.Ordinal);

    public CustomerLimits Customers { get; set; } = new();

    public RecoveryOptions Recovery { get; set; } = new();

    /// <summary>The configured tiers, named by their keys, over the SCORING.md defaults.</summary>
    public IReadOnlyList<TierPolicy> EffectiveTiers()
    {
        var tiers = TierPolicy.Defaults.ToDictionary(t => t.Name, StringComparer.Ordinal);
        foreach (var (name, policy) in Tiers)
        {
            tiers[name] = policy with { Name = name };
        }

        return [.. tiers.Values.OrderBy(t => t.Name, StringComparer.Ordinal)];
    }
}

public sealed class CustomerLimits : IValidatableObject
{
    /// <summary>
    /// An event id applied to a customer within this much arrival time is answered DUPLICATE when it comes
    /// again, however many events came in between. The log's unique (customer, event id) key is what decides,
    /// so in practice every id still in the log (<see cref="EventRetention"/>) is recognised.
    /// </summary>
    [Range(typeof(TimeSpan), "00:01:00", "3650.00:00:00")]
    public TimeSpan IdempotencyHorizon { get; set; } = TimeSpan.FromDays(7);

    /// <summary>
    /// How many recent event ids an active customer keeps in memory (8 bytes each) to answer a retry without
    /// asking the database. Only a fast path: an id it no longer holds is still found in the log. 64 covers the
    /// retries of a broken stream; at 512 a busy customer's ring grew towards 4 KB, and a soak's memory with it.
    /// </summary>
    [Range(0, 100_000)]
    public int RecentEventIds { get; set; } = 64;

    /// <summary>
    /// A customer that receives nothing for this long leaves memory (Orleans' collection age for the customer grain;
    /// its snapshot is written on the way out, and its next event brings it back from storage). At least a minute.
    /// </summary>
    [Range(typeof(TimeSpan), "00:01:00", "1.00:00:00")]
    public TimeSpan IdleAfter { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How many events may pass between two snapshots of a customer; a rebuild replays at most about this many.</summary>
    [Range(1, 100_000)]
    public int SnapshotEvery { get; set; } = 100;

    /// <summary>How long the event log keeps an event (by arrival time); older entries are trimmed in the background.</summary>
    [Range(typeof(TimeSpan), "01:00:00", "36500.00:00:00")]
    public TimeSpan EventRetention { get; set; } = TimeSpan.FromDays(400);

    /// <summary>How many of the latest score changes a recovery action picks its reasons (the costliest three) from.</summary>
    [Range(3, 1_000)]
    public int ReasonWindow { get; set; } = 16;

    /// <summary>How many events one grain call applies at most (a stream's waiting events are split beyond this).</summary>
    [Range(1, 10_000)]
    public int MaxBatchSize { get; set; } = 256;

    /// <summary>How many customers a re-score replays at the same time (each a log read and, with apply, a grain call).</summary>
    [Range(1, 1_000)]
    public int RescoreParallelism { get; set; } = 16;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (EventRetention < IdempotencyHorizon)
        {
            yield return new ValidationResult(
                $"must be at least IdempotencyHorizon ({IdempotencyHorizon}): a retry within the horizon is found in the log",
                [nameof(EventRetention)]);
        }
    }
}

public sealed class RecoveryOptions
{
    /// <summary>How long action-log entries are kept; watchers resuming from further back start at the oldest kept.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "3650.00:00:00")]
    public TimeSpan LogRetention { get; set; } = TimeSpan.FromDays(30);

    /// <summary>How often each silo looks for log entries written by other silos (entries written on this silo are seen at once).</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:01:00")]
    public TimeSpan FeedPollInterval { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>How often each silo looks for actions past their due_by without acknowledgement, and for open promises past their deadline.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan OverdueSweepInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Live entries a watcher may be behind before it is moved back to reading the log (bounds memory per watcher).</summary>
    [Range(16, 1_000_000)]
    public int WatcherBuffer { get; set; } = 1024;
}
