using System.ComponentModel.DataAnnotations;

namespace CxEngine.Storage;

public static class CxStorage
{
    /// <summary>The name of the grain storage every CxEngine grain persists through.</summary>
    public const string Name = "cx";

    /// <summary>The ADO.NET invariant Orleans maps to Microsoft.Data.Sqlite.</summary>
    public const string SqliteInvariant = "System.Data.SQLite";
}

public enum StorageProvider
{
    /// <summary>Embedded SQLite database in the data directory: the default, durable, one silo.</summary>
    Sqlite = 0,
}

/// <summary>Where state is kept, bound from "CxEngine:Storage".</summary>
public sealed class StorageOptions
{
    public const string SectionName = "CxEngine:Storage";

    public StorageProvider Provider { get; set; } = StorageProvider.Sqlite;

    /// <summary>Directory of the SQLite database file (created if missing). Relative paths are from the working directory.</summary>
    [Required(AllowEmptyStrings = false)]
    public string DataDirectory { get; set; } = "data";

    /// <summary>File name of the SQLite database inside <see cref="DataDirectory"/>.</summary>
    [Required(AllowEmptyStrings = false)]
    public string SqliteFileName { get; set; } = "cxengine.db";

    public string SqliteDatabasePath => Path.GetFullPath(Path.Combine(DataDirectory, SqliteFileName));
}
