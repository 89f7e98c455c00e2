using System.Diagnostics;

namespace CxEngine.Storage;

/// <summary>
/// Storage's spans (activity source <c>CxEngine.Storage</c>): <c>cx.storage.commit</c>, one customer's batch from the
/// moment it is handed to the group-commit writer until the transaction holding it committed, tagged with the number
/// of its events (<c>cx.commit.events</c>) and with how many writes that transaction carried (<c>cx.storage.batch_size</c>).
/// </summary>
public static class StorageTracing
{
    public const string SourceName = "CxEngine.Storage";

    public const string BatchSizeTag = "cx.storage.batch_size";

    internal static readonly ActivitySource Source = new(SourceName);

    /// <summary>The storage span a write was queued under, if any: the writer tags it with its batch's size.</summary>
    internal static Activity? CurrentCommit => Activity.Current is { } current && ReferenceEquals(current.Source, Source) ? current : null;
}
