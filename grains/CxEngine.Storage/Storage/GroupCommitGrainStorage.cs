using System.Buffers;
using System.Data;
using System.Data.Common;
using System.Globalization;
using Orleans.Serialization;
using Orleans.Storage;

namespace CxEngine.Storage;

/// <summary>
/// Orleans grain storage with group commit, on SQLite or PostgreSQL: reads go straight to the database
/// (off the grain scheduler on SQLite), writes go through the silo's <see cref="GroupCommitWriter"/>, so
/// a burst of writes from many grains costs one transaction. Optimistic concurrency as Orleans expects:
/// a write succeeds only from the version the grain read, otherwise <see cref="InconsistentStateException"/>.
/// </summary>
public sealed class GroupCommitGrainStorage(CxDatabase database, string serviceId, Serializer serializer) : IGrainStorage
{
    private const string Insert = """
        INSERT INTO cx_grain_state (service_id, state_name, grain_id, version, payload, modified_ticks)
        VALUES (@s, @n, @g, 1, @p, @t) ON CONFLICT DO NOTHING
        """;

    private const string Update = """
        UPDATE cx_grain_state SET version = version + 1, payload = @p, modified_ticks = @t
        WHERE service_id = @s AND state_name = @n AND grain_id = @g AND version = @v
        """;

    // One growing buffer per thread: serialising a state costs one exact-size array, not a chain of doublings.
    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_buffer;

    // The writer's connection lives long: its insert and update are prepared once and only rebound after that.
    // Only the writer's loop touches them, one piece of work at a time.
    private readonly System.Runtime.CompilerServices.ConditionalWeakTable<DbConnection, PreparedWrites> _prepared = [];

    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        database.ReadAsync(async (connection, cancellationToken) =>
        {
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT version, payload FROM cx_grain_state WHERE service_id = @s AND state_name = @n AND grain_id = @g";
            AddKey(command, stateName, grainId);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            if (await reader.ReadAsync(cancellationToken))
            {
                grainState.ETag = reader.GetInt64(0).ToString(CultureInfo.InvariantCulture);
                grainState.RecordExists = !reader.IsDBNull(1);
                grainState.State = grainState.RecordExists
                    ? serializer.Deserialize<T>((byte[])reader.GetValue(1))
                    : Activator.CreateInstance<T>();
            }
            else
            {
                grainState.ETag = null;
                grainState.RecordExists = false;
                grainState.State = Activator.CreateInstance<T>();
            }

            return true;
        }, CancellationToken.None);

    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(4096);
        buffer.ResetWrittenCount();
        serializer.Serialize(grainState.State, buffer);
        var payload = buffer.WrittenSpan.ToArray();
        grainState.ETag = await WriteAsync(stateName, grainId, grainState.ETag, payload);
        grainState.RecordExists = true;
    }

    public async Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        grainState.ETag = await WriteAsync(stateName, grainId, grainState.ETag, null);
        grainState.RecordExists = false;
        grainState.State = Activator.CreateInstance<T>();
    }

    private async Task<string> WriteAsync(string stateName, GrainId grainId, string? etag, byte[]? payload)
    {
        long? expected = etag is null ? null : long.Parse(etag, CultureInfo.InvariantCulture);
        var grain = grainId.ToString();
        var version = await database.Writer.RunAsync(async (connection, transaction, cancellationToken) =>
        {
            var prepared = _prepared.GetValue(connection, c => new PreparedWrites(c));
            var command = expected is null ? prepared.Insert : prepared.Update;
            command.Transaction = transaction;
            command.Parameters["@s"].Value = serviceId;
            command.Parameters["@n"].Value = stateName;
            command.Parameters["@g"].Value = grain;
            command.Parameters["@p"].Value = (object?)payload ?? DBNull.Value;
            command.Parameters["@t"].Value = DateTime.UtcNow.Ticks;
            if (expected is { } v)
            {
                command.Parameters["@v"].Value = v;
            }

            var changed = await command.ExecuteNonQueryAsync(cancellationToken);
            return changed == 1 ? (expected ?? 0) + 1 : -1;
        });

        if (version < 0)
        {
            throw new InconsistentStateException(
                $"the stored state of {grainId} ({stateName}) is not at version {etag ?? "none"}: another activation wrote it", etag ?? "", etag ?? "");
        }

        return version.ToString(CultureInfo.InvariantCulture);
    }

    private void AddKey(DbCommand command, string stateName, GrainId grainId)
    {
        command.AddParameter("s", serviceId, DbType.String);
        command.AddParameter("n", stateName, DbType.String);
        command.AddParameter("g", grainId.ToString(), DbType.String);
    }

    private sealed class PreparedWrites
    {
        public PreparedWrites(DbConnection connection)
        {
            Insert = Create(connection, GroupCommitGrainStorage.Insert, withVersion: false);
            Update = Create(connection, GroupCommitGrainStorage.Update, withVersion: true);
        }

        public DbCommand Insert { get; }

        public DbCommand Update { get; }

        private static DbCommand Create(DbConnection connection, string sql, bool withVersion)
        {
            var command = connection.CreateCommand();
            command.CommandText = sql;
            command.AddParameter("s", "", DbType.String);
            command.AddParameter("n", "", DbType.String);
            command.AddParameter("g", "", DbType.String);
            command.AddParameter("p", DBNull.Value, DbType.Binary);
            command.AddParameter("t", 0L, DbType.Int64);
            if (withVersion)
            {
                command.AddParameter("v", 0L, DbType.Int64);
            }

            return command;
        }
    }
}
