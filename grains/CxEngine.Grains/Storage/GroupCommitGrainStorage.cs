using System.Buffers;
using Microsoft.Data.Sqlite;
using Orleans.Serialization;
using Orleans.Storage;

namespace CxEngine.Storage;

/// <summary>
/// Orleans grain storage on SQLite with group commit: reads go straight to the database (WAL lets them
/// run beside the writer, off the grain scheduler); writes go through <see cref="SqliteWriter"/>, so
/// a burst of writes from many grains costs one transaction. Optimistic concurrency as Orleans expects:
/// a write succeeds only from the version the grain read, otherwise <see cref="InconsistentStateException"/>.
/// </summary>
public sealed class GroupCommitGrainStorage(
    string connectionString,
    string serviceId,
    SqliteWriter writer,
    Serializer serializer) : IGrainStorage
{
    // One growing buffer per thread: serialising a state costs one exact-size array, not a chain of doublings.
    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_buffer;

    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        Task.Run(() =>
        {
            using var connection = new SqliteConnection(connectionString);
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT version, payload FROM cx_grain_state WHERE service_id = @s AND state_name = @n AND grain_id = @g";
            AddKey(command, stateName, grainId);
            using var reader = command.ExecuteReader();
            if (reader.Read())
            {
                grainState.ETag = reader.GetInt64(0).ToString(System.Globalization.CultureInfo.InvariantCulture);
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
        });

    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(4096);
        buffer.ResetWrittenCount();
        serializer.Serialize(grainState.State, buffer);
        var payload = buffer.WrittenSpan.ToArray();
        var newVersion = await WriteAsync(stateName, grainId, grainState.ETag, payload);
        grainState.ETag = newVersion;
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
        long? expected = etag is null ? null : long.Parse(etag, System.Globalization.CultureInfo.InvariantCulture);
        var version = await writer.RunAsync(async (connection, transaction, cancellationToken) =>
        {
            await using var command = (SqliteCommand)connection.CreateCommand();
            command.Transaction = (SqliteTransaction)transaction;
            command.CommandText = expected is null
                ? """
                  INSERT INTO cx_grain_state (service_id, state_name, grain_id, version, payload, modified_ticks)
                  VALUES (@s, @n, @g, 1, @p, @t) ON CONFLICT DO NOTHING
                  """
                : """
                  UPDATE cx_grain_state SET version = version + 1, payload = @p, modified_ticks = @t
                  WHERE service_id = @s AND state_name = @n AND grain_id = @g AND version = @v
                  """;
            AddKey(command, stateName, grainId);
            command.Parameters.Add(new SqliteParameter("@p", (object?)payload ?? DBNull.Value));
            command.Parameters.Add(new SqliteParameter("@t", DateTime.UtcNow.Ticks));
            if (expected is { } v)
            {
                command.Parameters.Add(new SqliteParameter("@v", v));
            }

            var changed = await command.ExecuteNonQueryAsync(cancellationToken);
            return changed == 1 ? (expected ?? 0) + 1 : -1;
        });

        if (version < 0)
        {
            throw new InconsistentStateException(
                $"the stored state of {grainId} ({stateName}) is not at version {etag ?? "none"}: another activation wrote it", etag ?? "", etag ?? "");
        }

        return version.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    private void AddKey(SqliteCommand command, string stateName, GrainId grainId)
    {
        command.Parameters.Add(new SqliteParameter("@s", serviceId));
        command.Parameters.Add(new SqliteParameter("@n", stateName));
        command.Parameters.Add(new SqliteParameter("@g", grainId.ToString()));
    }
}
