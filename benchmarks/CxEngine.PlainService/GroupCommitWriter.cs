using System.Collections.Concurrent;
using Microsoft.Data.Sqlite;

namespace CxEngine.PlainService;

/// <summary>What one applied event writes: its event row and its customer's new row.</summary>
internal sealed record EventWrite(
    string CustomerId,
    string EventId,
    long OccurredAtTicks,
    string Tier,
    double ScoreAfter,
    double ExpectationAfter,
    long EventsApplied);

/// <summary>
/// Group commit, the plain way: one thread owns one SQLite connection, takes everything queued, writes it in
/// one transaction, commits once (WAL, synchronous=FULL: the commit is on disk), then completes every caller.
/// A caller learns whether its event row was new (true) or that customer already had that event id (false).
/// </summary>
internal sealed class GroupCommitWriter : IDisposable
{
    private readonly BlockingCollection<Pending> _queue = [];
    private readonly SqliteConnection _connection;
    private readonly SqliteCommand _insertEvent;
    private readonly SqliteCommand _upsertCustomer;
    private readonly Thread _thread;

    public GroupCommitWriter(string path)
    {
        _connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        _connection.Open();
        Execute("""
            PRAGMA journal_mode = WAL;
            PRAGMA synchronous = FULL;
            CREATE TABLE IF NOT EXISTS events (
                customer_id TEXT NOT NULL,
                event_id TEXT NOT NULL,
                occurred_at INTEGER NOT NULL,
                score_after REAL NOT NULL,
                UNIQUE (customer_id, event_id));
            CREATE TABLE IF NOT EXISTS customers (
                customer_id TEXT PRIMARY KEY,
                tier TEXT NOT NULL,
                score REAL NOT NULL,
                expectation REAL NOT NULL,
                events INTEGER NOT NULL);
            """);
        _insertEvent = Command(
            "INSERT INTO events (customer_id, event_id, occurred_at, score_after) VALUES ($customer, $event, $occurred, $score) ON CONFLICT DO NOTHING",
            "$customer", "$event", "$occurred", "$score");
        _upsertCustomer = Command(
            """
            INSERT INTO customers (customer_id, tier, score, expectation, events) VALUES ($customer, $tier, $score, $expectation, $events)
            ON CONFLICT (customer_id) DO UPDATE SET tier = excluded.tier, score = excluded.score, expectation = excluded.expectation, events = excluded.events
            """,
            "$customer", "$tier", "$score", "$expectation", "$events");
        _thread = new Thread(Run) { IsBackground = true, Name = "sqlite-writer" };
        _thread.Start();
    }

    /// <summary>Completes after the commit that holds the write: true if stored, false if the event id was already there.</summary>
    public Task<bool> WriteAsync(EventWrite write)
    {
        var pending = new Pending(write);
        _queue.Add(pending);
        return pending.Done.Task;
    }

    private void Run()
    {
        var batch = new List<Pending>();
        foreach (var first in _queue.GetConsumingEnumerable())
        {
            batch.Clear();
            batch.Add(first);
            while (_queue.TryTake(out var next))
            {
                batch.Add(next);
            }

            var stored = new bool[batch.Count];
            try
            {
                using var transaction = _connection.BeginTransaction();
                _insertEvent.Transaction = transaction;
                _upsertCustomer.Transaction = transaction;
                for (var i = 0; i < batch.Count; i++)
                {
                    stored[i] = Write(batch[i].Write);
                }

                transaction.Commit();
            }
            catch (Exception ex)
            {
                foreach (var pending in batch)
                {
                    pending.Done.TrySetException(ex);
                }

                continue;
            }

            for (var i = 0; i < batch.Count; i++)
            {
                batch[i].Done.TrySetResult(stored[i]);
            }
        }
    }

    private bool Write(EventWrite w)
    {
        var p = _insertEvent.Parameters;
        p[0].Value = w.CustomerId;
        p[1].Value = w.EventId;
        p[2].Value = w.OccurredAtTicks;
        p[3].Value = w.ScoreAfter;
        if (_insertEvent.ExecuteNonQuery() == 0)
        {
            return false; // the UNIQUE (customer_id, event_id) said: a retry of a stored event
        }

        p = _upsertCustomer.Parameters;
        p[0].Value = w.CustomerId;
        p[1].Value = w.Tier;
        p[2].Value = w.ScoreAfter;
        p[3].Value = w.ExpectationAfter;
        p[4].Value = w.EventsApplied;
        _upsertCustomer.ExecuteNonQuery();
        return true;
    }

    private void Execute(string sql)
    {
        using var command = _connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private SqliteCommand Command(string sql, params string[] parameters)
    {
        var command = _connection.CreateCommand();
        command.CommandText = sql;
        foreach (var name in parameters)
        {
            command.Parameters.Add(new SqliteParameter { ParameterName = name });
        }

        return command;
    }

    public void Dispose()
    {
        _queue.CompleteAdding();
        _thread.Join();
        _insertEvent.Dispose();
        _upsertCustomer.Dispose();
        _connection.Dispose();
        _queue.Dispose();
    }

    private sealed class Pending(EventWrite write)
    {
        public EventWrite Write { get; } = write;

        public TaskCompletionSource<bool> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
