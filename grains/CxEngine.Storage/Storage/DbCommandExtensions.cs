using System.Data;
using System.Data.Common;

namespace CxEngine.Storage;

/// <summary>Typed parameters the same way for SQLite and PostgreSQL commands.</summary>
internal static class DbCommandExtensions
{
    /// <summary>
    /// Named with the '@' the statements use: Microsoft.Data.Sqlite otherwise tries three prefixes for every
    /// parameter on every execution, about 2 KB of garbage per event on the writer's hot statements.
    /// </summary>
    public static void AddParameter(this DbCommand command, string name, object value, DbType type)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = "@" + name;
        parameter.Value = value;
        parameter.DbType = type;
        command.Parameters.Add(parameter);
    }

    /// <summary>A command in the transaction (or none), its parameters typed from their values (<see cref="DBNull"/> as a string).</summary>
    public static DbCommand Command(this DbConnection connection, DbTransaction? transaction, string sql, params (string Name, object Value)[] parameters)
    {
        var command = connection.Command(transaction, sql);
        foreach (var (name, value) in parameters)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = "@" + name;
            parameter.Value = value;
            if (value is DBNull)
            {
                parameter.DbType = DbType.String;
            }

            command.Parameters.Add(parameter);
        }

        return command;
    }

    /// <summary>A command in the transaction (or none), its parameters typed as given.</summary>
    public static DbCommand Command(this DbConnection connection, DbTransaction? transaction, string sql, params (string Name, object Value, DbType Type)[] parameters)
    {
        var command = connection.Command(transaction, sql);
        foreach (var (name, value, type) in parameters)
        {
            command.AddParameter(name, value, type);
        }

        return command;
    }

    public static async Task<int> ExecuteAsync(
        this DbConnection connection, DbTransaction? transaction, string sql, CancellationToken cancellationToken, params (string Name, object Value)[] parameters)
    {
        await using var command = connection.Command(transaction, sql, parameters);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public static async Task<int> ExecuteAsync(
        this DbConnection connection, DbTransaction? transaction, string sql, CancellationToken cancellationToken, params (string Name, object Value, DbType Type)[] parameters)
    {
        await using var command = connection.Command(transaction, sql, parameters);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public static DbCommand Command(this DbConnection connection, DbTransaction? transaction, string sql)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        return command;
    }
}
