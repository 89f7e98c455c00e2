using CxEngine.Customers;

namespace CxEngine.Recovery;

/// <summary>
/// The one writer of the action log. Giving every entry its sequence in a single place, and committing
/// batches one after another, is what lets readers trust that no lower sequence can still appear.
/// </summary>
[Alias("cx.IActionLogGrain")]
public interface IActionLogGrain : IGrainWithStringKey
{
    public const string Key = "log";

    /// <summary>
    /// Appends the entries (actions as they stand after a change) and returns their sequences, in order.
    /// An entry already in the log (same action id and revision) is not written again; its sequence is returned.
    /// </summary>
    [Alias("Append")]
    Task<long[]> AppendAsync(IReadOnlyList<RecoveryActionRecord> entries);
}
