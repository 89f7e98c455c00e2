namespace CxEngine.Tests.Durability;

/// <summary>
/// Tests that use the shared test PostgreSQL server run one after another: the outage test stops it.
/// </summary>
[CollectionDefinition(Name)]
public sealed class PostgresCollection
{
    public const string Name = "postgres";
}
