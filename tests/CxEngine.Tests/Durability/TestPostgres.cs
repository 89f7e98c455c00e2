using System.Diagnostics;
using Npgsql;

namespace CxEngine.Tests.Durability;

/// <summary>
/// The throwaway PostgreSQL server that scripts/test.sh starts for the test run. Tests that need it
/// fail with this message when it is missing, rather than being skipped.
/// </summary>
internal static class TestPostgres
{
    private const string Missing =
        "CXENGINE_TEST_POSTGRES is not set: the PostgreSQL tests need the server that ./scripts/test.sh starts. " +
        "Run the suite with ./scripts/test.sh, or start one with scripts/lib/test-postgres.sh start DIR and source DIR/env.";

    public static string ServerConnectionString =>
        Environment.GetEnvironmentVariable("CXENGINE_TEST_POSTGRES") is { Length: > 0 } cs ? cs : throw new InvalidOperationException(Missing);

    /// <summary>A fresh database on the test server, so tests do not see each other's state.</summary>
    public static async Task<string> CreateDatabaseAsync(string purpose)
    {
        var name = $"cx_{purpose}_{Guid.NewGuid():N}"[..40].ToLowerInvariant();
        await using (var connection = new NpgsqlConnection(ServerConnectionString))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = $"CREATE DATABASE \"{name}\"";
            await command.ExecuteNonQueryAsync();
        }

        return new NpgsqlConnectionStringBuilder(ServerConnectionString) { Database = name }.ToString();
    }

    /// <summary>Stops the server at once (-m immediate), as an outage would.</summary>
    public static Task StopAsync() => ControlAsync("stop");

    public static Task ResumeAsync() => ControlAsync("resume");

    private static async Task ControlAsync(string command)
    {
        var script = Environment.GetEnvironmentVariable("CXENGINE_TEST_PG_CTL") ?? throw new InvalidOperationException(Missing);
        var dir = Environment.GetEnvironmentVariable("CXENGINE_TEST_PG_DIR") ?? throw new InvalidOperationException(Missing);
        using var process = Process.Start(new ProcessStartInfo("bash", [script, command, dir])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        })!;
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"test-postgres.sh {command} failed ({process.ExitCode}): {await stderr}");
        }

        NpgsqlConnection.ClearAllPools();
    }
}
