using Google.Protobuf.WellKnownTypes;
using CxEngine.Scoring;
using CxEngine.Silo.Services;
using CxEngine.Tests.Service;
using Google.Protobuf;
using Grpc.Core;
using V1 = CxEngine.Contracts.V1;

namespace CxEngine.Tests.Replay;

/// <summary>One engine of their own: an applied re-score stores tier policies, which no other test should see.</summary>
public sealed class ReplayFixture : IAsyncLifetime
{
    private readonly TempDirectory _data = new("replay");

    public EngineHost Host { get; private set; } = null!;

    public async Task InitializeAsync() => Host = await EngineHost.StartAsync(_data.Path);

    public async Task DisposeAsync()
    {
        await Host.DisposeAsync();
        _data.Dispose();
    }
}

[CollectionDefinition(Name)]
public sealed class ReplayCollection : ICollectionFixture<ReplayFixture>
{
    public const string Name = "replay";
}

[Collection(ReplayCollection.Name)]
public sealed class RescoreTests(ReplayFixture fixture)
{
    private EngineHost Engine => fixture.Host;

    /// <summary>A tier of the test's own (so its customers and actions are only the test's), created live.</summary>
    private async Task<TierPolicy> NewTierAsync(double baseline)
    {
        var policy = ContractMapper.FromTier(ContractMapper.ToTier(TierPolicy.Standard with { Name = $"t{Guid.NewGuid():N}"[..20], Baseline = baseline }));
        await Engine.Policies.UpsertTierAsync(ContractMapper.ToTier(policy));
        return policy;
    }

    /// <summary>Sends events one customer's in order, all on one stream; every one must be applied.</summary>
    private async Task SendAsync(IEnumerable<V1.InteractionEvent> events)
    {
        using var call = Engine.Ingest.StreamEvents();
        var reading = Task.Run(async () =>
        {
            var results = new List<V1.EventResult>();
            await foreach (var result in call.ResponseStream.ReadAllAsync())
            {
                results.Add(result);
            }

            return results;
        });
        foreach (var evt in events)
        {
            await call.RequestStream.WriteAsync(evt);
        }

        await call.RequestStream.CompleteAsync();
        Assert.All(await reading, r => Assert.Equal(V1.EventStatus.Applied, r.Status));
    }

    /// <summary>What the pure step makes of a customer's events, in order, under one policy.</summary>
    private static ScoreState Expected(TierPolicy policy, IEnumerable<V1.InteractionEvent> events)
    {
        var state = ScoreState.Initial(policy);
        foreach (var evt in events)
        {
            state = ScoringStep.Apply(state, Wire.Scoring(evt), policy, Severity.None).State;
        }

        return state;
    }

    private async Task<V1.RescoreProgress> RescoreAsync(V1.RescoreRequest request)
    {
        using var call = Engine.Policies.Rescore(request);
        var messages = new List<V1.RescoreProgress>();
        await foreach (var message in call.ResponseStream.ReadAllAsync())
        {
            messages.Add(message);
        }

        Assert.NotNull(messages[^1].Report);
        Assert.All(messages[..^1], m => Assert.Null(m.Report));
        return messages[^1];
    }

    private static List<V1.InteractionEvent> Events(string customer, string tier, params double[] xs) =>
        [.. xs.Select((x, i) => Wire.Event(customer, x, tier, Wire.T0.AddHours(i)))];

    /// <summary>Everything a reader can see of the customers: scores, actions, the action log, the tiers; as bytes.</summary>
    private async Task<List<byte[]>> ObserveAsync(string tier, string[] customers, int logEntries)
    {
        var seen = new List<byte[]>();
        foreach (var customer in customers)
        {
            seen.Add((await Engine.Scores.GetScoreAsync(new V1.GetScoreRequest { CustomerId = customer })).ToByteArray());
            seen.Add((await Engine.Recovery.ListActionsAsync(new V1.ListActionsRequest { CustomerId = customer })).ToByteArray());
        }

        await using var watcher = new Watcher(Engine.Recovery, new V1.WatchActionsRequest { AfterSequence = 0, Tiers = { tier } });
        var log = await watcher.WaitForAsync(r => r.Count >= logEntries, $"{logEntries} action-log entries");
        seen.AddRange(log.Select(a => a.ToByteArray()));
        seen.Add((await Engine.Policies.ListTiersAsync(new V1.ListTiersRequest())).ToByteArray());
        return seen;
    }

