using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace CxEngine.Storage;

/// <summary>
/// A statement prepared once on the writer's long-lived SQLite connection and only rebound: positional
/// parameters, no data reader, nothing allocated per execution. Microsoft.Data.Sqlite allocates a parameter
/// binder per parameter, a reader and a statement enumerator per execution; on the one thread every commit
/// of the silo passes through, that was a fifth of what ingest allocated. Errors surface as the
/// <see cref="SqliteException"/> the driver would have thrown, so the writer handles them alike.
/// </summary>
internal sealed class SqliteStatement
{
    private readonly sqlite3 _db;
    private readonly sqlite3_stmt _statement;

    /// <summary>Prepares <paramref name="sql"/>, whose parameters must be exactly <paramref name="parameters"/>, in that order.</summary>
    public SqliteStatement(sqlite3 db, string sql, params string[] parameters)
    {
        _db = db;
        Check(raw.sqlite3_prepare_v3(db, sql, raw.SQLITE_PREPARE_PERSISTENT, out _statement));
        var count = raw.sqlite3_bind_parameter_count(_statement);
        for (var i = 1; i <= Math.Max(count, parameters.Length); i++)
        {
            var name = i <= count ? raw.sqlite3_bind_parameter_name(_statement, i).utf8_to_string() : null;
            if (i > parameters.Length || name != parameters[i - 1])
            {
                throw new InvalidOperationException(
                    $"statement parameter {i} is {name ?? "missing"}, bound as {(i <= parameters.Length ? parameters[i - 1] : "nothing")}: {sql}");
            }
        }
    }

    public SqliteStatement Bind(int index, long value)
    {
        Check(raw.sqlite3_bind_int64(_statement, index, value));
        return this;
    }

    public SqliteStatement Bind(int index, double value)
    {
        Check(raw.sqlite3_bind_double(_statement, index, value));
        return this;
    }

    /// <summary>Binds text (UTF-16, copied by SQLite), or NULL for null.</summary>
    public SqliteStatement Bind(int index, string? value)
    {
        Check(value is null ? raw.sqlite3_bind_null(_statement, index) : raw.sqlite3_bind_text16(_statement, index, value.AsSpan()));
        return this;
    }

    public SqliteStatement Bind(int index, ReadOnlySpan<byte> value)
    {
        Check(raw.sqlite3_bind_blob(_statement, index, value));
        return this;
    }

    public SqliteStatement Bind(int index, long? value)
    {
        Check(value is { } v ? raw.sqlite3_bind_int64(_statement, index, v) : raw.sqlite3_bind_null(_statement, index));
        return this;
    }

    /// <summary>Runs the statement to its end; returns the rows it changed.</summary>
    public int Execute()
    {
        try
        {
            int rc;
            while ((rc = raw.sqlite3_step(_statement)) == raw.SQLITE_ROW)
            {
            }

            Check(rc);
            return raw.sqlite3_changes(_db);
        }
        finally
        {
            raw.sqlite3_reset(_statement);
        }
    }

    /// <summary>The first column of the first row as an integer, or null when there is no row or it is NULL.</summary>
    public long? ScalarInt64()
    {
        try
        {
            var rc = raw.sqlite3_step(_statement);
            if (rc == raw.SQLITE_ROW)
            {
                return raw.sqlite3_column_type(_statement, 0) == raw.SQLITE_NULL ? null : raw.sqlite3_column_int64(_statement, 0);
            }

            Check(rc);
            return null;
        }
        finally
        {
            raw.sqlite3_reset(_statement);
        }
    }

    private void Check(int rc)
    {
        if (rc is not (raw.SQLITE_OK or raw.SQLITE_DONE or raw.SQLITE_ROW))
        {
            SqliteException.ThrowExceptionForRC(rc, _db);
        }
    }
}
