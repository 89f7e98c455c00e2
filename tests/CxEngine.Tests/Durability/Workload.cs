using System.Collections.Concurrent;
using CxEngine.Scoring;
using CxEngine.Tests.Scoring;
using CxEngine.Tests.Service;
using Grpc.Core;
using V1 = CxEngine.Contracts.V1;

namespace CxEngine.Tests.Durability;

/// <summary>
/// Many customers, each with a sequence of events in time order, interleaved at random across
/// customers. Knows what the model makes of each customer's events applied once each, in order.
/// </summary>
internal sealed class Workload
{
    private static readonly string[] Tiers = ["basic", "standard", "premium"];
    private readonly Dictionary<string, string> _tiers = [];

    public Workload(int customers, int perCustomer, int seed, string prefix)
    {
        var random = new Random(seed);
        var run = Guid.NewGuid().ToString("N")[..8];
        var byCustomer = new Dictionary<string, V1.InteractionEvent[]>();
        for (var c = 0; c < customers; c++)
        {
            var id = $"{prefix}-{run}-{c:D4}";
            _tiers[id] = Tiers[random.Next(Tiers.Length)];
            byCustomer[id] = [.. Enumerable.Range(0, perCustomer).Select(n =>
                Wire.Event(id, random.Next(0, 101), n == 0 ? _tiers[id] : "", Wire.T0.AddMinutes(n * 45), $"{id}-e{n:D4}"))];
        }

        ByCustomer = byCustomer;
        var cursors = byCustomer.Keys.ToDictionary(id => id, _ => 0);
        var pending = byCustomer.Keys.ToList();
        var events = new List<V1.InteractionEvent>(customers * perCustomer);
        while (pending.Count > 0)
        {
            var i = random.Next(pending.Count);
            var id = pending[i];
            events.Add(byCustomer[id][cursors[id]++]);
            if (cursors[id] == perCustomer)
            {
                pending.RemoveAt(i);
            }
        }

        Events = events;
    }

    public IReadOnlyList<V1.InteractionEvent> Events { get; }

    public IReadOnlyDictionary<string, V1.InteractionEvent[]> ByCustomer { get; }

    /// <summary>The model applied once to each of the customer's events, in order.</summary>
    public ScoreState Expected(string customerId) => Run(customerId).State;

    /// <summary>How many recovery actions the model raises for the customer's events, in order (a reopened one counts once).</summary>
    public int ExpectedActions(string customerId) => Run(customerId).Raised;

    private (ScoreState State, int Raised) Run(string customerId)
    {
        var policy = TierPolicy.Defaults.Single(t => t.Name == _tiers[customerId]);
        var (state, _, _) = Model.Replay(policy, ByCustomer[customerId].Select(Wire.Scoring));
        var customer = new CxEngine.Customers.CustomerState();
        foreach (var evt in ByCustomer[customerId])
        {
            customer = CustomerModel.Apply(customer, customerId, new CxEngine.Customers.CustomerEvent(evt.EventId, Channel.Phone, Wire.Scoring(evt)), policy, DateTime.UtcNow).State;
        }

        Assert.Equal(state, customer.Score); // version-1 events: the v2 model scores exactly as version 1
        return (state, customer.ActionsRaised);
    }

    /// <summary>Every customer has exactly the actions the model raises: none raised twice, none lost.</summary>
    public async Task VerifyActionsRaisedOnceAsync(V1.Recovery.RecoveryClient recovery)
    {
        foreach (var id in ByCustomer.Keys)
        {
            var actions = await recovery.ListActionsAsync(new V1.ListActionsRequest { CustomerId = id, PageSize = 1000 });
            Assert.True(ExpectedActions(id) == actions.Actions.Count, $"{id}: {actions.Actions.Count} actions, the model raises {ExpectedActions(id)}");
        }
    }

    /// <summary>Every customer has every event applied exactly once, and the score the model gives them in order.</summary>
    public async Task VerifyAllAppliedOnceInOrderAsync(V1.Scores.ScoresClient scores)
    {
        var ids = ByCustomer.Keys.ToArray();
        for (var offset = 0; offset < ids.Length; offset += 500)
        {
            var request = new V1.BatchGetScoresRequest();
            request.CustomerIds.AddRange(ids.Skip(offset).Take(500));
            var response = await scores.BatchGetScoresAsync(request);
            Assert.Empty(response.NotFound);
            foreach (var score in response.Scores)
            {
                var expected = Expected(score.CustomerId);
                Assert.True(ByCustomer[score.CustomerId].Length == score.EventsApplied,
                    $"{score.CustomerId}: {score.EventsApplied} events applied, {ByCustomer[score.CustomerId].Length} sent");
                Assert.Equal(expected.Score, score.Score);
                Assert.Equal(expected.Expectation, score.Expectation);
            }
        }
    }

    /// <summary>
    /// Streams events and gathers every result until the stream ends or breaks (a killed server).
    /// <paramref name="onResult"/> sees each result as it arrives.
    /// </summary>
    public static async Task<StreamOutcome> StreamAsync(V1.Ingest.IngestClient ingest, IEnumerable<V1.InteractionEvent> events, Action<V1.EventResult>? onResult = null)
    {
        var results = new ConcurrentQueue<V1.EventResult>();
        Exception? failure = null;
        using var call = ingest.StreamEvents();
        var reading = Task.Run(async () =>
        {
            await foreach (var result in call.ResponseStream.ReadAllAsync())
            {
                results.Enqueue(result);
                onResult?.Invoke(result);
            }
        });

        try
        {
            foreach (var evt in events)
            {
                await call.RequestStream.WriteAsync(evt);
            }

            await call.RequestStream.CompleteAsync();
        }
        catch (Exception ex) when (ex is RpcException or IOException or InvalidOperationException or ObjectDisposedException)
        {
            failure = ex;
        }

        try
        {
            await reading;
        }
        catch (Exception ex) when (ex is RpcException or IOException)
        {
            failure ??= ex;
        }

        return new StreamOutcome([.. results], failure);
    }
}

internal sealed record StreamOutcome(IReadOnlyList<V1.EventResult> Results, Exception? Failure);
