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
        var version = await database.Writes.RunAsync(async (connection, transaction, cancellationToken) =>
        {
            await using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = expected is null ? Insert : Update;
            AddKey(command, stateName, grainId);
            Add(command, "p", (object?)payload ?? DBNull.Value, DbType.Binary);
            Add(command, "t", DateTime.UtcNow.Ticks, DbType.Int64);
            if (expected is { } v)
            {
                Add(command, "v", v, DbType.Int64);
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
        Add(command, "s", serviceId, DbType.String);
        Add(command, "n", stateName, DbType.String);
        Add(command, "g", grainId.ToString(), DbType.String);
    }

    private static void Add(DbCommand command, string name, object value, DbType type)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        parameter.DbType = type;
        command.Parameters.Add(parameter);
    }
}