    [Fact]
    public async Task DryRun_ChangesNothing_ScoresActionsActionLogAndTiersStayByteIdentical()
    {
        var tier = await NewTierAsync(baseline: 50);
        var customers = Enumerable.Range(0, 6).Select(i => Ids.Customer($"dry{i}")).ToArray();
        await SendAsync(customers.SelectMany((c, i) => Events(c, tier.Name, i % 2 == 0 ? [0, 0, 0, 0, 0] : [60, 70, 65])));
        var before = await ObserveAsync(tier.Name, customers, logEntries: 3);

        var candidate = ContractMapper.ToTier(tier with { Baseline = 95, LossAversion = 4 });
        var last = await RescoreAsync(new V1.RescoreRequest { Tiers = { tier.Name }, Policies = { candidate } });

        Assert.Equal(customers.Length, last.Report.Customers);
        Assert.Equal(customers.Length, last.CustomersDone);
        Assert.Equal(3 * 5 + 3 * 3, last.Report.EventsReplayed);
        Assert.Equal(3, last.Report.ActionsRaised); // the three that were above 50 are below 95
        Assert.Equal(customers.Length, last.Report.BelowAfter);
        var after = await ObserveAsync(tier.Name, customers, logEntries: 3);
        Assert.Equal(before.Count, after.Count);
        for (var i = 0; i < before.Count; i++)
        {
            Assert.Equal(before[i], after[i]);
        }
    }

    [Fact]
    public async Task Apply_GivesEveryCustomerExactlyTheScoreOfItsEventsReplayedUnderTheNewPolicyByThePureStep()
    {
        var tier = await NewTierAsync(baseline: 50);
        var events = Enumerable.Range(0, 5)
            .ToDictionary(i => Ids.Customer($"apply{i}"), i => new[] { 90.0, 10 * i, 55, 20, 100 - (10 * i) });
        var sent = events.ToDictionary(e => e.Key, e => Events(e.Key, tier.Name, e.Value));
        await SendAsync(sent.Values.SelectMany(e => e));

        var candidate = tier with { Baseline = 60, LossAversion = 3.5, LearningRate = 0.45, BadMemoryHalfLifeDays = 20 };
        var last = await RescoreAsync(new V1.RescoreRequest { CustomerIds = { events.Keys }, Policies = { ContractMapper.ToTier(candidate) }, Apply = true });

        Assert.Equal(events.Count, last.Report.Customers);
        foreach (var (customer, customerEvents) in sent)
        {
            var expected = Expected(candidate, customerEvents);
            var score = await Engine.Scores.GetScoreAsync(new V1.GetScoreRequest { CustomerId = customer });
            Assert.Equal(expected.Score, score.Score);
            Assert.Equal(expected.Expectation, score.Expectation);
            Assert.Equal(candidate.Baseline, score.Baseline);
            Assert.Equal(customerEvents.Count, score.EventsApplied);
        }

        var tiers = await Engine.Policies.ListTiersAsync(new V1.ListTiersRequest());
        Assert.Equal(ContractMapper.ToTier(candidate), tiers.Tiers.Single(t => t.Name == tier.Name));
    }

