using System.Threading.Channels;
using CxEngine.Customers;
using Npgsql;
using NpgsqlTypes;
using Orleans.Serialization;

namespace CxEngine.Storage;

/// <summary>
/// Customers' loads on PostgreSQL, grouped: every load waiting when a reader is free is answered by one statement (the
/// rows and the log entries after their snapshots, read in one snapshot of the database). A silo activating customers
/// by the thousand (after a start, or under a load that reaches many customers) otherwise opens a pooled connection
/// and makes two round trips per customer, until the pool runs dry and PostgreSQL's backends fight for the cores.
/// </summary>
internal sealed class PostgresCustomerLoader : IAsyncDisposable
{
    // Loads in one statement, and statements at a time: enough to keep a network's round trips overlapped, few enough
    // that PostgreSQL's backends do not outnumber its cores many times over.
    private const int MaxBatch = 256;
    private const int Readers = 4;

    private const string Sql = """
        WITH c AS (
            SELECT customer_id, version, snapshot_position, snapshot FROM cx_customers WHERE customer_id = ANY(@ids)
        )
        SELECT customer_id, 0 AS kind, version AS a, snapshot_position AS b, NULL::varchar AS event_id, snapshot AS payload FROM c
        UNION ALL
        SELECT e.customer_id, 1, e.position, e.applied_ticks, e.event_id, e.payload
        FROM c JOIN cx_events e ON e.customer_id = c.customer_id AND e.position > c.snapshot_position
        ORDER BY 1, 2, 3
        """;

    private readonly Channel<Request> _requests = Channel.CreateUnbounded<Request>();
    private readonly Func<NpgsqlConnection> _connect;
    private readonly Serializer _serializer;
    private readonly Task[] _readers;

    public PostgresCustomerLoader(Func<NpgsqlConnection> connect, Serializer serializer)
    {
        _connect = connect;
        _serializer = serializer;
        _readers = Enumerable.Range(0, Readers).Select(_ => Task.Run(ReadLoopAsync)).ToArray();
    }

    /// <summary>The customer's snapshot, row version and the log entries after the snapshot.</summary>
    public Task<LoadedCustomer> LoadAsync(string customerId)
    {
        var request = new Request(customerId);
        if (!_requests.Writer.TryWrite(request))
        {
            throw new ObjectDisposedException(nameof(PostgresCustomerLoader), "the silo is stopping: its customer loader is closed");
        }

        return request.Completion.Task;
    }

    private async Task ReadLoopAsync()
    {
        var batch = new Dictionary<string, List<Request>>(StringComparer.Ordinal);
        while (await _requests.Reader.WaitToReadAsync())
        {
            while (batch.Count < MaxBatch && _requests.Reader.TryRead(out var request))
            {
                if (!batch.TryGetValue(request.CustomerId, out var waiting))
                {
                    batch[request.CustomerId] = waiting = [];
                }

                waiting.Add(request);
            }

            if (batch.Count == 0)
            {
                continue;
            }

            try
            {
                var loaded = await ReadAsync(batch.Keys.ToArray());
                foreach (var (customerId, waiting) in batch)
                {
                    var customer = loaded.GetValueOrDefault(customerId) ?? new LoadedCustomer(null, 0, []);
                    waiting.ForEach(r => r.Completion.TrySetResult(customer));
                }
            }
            catch (Exception ex)
            {
                // Each waiting activation fails with the database's error and is retried by its caller.
                foreach (var waiting in batch.Values)
                {
                    waiting.ForEach(r => r.Completion.TrySetException(ex));
                }
            }

            batch.Clear();
        }
    }

    private async Task<Dictionary<string, LoadedCustomer>> ReadAsync(string[] customerIds)
    {
        await using var connection = _connect();
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(Sql, connection);
        command.Parameters.Add(new NpgsqlParameter<string[]>("ids", NpgsqlDbType.Array | NpgsqlDbType.Varchar) { TypedValue = customerIds });
        await command.PrepareAsync();

        var loaded = new Dictionary<string, LoadedCustomer>(customerIds.Length, StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync();
        string? current = null;
        CustomerState? snapshot = null;
        long version = 0;
        List<EventLogEntry> after = [];
        while (await reader.ReadAsync())
        {
            var customerId = reader.GetString(0);
            if (reader.GetInt32(1) == 0)
            {
                if (current is not null)
                {
                    loaded[current] = new LoadedCustomer(snapshot, version, after);
                }

                current = customerId;
                version = reader.GetInt64(2);
                snapshot = CustomerStore.ReadSnapshot(_serializer, reader.GetFieldValue<byte[]>(5));
                after = [];
                continue;
            }

            after.Add(CustomerStore.ReadEntry(_serializer, reader.GetInt64(2), reader.GetString(4), reader.GetInt64(3), reader.GetFieldValue<byte[]>(5)));
        }

        if (current is not null)
        {
            loaded[current] = new LoadedCustomer(snapshot, version, after);
        }

        return loaded;
    }

    public async ValueTask DisposeAsync()
    {
        _requests.Writer.TryComplete();
        await Task.WhenAll(_readers);
    }

    private sealed class Request(string customerId)
    {
        public string CustomerId { get; } = customerId;

        public TaskCompletionSource<LoadedCustomer> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
