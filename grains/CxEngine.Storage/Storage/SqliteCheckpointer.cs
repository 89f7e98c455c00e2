using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace CxEngine.Storage;

/// <summary>
/// Copies SQLite's write-ahead log back into the database file on a thread of its own, so the group-commit
/// writer does not. With SQLite's automatic checkpoint the writer's thread did it, in the middle of a commit:
/// every page it wrote went to the disk twice on the one thread all commits pass through (the kernel's file
/// writes were 40 % of the writer's time in a profile). A passive checkpoint runs beside the writer without
/// blocking it; the writer keeps an automatic checkpoint at a much larger size only as a backstop.
/// </summary>
internal sealed partial class SqliteCheckpointer : IDisposable
{
    /// <summary>The writer's own automatic checkpoint, if this thread falls behind (pages of 4 KB: 400 MB).</summary>
    public const int BackstopPages = 100_000;

    // Every 2 s rather than as often as possible: a page that several commits changed is copied to the file once per
    // checkpoint (measured at 100k customers: 250 ms gave 14.4 KB written to disk per event and 9,400 ev/s, 2 s 10.6 KB
    // and 10,300 ev/s). At the engine's full rate that is about 200 MB of log between checkpoints.
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(2);

    private readonly string _connectionString;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Thread _thread;

    public SqliteCheckpointer(string connectionString, ILogger logger)
    {
        _connectionString = connectionString;
        _logger = logger;
        _thread = new Thread(Run) { IsBackground = true, Name = "cx-checkpoint" };
        _thread.Start();
    }

    private void Run()
    {
        SqliteConnection? connection = null;
        while (!_stopping.Token.WaitHandle.WaitOne(Interval))
        {
            try
            {
                if (connection is null)
                {
                    connection = new SqliteConnection(_connectionString);
                    connection.Open();
                }

                using var command = connection.CreateCommand();
                command.CommandText = "PRAGMA wal_checkpoint(PASSIVE)";
                command.ExecuteNonQuery();
            }
            catch (Exception ex)
            {
                // The writer's backstop checkpoint still bounds the log; try again with a fresh connection.
                LogCheckpointFailed(_logger, ex);
                connection?.Dispose();
                connection = null;
            }
        }

        connection?.Dispose();
    }

    public void Dispose()
    {
        _stopping.Cancel();
        _thread.Join(TimeSpan.FromSeconds(10));
        _stopping.Dispose();
    }

    [LoggerMessage(EventId = 3110, Level = LogLevel.Warning, Message = "Checkpointing SQLite's write-ahead log failed; the writer's own checkpoint bounds it meanwhile")]
    private static partial void LogCheckpointFailed(ILogger logger, Exception exception);
}