    [Fact]
    public async Task DryRunAndApply_DecidePromisesAgain_AsTheLiveModelUnderTheNewPolicyDoes()
    {
        // Recorded under version 2's rules with a tight tolerance: the parcel is missed before the first survey.
        var recorded = await NewTierAsync(baseline: 50);
        recorded = recorded with { PromiseOverdueStep = false, PromiseToleranceFraction = 0.01 };
        await Engine.Policies.UpsertTierAsync(ContractMapper.ToTier(recorded));
        // The candidate: overdue felt at once, a generous lead-time tolerance (missed 8 days late, not 10 hours).
        var candidate = recorded with { PromiseOverdueStep = true, PromiseToleranceFraction = 0.2 };
        var live = candidate with { Name = $"l{Guid.NewGuid():N}"[..20] };
        await Engine.Policies.UpsertTierAsync(ContractMapper.ToTier(live));

        List<V1.InteractionEvent> Parcel(string customer, string tier)
        {
            var promised = Wire.T0.AddDays(10);
            var promise = new V1.Promise { PromiseId = "parcel", MadeAt = Timestamp.FromDateTime(Wire.T0), PromisedAt = Timestamp.FromDateTime(promised) };
            V1.InteractionEvent Survey(string id, DateTime at, int csat) => new()
            {
                EventId = id, CustomerId = customer, Tier = tier, Kind = V1.EventKind.Survey, OccurredAt = Timestamp.FromDateTime(at),
                Signals = new V1.Signals { Csat = csat },
            };
            return
            [
                new() { EventId = "order", CustomerId = customer, Tier = tier, Kind = V1.EventKind.Delivery, OccurredAt = Timestamp.FromDateTime(Wire.T0), Signals = new V1.Signals { Promise = promise } },
                Survey("s1", promised.AddHours(12), 3),
                Survey("s2", promised.AddDays(30), 4),
            ];
        }

        var rescored = Ids.Customer("promise-rescore");
        var reference = Ids.Customer("promise-live");
        await SendAsync(Parcel(rescored, recorded.Name));
        await SendAsync(Parcel(reference, live.Name));
        var expected = await Engine.Scores.GetScoreAsync(new V1.GetScoreRequest { CustomerId = reference });
        var history = await Engine.Scores.GetHistoryAsync(new V1.GetHistoryRequest { CustomerId = reference });
        Assert.Equal(["s2", "promise-missed:parcel", "s1", "promise-overdue:parcel", "order"], history.Changes.Select(c => c.EventId));
        var before = await Engine.Scores.GetScoreAsync(new V1.GetScoreRequest { CustomerId = rescored });
        Assert.NotEqual(expected.Score, before.Score, 6);

        var request = new V1.RescoreRequest { CustomerIds = { rescored }, Policies = { ContractMapper.ToTier(candidate) } };
        var dry = await RescoreAsync(request);
        Assert.Equal(expected.Score, dry.Report.MeanScoreAfter, 9);

        request.Apply = true;
        var applied = await RescoreAsync(request);
        Assert.Equal(expected.Score, applied.Report.MeanScoreAfter, 9);
        var after = await Engine.Scores.GetScoreAsync(new V1.GetScoreRequest { CustomerId = rescored });
        Assert.Equal(expected.Score, after.Score, 9);
        Assert.Equal(expected.Expectation, after.Expectation, 9);
    }

    [Fact]
    public async Task Apply_RaisesOneActionForACustomerNowBelow_AndRecoversOneForACustomerNowAbove_NamingTheRescore()
    {
        var fallsTier = await NewTierAsync(baseline: 40);
        var risesTier = await NewTierAsync(baseline: 60);
        var falls = Ids.Customer("falls");
        var rises = Ids.Customer("rises");
        await SendAsync(Events(falls, fallsTier.Name, 70, 65, 70));
        await SendAsync(Events(rises, risesTier.Name, 10, 0, 10));
        var risesBefore = await Engine.Scores.GetScoreAsync(new V1.GetScoreRequest { CustomerId = rises });
        Assert.NotNull(risesBefore.OpenAction);
        Assert.Null((await Engine.Scores.GetScoreAsync(new V1.GetScoreRequest { CustomerId = falls })).OpenAction);

        var last = await RescoreAsync(new V1.RescoreRequest
        {
            CustomerIds = { falls, rises },
            Policies = { ContractMapper.ToTier(fallsTier with { Baseline = 95 }), ContractMapper.ToTier(risesTier with { Baseline = 1 }) },
            Apply = true,
        });
        Assert.Equal(1, last.Report.ActionsRaised);
        Assert.Equal(1, last.Report.ActionsClosed);

        await using var watcher = new Watcher(Engine.Recovery, new V1.WatchActionsRequest { AfterSequence = 0, Tiers = { fallsTier.Name, risesTier.Name } });
        var log = await watcher.WaitForAsync(r => r.Any(a => a.CustomerId == falls) && r.Any(a => a.CustomerId == rises && a.Change == V1.ActionChange.Recovered), "the two re-score entries");
        var fallsEntry = Assert.Single(log, a => a.CustomerId == falls);
        Assert.Equal(V1.ActionChange.Raised, fallsEntry.Change);
        Assert.Contains("re-score", fallsEntry.Note, StringComparison.Ordinal);
        // Its live entries (raised, perhaps escalated) stay as they were; the re-score adds one, the last.
        var risesEntries = log.Where(a => a.CustomerId == rises).ToArray();
        var recovered = Assert.Single(risesEntries, a => a.Note.Contains("re-score", StringComparison.Ordinal));
        Assert.Equal(V1.ActionChange.Recovered, recovered.Change);
        Assert.Same(recovered, risesEntries[^1]);
        Assert.Equal(V1.ActionChange.Raised, risesEntries[0].Change);

        Assert.NotNull((await Engine.Scores.GetScoreAsync(new V1.GetScoreRequest { CustomerId = falls })).OpenAction);
        Assert.Null((await Engine.Scores.GetScoreAsync(new V1.GetScoreRequest { CustomerId = rises })).OpenAction);
    }

