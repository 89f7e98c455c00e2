using CxEngine.Policies;
using CxEngine.Scoring;
using CxEngine.Storage;

namespace CxEngine.Customers;

/// <summary>
/// Re-scoring one customer from what storage holds: its log read forward a page at a time through the pure
/// <see cref="Rescoring"/> fold. The grain uses it inside its turn to apply; a dry run uses it on the stored
/// state alone, so no customer is activated and no live state is touched.
/// </summary>
public static class CustomerRescorer
{
    private const int Page = 1000;

    /// <summary>
    /// Replays the customer's kept log up to <paramref name="upToPosition"/> under the catalog's policies, with the
    /// promises the catalog makes overdue or missed by <paramref name="now"/> (the engine's clock) applied.
    /// </summary>
    public static async Task<Rescoring> ReplayAsync(
        ICustomerJournal store, string customerId, long upToPosition, string currentTier, TierCatalog catalog, DateTime now,
        CancellationToken cancellationToken = default)
    {
        var fold = new Rescoring(catalog.FindOrDefault, customerId);
        var after = 0L;
        while (after < upToPosition)
        {
            var page = await store.ReadForwardAsync(customerId, after, upToPosition, Page, cancellationToken);
            foreach (var entry in page)
            {
                fold.Apply(entry);
            }

            if (page.Count < Page)
            {
                break;
            }

            after = page[^1].Position;
        }

        return fold.End(catalog.FindOrDefault(currentTier), now);
    }

    /// <summary>What a dry run reports for a customer: its stored state (snapshot + log) against the replay.</summary>
    public static async Task<CustomerRescoreResult?> DryRunAsync(
        ICustomerJournal store, string customerId, TierCatalog before, TierCatalog after, DateTime now, CancellationToken cancellationToken = default)
    {
        var loaded = await store.LoadAsync(customerId);
        var current = loaded.Snapshot ?? new CustomerState();
        CustomerReplay.Replay(current, loaded.After);
        if (!current.Exists)
        {
            return null;
        }

        var fold = await ReplayAsync(store, customerId, current.Position, current.Tier!, after, now, cancellationToken);
        return Summarize(customerId, current, fold, before, after);
    }

    public static CustomerRescoreResult Summarize(string customerId, CustomerState current, Rescoring fold, TierCatalog before, TierCatalog after)
    {
        var decision = Rescoring.Decide(current.OpenAction?.Severity ?? Severity.None, current.ResolvedEpisode, fold.OpenSeverity);
        var tier = current.Tier ?? before.DefaultTier;
        return new CustomerRescoreResult(
            customerId,
            current.Score.Score,
            fold.Score.Score,
            current.Score.Score < before.FindOrDefault(tier).Baseline,
            fold.Score.Score < after.FindOrDefault(tier).Baseline,
            fold.EventsReplayed,
            decision.Kind,
            decision.Severity);
    }

}
