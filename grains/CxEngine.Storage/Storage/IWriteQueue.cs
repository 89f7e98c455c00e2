using System.Data.Common;

namespace CxEngine.Storage;

/// <summary>A unit of database work run inside a transaction; returns its result once the transaction commits.</summary>
public delegate Task<T> DbWork<T>(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken);

/// <summary>How a piece of work in a group commit stands or falls on its own.</summary>
public enum WriteIsolation
{
    /// <summary>One statement: the database undoes a failing statement alone; the other writes of the batch go on.</summary>
    Statement = 0,

    /// <summary>Several statements that must stand or fall together: on SQLite each runs under a savepoint of its own.</summary>
    Savepoint = 1,
}

/// <summary>
/// Writes of one kind that the writer runs together: the writes of a group that follow one another in a group commit
/// reach <see cref="RunAsync"/> in one call, so the database can take them in one statement (on PostgreSQL one round
/// trip and one parse for the lot instead of one per write). Refusals (ON CONFLICT DO NOTHING, a version that does
/// not match) come back as results, with the rows of the refused write taken back, so no savepoint is needed: on
/// SQLite one costs two more statements per write and a copy of every page the write touches (measured on the
/// customers' commits, the writer's hottest work). A throw fails the whole group commit, and every write in it is
/// answered as not stored, as on PostgreSQL.
/// </summary>
public interface IWriteGroup<TWrite, TResult>
{
    /// <summary>Runs <paramref name="writes"/> in the transaction, in order, and puts each one's result at its index in <paramref name="results"/>.</summary>
    Task RunAsync(DbConnection connection, DbTransaction transaction, TWrite[] writes, TResult[] results, CancellationToken cancellationToken);
}

/// <summary>Where writes to the engine's database go.</summary>
public interface IWriteQueue
{
    /// <summary>Runs the work in a transaction and completes after the commit; <paramref name="isolation"/> says how it fails alone.</summary>
    Task<T> RunAsync<T>(DbWork<T> work, WriteIsolation isolation = WriteIsolation.Statement);

    /// <summary>Runs the write with the other writes of its group waiting at the same moment (<see cref="IWriteGroup{TWrite, TResult}"/>); completes after the commit.</summary>
    Task<TResult> RunAsync<TWrite, TResult>(IWriteGroup<TWrite, TResult> group, TWrite write);
}
