using System.Data;
using System.Data.Common;
using CxEngine.Customers;
using CxEngine.Scoring;
using CxEngine.Storage;
using CxEngine.Tests.Scoring;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using static CxEngine.Tests.Scoring.Events;

namespace CxEngine.Tests.Grains;

/// <summary>
/// The retention sweep trims a customer's event log only up to what its snapshot already holds: a customer
/// whose whole log is older than the retention keeps its score from the snapshot alone and goes on from it,
/// and entries a snapshot does not yet include stay, however old they are.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class RetentionTests(ClusterFixture fixture)
{
    private IServiceProvider Silo => fixture.Cluster.Silos[0].ServiceProvider;

    private ICustomerGrain Customer(string id) => fixture.Grains.GetGrain<ICustomerGrain>(id);

    private static CustomerEvent Event(double x, int minute, string? tier = null) =>
        new(Ids.Event(), Channel.Phone, WithExperience(x, T0.AddMinutes(minute)), tier);

    [Fact]
    public async Task Sweep_PastRetention_TrimsWhatTheSnapshotHolds_ScoreStays_NewEventsApplyOnTop_NewerThanSnapshotIsKept()
    {
        // Scores that stay above the standard baseline: no action, so no snapshot but the ones the log's length and deactivation cause.
        double[] xs = [70, 60, 80, 65, 90, 75, 55, 85, 70, 60, 95, 80];
        var sleeper = Ids.Customer("retention-sleeper");
        var sleeperEvents = xs.Select((x, i) => Event(x, i, i == 0 ? "standard" : null)).ToArray();
        for (var i = 0; i < sleeperEvents.Length; i += 3)
        {
            Assert.All(await Customer(sleeper).ApplyAsync(sleeperEvents[i..(i + 3)]), o => Assert.Equal(EventStatus.Applied, o.Status));
        }

        // Stays active: its first commit snapshots 5 events, the 3 after it are only in the log.
        var awake = Ids.Customer("retention-awake");
        var awakeEvents = xs[..8].Select((x, i) => Event(x, i, i == 0 ? "standard" : null)).ToArray();
        await Customer(awake).ApplyAsync(awakeEvents[..5]);
        foreach (var evt in awakeEvents[5..])
        {
            Assert.Equal(EventStatus.Applied, (await Customer(awake).ApplyAsync([evt]))[0].Status);
        }

        var sleeperBefore = await Customer(sleeper).GetScoreAsync();
        var awakeBefore = await Customer(awake).GetScoreAsync();
        Assert.Equal(12, sleeperBefore!.EventsApplied);
        Assert.Equal(8, awakeBefore!.EventsApplied);

        // Every entry is now older than the retention. (The fake clock only moves forward; the other tests in
        // the collection read it as "now" when they need it, so a later now changes nothing for them.)
        var retention = Silo.GetRequiredService<IOptions<EngineOptions>>().Value.Customers.EventRetention;
        fixture.Clock.Advance(retention + TimeSpan.FromDays(1));

        // Snapshots came with the first commit and every 5 events or more since (3, 9); the sleeper's next one is
        // written as it deactivates, and holds its whole log.
        Assert.Equal(9, await SnapshotPositionAsync(sleeper));
        await fixture.Cluster.DeactivateAsync(Customer(sleeper));
        Assert.Equal(12, await SnapshotPositionAsync(sleeper));
        Assert.Equal(5, await SnapshotPositionAsync(awake));

        await Silo.GetRequiredService<RetentionSweeper>().SweepAsync(CancellationToken.None);

        // The sleeper: no log left, the same customer from its snapshot alone.
        Assert.Empty(await LoggedPositionsAsync(sleeper));
        var history = await Customer(sleeper).GetHistoryAsync(100, 0);
        Assert.Empty(history!.Changes);
        Assert.Null(history.NextBeforePosition);
        Assert.Equivalent(sleeperBefore, await Customer(sleeper).GetScoreAsync(), strict: true);

        // A new event applies on top of the snapshot, as the model continues from the state before the sweep.
        var next = Event(40, xs.Length);
        var outcome = (await Customer(sleeper).ApplyAsync([next]))[0];
        Assert.Equal(EventStatus.Applied, outcome.Status);
        var expected = Model.Run(TierPolicy.Standard, sleeperEvents.Append(next).Select(e => e.Event)).Last().State;
        Assert.Equal(13, outcome.Score!.EventsApplied);
        Assert.Equal(expected.Score, outcome.Score.Score, 9);
        Assert.Equal(expected.Expectation, outcome.Score.Expectation, 9);
        Assert.Equal(sleeperBefore.Score, outcome.Change!.ScoreBefore);
        Assert.Equal(new long[] { 13 }, await LoggedPositionsAsync(sleeper));
        Assert.Equal(new[] { next.EventId }, (await Customer(sleeper).GetHistoryAsync(100, 0))!.Changes.Select(c => c.EventId));

        // The awake customer: what its snapshot holds went, what came after it stayed.
        Assert.Equal(new long[] { 6, 7, 8 }, await LoggedPositionsAsync(awake));
        var awakeHistory = await Customer(awake).GetHistoryAsync(100, 0);
        Assert.Equal(awakeEvents[5..].Reverse().Select(e => e.EventId), awakeHistory!.Changes.Select(c => c.EventId));
        Assert.Equivalent(awakeBefore, await Customer(awake).GetScoreAsync(), strict: true);

        // And it rebuilds from that snapshot plus those entries to the same customer.
        await fixture.Cluster.DeactivateAsync(Customer(awake));
        Assert.Equivalent(awakeBefore, await Customer(awake).GetScoreAsync(), strict: true);
    }

    private Task<long> SnapshotPositionAsync(string customerId) =>
        Silo.GetRequiredService<CxDatabase>().ReadAsync(async (connection, ct) =>
        {
            await using var command = Command(connection, "SELECT snapshot_position FROM cx_customers WHERE customer_id = @c", customerId);
            return Convert.ToInt64(await command.ExecuteScalarAsync(ct), System.Globalization.CultureInfo.InvariantCulture);
        }, CancellationToken.None);

    /// <summary>The positions of the customer's log entries the database still holds.</summary>
    private Task<List<long>> LoggedPositionsAsync(string customerId) =>
        Silo.GetRequiredService<CxDatabase>().ReadAsync(async (connection, ct) =>
        {
            await using var command = Command(connection, "SELECT position FROM cx_events WHERE customer_id = @c ORDER BY position", customerId);
            await using var reader = await command.ExecuteReaderAsync(ct);
            var positions = new List<long>();
            while (await reader.ReadAsync(ct))
            {
                positions.Add(reader.GetInt64(0));
            }

            return positions;
        }, CancellationToken.None);

    private static DbCommand Command(DbConnection connection, string sql, string customerId)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        var parameter = command.CreateParameter();
        parameter.ParameterName = "c";
        parameter.Value = customerId;
        parameter.DbType = DbType.String;
        command.Parameters.Add(parameter);
        return command;
    }
}
