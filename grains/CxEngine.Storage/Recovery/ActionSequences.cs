namespace CxEngine.Recovery;

/// <summary>
/// How action-log sequences are drawn so that the log is read in order, none passed over, without a global lock.
/// </summary>
/// <remarks>
/// <para>
/// SQLite has one writer: a commit takes the newest sequence plus one, inside its transaction.
/// </para>
/// <para>
/// PostgreSQL takes commits from many connections and silos at once, and commits them in whatever order their WAL
/// flushes finish, so a sequence drawn from a counter could become visible after a larger one (a reader would pass
/// it for good). Instead each transaction numbers its entries inside a range derived from its own transaction id:
/// <c>xid * PerTransaction ...</c> up to the next transaction's range. PostgreSQL says which transactions may still
/// be running: none with an id below the snapshot's <c>xmin</c>. So every entry below <c>xmin * PerTransaction</c> is
/// settled (committed or never will be), and every entry that can still appear lies above it. Readers (the live feed,
/// <c>WatchActions</c>' replay, webhook delivery) read only the settled part, in sequence order: nothing is passed
/// over and nothing comes out of order, with no lock on the ack path. Sequences are strictly increasing but not
/// consecutive; a resume point is any sequence a reader was given.
/// </para>
/// <para>
/// The price: a transaction that stays open holds the readers at its range (any transaction with an id in the
/// cluster, not only the engine's), so entries after it are delivered once it ends. Group commits last milliseconds.
/// </para>
/// </remarks>
public static class ActionSequences
{
    /// <summary>Sequences one PostgreSQL transaction may draw (a group commit of 4,096 writes stays far below it).</summary>
    public const long PerTransaction = 1L << 20;

    /// <summary>The first sequence no running or future transaction can draw below; a reader takes what lies under it.</summary>
    public static readonly string PostgresSettledBelow = $"(pg_snapshot_xmin(pg_current_snapshot())::text::bigint * {PerTransaction})";

    /// <summary>The first sequence of this transaction's range (assigning the transaction its id if it has none yet).</summary>
    public static readonly string PostgresTransactionRangeStart = $"SELECT pg_current_xact_id()::text::bigint * {PerTransaction}";
}
