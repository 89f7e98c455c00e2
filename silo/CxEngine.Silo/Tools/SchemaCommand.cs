using CxEngine.Storage;
using Microsoft.Extensions.Logging.Abstractions;

namespace CxEngine.Silo.Tools;

/// <summary>
/// <c>cxengine-silo apply-schema --CxEngine:Storage:Provider=PostgreSql --CxEngine:Storage:ConnectionString="Host=…"</c>:
/// applies the (idempotent) schema to the configured database and exits, for deployments where silos
/// run with <c>ApplySchemaOnStart=false</c>.
/// </summary>
public static class SchemaCommand
{
    public static async Task<int> RunAsync(string[] args)
    {
        var configuration = new ConfigurationBuilder()
            .SetBasePath(AppContext.BaseDirectory)
            .AddJsonFile("appsettings.json", optional: true)
            .AddEnvironmentVariables()
            .AddCommandLine(args)
            .Build();
        var storage = configuration.GetSection(StorageOptions.SectionName).Get<StorageOptions>() ?? new StorageOptions();
        var problems = new List<System.ComponentModel.DataAnnotations.ValidationResult>();
        if (!System.ComponentModel.DataAnnotations.Validator.TryValidateObject(storage, new(storage), problems, validateAllProperties: true))
        {
            foreach (var problem in problems)
            {
                await Console.Error.WriteLineAsync($"{StorageOptions.SectionName}:{string.Join(",", problem.MemberNames)}: {problem.ErrorMessage}");
            }

            return 2;
        }

        try
        {
            await new SchemaInstaller(storage, storage.EffectiveConnectionString, NullLogger<SchemaInstaller>.Instance).ApplyAsync(CancellationToken.None);
        }
        catch (Exception ex) when (ex is System.Data.Common.DbException or IOException)
        {
            await Console.Error.WriteLineAsync($"applying the {storage.Provider} schema failed: {ex.Message}");
            return 1;
        }

        Console.WriteLine($"{storage.Provider} schema applied.");
        return 0;
    }
}
