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

    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(250);

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

    /// <summary>Checkpoints so far and the log frames they copied, for the benchmarks.</summary>
    public long Checkpoints { get; private set; }

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
                Checkpoints++;
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
