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
}
