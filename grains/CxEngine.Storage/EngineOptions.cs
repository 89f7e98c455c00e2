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

public sealed class CustomerLimits
{
    /// <summary>How many recent event ids each customer remembers (8 bytes each) to answer retries as duplicates.</summary>
    [Range(16, 100_000)]
    public int IdempotencyWindow { get; set; } = 256;

    /// <summary>How many score changes each customer keeps to explain its score.</summary>
    [Range(3, 10_000)]
    public int HistoryLength { get; set; } = 16;

    /// <summary>How many events one grain call applies at most (a stream's waiting events are split beyond this).</summary>
    [Range(1, 10_000)]
    public int MaxBatchSize { get; set; } = 256;
}

public sealed class RecoveryOptions
{
    /// <summary>How long action-log entries are kept; watchers resuming from further back start at the oldest kept.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "3650.00:00:00")]
    public TimeSpan LogRetention { get; set; } = TimeSpan.FromDays(30);

    /// <summary>How often each silo looks for log entries written by other silos (entries written on this silo are seen at once).</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:01:00")]
    public TimeSpan FeedPollInterval { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>How often each silo looks for actions past their due_by without acknowledgement.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan OverdueSweepInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Live entries a watcher may be behind before it is moved back to reading the log (bounds memory per watcher).</summary>
    [Range(16, 1_000_000)]
    public int WatcherBuffer { get; set; } = 1024;
}
