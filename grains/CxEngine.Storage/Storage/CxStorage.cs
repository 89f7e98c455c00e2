using System.ComponentModel.DataAnnotations;
using Microsoft.Data.Sqlite;

namespace CxEngine.Storage;

public static class CxStorage
{
    /// <summary>The name of the grain storage every CxEngine grain persists through.</summary>
    public const string Name = "cx";

    /// <summary>The ADO.NET invariant Orleans maps to Microsoft.Data.Sqlite.</summary>
    public const string SqliteInvariant = "System.Data.SQLite";

    /// <summary>The ADO.NET invariant Orleans maps to Npgsql.</summary>
    public const string PostgreSqlInvariant = "Npgsql";
}

public enum StorageProvider
{
    /// <summary>Embedded SQLite database in the data directory: the default; durable; one silo.</summary>
    Sqlite = 0,

    /// <summary>PostgreSQL: durable; silos sharing the database form one cluster.</summary>
    PostgreSql = 1,

    /// <summary>Process memory: NOT durable, everything is lost when the silo stops. For benchmarks only.</summary>
    Memory = 2,

    /// <summary>
    /// Nothing of the customers is stored: their commits are answered at once, as if written (the tier catalog and the
    /// action tables live in process memory, as with <see cref="Memory"/>). Measures the engine without storage:
    /// the benchmarks' "engine (no storage)" row. Never for anything else.
    /// </summary>
    None = 3,
}

public enum StateWriter
{
    GroupCommit = 0,
    AdoNet = 1,
}

/// <summary>Where state is kept, bound from "CxEngine:Storage".</summary>
public sealed class StorageOptions : IValidatableObject
{
    public const string SectionName = "CxEngine:Storage";

    public StorageProvider Provider { get; set; } = StorageProvider.Sqlite;

    /// <summary>Directory of the SQLite database file (created if missing). Relative paths are from the working directory.</summary>
    [Required(AllowEmptyStrings = false)]
    public string DataDirectory { get; set; } = "data";

    /// <summary>File name of the SQLite database inside <see cref="DataDirectory"/>.</summary>
    [Required(AllowEmptyStrings = false)]
    public string SqliteFileName { get; set; } = "cxengine.db";

    /// <summary>
    /// For PostgreSQL: an Npgsql connection string ("Host=…;Port=5432;Database=cxengine;Username=…;Password=…").
    /// Also read from the environment as CxEngine__Storage__ConnectionString.
    /// </summary>
    public string? ConnectionString { get; set; }

    /// <summary>
    /// How grain state is written. <see cref="StateWriter.GroupCommit"/> commits the writes of many grains in one
    /// transaction; <see cref="StateWriter.AdoNet"/> is Orleans' ADO.NET provider, one transaction per grain write.
    /// Unset: group commit on SQLite (the ADO.NET provider manages about 1,700 events/s there), Orleans' provider on PostgreSQL.
    /// </summary>
    public StateWriter? StateWriter { get; set; }

    public StateWriter EffectiveStateWriter => StateWriter ?? (Provider == StorageProvider.PostgreSql ? Storage.StateWriter.AdoNet : Storage.StateWriter.GroupCommit);

    /// <summary>
    /// SQLite: how long a write waits for the database file's lock (held by another process, a backup, a
    /// long reader) before it fails and the events in it are answered UNAVAILABLE. Whole seconds.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan BusyTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The longest a write may wait in the group-commit queue and its transaction before its caller is answered
    /// UNAVAILABLE ("may or may not have been stored: retry with the same event_id"). No write waits forever.
    /// Below Orleans' 30 s grain-call timeout, so the grain answers for its events itself.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan WriteTimeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>
    /// PostgreSQL: how many connections this silo commits through at once, each a group commit of its own, so that
    /// PostgreSQL can overlap their WAL flushes (and, across a network, their round trips). One by default: a group
    /// commit already carries everything that waited during the previous one, and on the measured machine (2 cores,
    /// PostgreSQL on the same machine) 4 connections were no faster (README, "Scale-out"). SQLite takes one writer at a
    /// time and always uses one.
    /// </summary>
    [Range(1, 64)]
    public int WriterConnections { get; set; } = 1;

    /// <summary>
    /// Benchmarks and tests only: a delay added to every group commit before its writes are answered, as a database
    /// across a network adds (the README's scale model injects 5 ms). Zero, the default, in production.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:01")]
    public TimeSpan InjectedCommitLatency { get; set; }

    /// <summary>Apply the (idempotent) schema script at start. Turn off where the engine's database user may not change the schema.</summary>
    public bool ApplySchemaOnStart { get; set; } = true;

    public string SqliteDatabasePath => Path.GetFullPath(Path.Combine(DataDirectory, SqliteFileName));

    public string EffectiveConnectionString => Provider switch
    {
        StorageProvider.Sqlite => new SqliteConnectionStringBuilder
        {
            DataSource = SqliteDatabasePath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
            // Many grains write at once; a writer waits for the lock rather than failing straight away.
            DefaultTimeout = Math.Max(1, (int)Math.Ceiling(BusyTimeout.TotalSeconds)),
        }.ToString(),
        StorageProvider.PostgreSql => ConnectionString ?? "",
        _ => "",
    };

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Provider == StorageProvider.PostgreSql && string.IsNullOrWhiteSpace(ConnectionString))
        {
            yield return new ValidationResult(
                "is required when Provider is PostgreSql (an Npgsql connection string, e.g. Host=127.0.0.1;Database=cxengine;Username=cx)",
                [nameof(ConnectionString)]);
        }

        if (!Enum.IsDefined(Provider))
        {
            yield return new ValidationResult("must be Sqlite, PostgreSql, Memory or None", [nameof(Provider)]);
        }
    }
}