    [Fact]
    public async Task EventsStreamedDuringAnApply_AreEachAppliedOnce_OnTopOfTheRescoredState()
    {
        var tier = await NewTierAsync(baseline: 50);
        var customers = Enumerable.Range(0, 200).Select(i => Ids.Customer($"live{i}")).ToArray();
        var history = customers.ToDictionary(c => c, c => Events(c, tier.Name, 80, 30, 60, 45, 70, 20, 90, 50));
        await SendAsync(history.Values.SelectMany(e => e));
        var live = customers.ToDictionary(c => c, c => Enumerable.Range(0, 6)
            .Select(i => Wire.Event(c, 15 * i, tier.Name, Wire.T0.AddDays(1).AddHours(i))).ToList());

        var candidate = tier with { Baseline = 65, LossAversion = 3, LearningRate = 0.4 };
        var rescore = RescoreAsync(new V1.RescoreRequest { Tiers = { tier.Name }, Policies = { ContractMapper.ToTier(candidate) }, Apply = true });
        var streaming = SendAsync(Enumerable.Range(0, 6).SelectMany(i => customers.Select(c => live[c][i])));
        await Task.WhenAll(rescore, streaming);

        foreach (var customer in customers)
        {
            var score = await Engine.Scores.GetScoreAsync(new V1.GetScoreRequest { CustomerId = customer });
            Assert.Equal(history[customer].Count + live[customer].Count, score.EventsApplied);
            var expected = Expected(candidate, history[customer].Concat(live[customer]));
            Assert.Equal(expected.Score, score.Score);
            Assert.Equal(expected.Expectation, score.Expectation);
        }
    }

    [Fact]
    public async Task BadRequests_AreRejectedNamingTheField_BeforeAnythingIsReplayedOrStored()
    {
        var tier = await NewTierAsync(baseline: 50);
        var customer = Ids.Customer("bad");
        await SendAsync(Events(customer, tier.Name, 20, 30));
        var before = await ObserveAsync(tier.Name, [customer], logEntries: 1);

        var unknownTier = await Assert.ThrowsAsync<RpcException>(() =>
            RescoreAsync(new V1.RescoreRequest { Tiers = { tier.Name, "no-such-tier" }, Apply = true }));
        Assert.Equal(StatusCode.InvalidArgument, unknownTier.StatusCode);
        Assert.Equal("tiers[1]", Wire.Violation(unknownTier).Field);

        var unknownCustomer = await Assert.ThrowsAsync<RpcException>(() =>
            RescoreAsync(new V1.RescoreRequest { CustomerIds = { customer, Ids.Customer("never") }, Apply = true }));
        Assert.Equal(StatusCode.NotFound, unknownCustomer.StatusCode);
        Assert.StartsWith("customer_ids[1]", unknownCustomer.Status.Detail, StringComparison.Ordinal);

        var invalid = ContractMapper.ToTier(tier with { Baseline = 20 });
        invalid.LossAversion = 0.5;
        var invalidPolicy = await Assert.ThrowsAsync<RpcException>(() =>
            RescoreAsync(new V1.RescoreRequest { CustomerIds = { customer }, Policies = { ContractMapper.ToTier(tier), invalid }, Apply = true }));
        Assert.Equal(StatusCode.InvalidArgument, invalidPolicy.StatusCode);
        Assert.Equal("policies[1].loss_aversion", Wire.Violation(invalidPolicy).Field);

        var badId = await Assert.ThrowsAsync<RpcException>(() => RescoreAsync(new V1.RescoreRequest { CustomerIds = { "" }, Apply = true }));
        Assert.Equal("customer_ids[0]", Wire.Violation(badId).Field);

        var after = await ObserveAsync(tier.Name, [customer], logEntries: 1);
        Assert.Equal(before, after);
    }
}
