using CxEngine.Tests.Service;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Health.V1;
using V1 = CxEngine.Contracts.V1;

namespace CxEngine.Tests.Security;

/// <summary>
/// Whatever a buggy or hostile client sends, the engine stays up, rejects each bad event with a reason,
/// and the customers it was not about do not change by a single byte.
/// </summary>
public sealed class HostileInputTests
{
    private const int HostileEvents = 100_000;

    [Fact]
    public async Task HundredThousandHostileEventsAndRandomFrames_SiloStaysUp_ControlCustomersUnchangedToTheByte()
    {
        using var data = new TempDirectory("fuzz");
        await using var engine = await EngineHost.StartAsync(data.Path);
        var controls = Enumerable.Range(0, 20).Select(i => Ids.Customer($"control{i}")).ToArray();
        foreach (var (control, i) in controls.Select((c, i) => (c, i)))
        {
            await engine.Ingest.RecordEventAsync(Wire.Event(control, 10 + (i * 4), i % 2 == 0 ? "premium" : "basic"));
        }

        var before = await SnapshotAsync(engine, controls);

        // 1. Hostile events on well-formed frames, several streams at once.
        var random = new Random(1234);
        var hostile = Enumerable.Range(0, HostileEvents).Select(i => Hostile(random, i)).ToArray();
        var results = await Task.WhenAll(Enumerable.Range(0, 4).Select(s =>
            Durability.Workload.StreamAsync(engine.Ingest, hostile.Where((_, i) => i % 4 == s))));
        Assert.All(results, r => Assert.Null(r.Failure));
        var all = results.SelectMany(r => r.Results).ToArray();
        Assert.Equal(HostileEvents, all.Length);
        var rejected = all.Where(r => r.Status == V1.EventStatus.Rejected).ToArray();
        Assert.True(rejected.Length > HostileEvents * 0.8, $"only {rejected.Length} of {HostileEvents} hostile events were rejected");
        Assert.All(rejected, r => Assert.Matches("^[a-z_.]+: .+", r.Error));
        Assert.DoesNotContain(all, r => r.Status == V1.EventStatus.Unavailable);

        // 2. Frames that are not protobuf at all, and frames cut short.
        var raw = new Method<byte[], byte[]>(MethodType.DuplexStreaming, "cx.v1.Ingest", "StreamEvents",
            Marshallers.Create(b => b, b => b), Marshallers.Create(b => b, b => b));
        var invoker = engine.Channel.CreateCallInvoker();
        for (var i = 0; i < 200; i++)
        {
            using var call = invoker.AsyncDuplexStreamingCall(raw, null, new CallOptions());
            var garbage = new byte[random.Next(1, 4096)];
            random.NextBytes(garbage);
            if (i % 3 == 0)
            {
                // A valid event with its tail cut off.
                var valid = Wire.Event(Ids.Customer("cut"), 50).ToByteArray();
                garbage = valid[..random.Next(1, valid.Length)];
            }

            try
            {
                await call.RequestStream.WriteAsync(garbage);
                await call.RequestStream.CompleteAsync();
                while (await call.ResponseStream.MoveNext(CancellationToken.None))
                {
                }
            }
            catch (RpcException ex)
            {
                Assert.True(ex.StatusCode is StatusCode.InvalidArgument or StatusCode.Internal, $"stream: {ex.Status}");
            }
        }

        // The same on a unary call, where gRPC parses the request before any of our code runs.
        var rawUnary = new Method<byte[], byte[]>(MethodType.Unary, "cx.v1.Ingest", "RecordEvent",
            Marshallers.Create(b => b, b => b), Marshallers.Create(b => b, b => b));
        for (var i = 0; i < 200; i++)
        {
            var garbage = new byte[random.Next(1, 4096)];
            random.NextBytes(garbage);
            try
            {
                await invoker.AsyncUnaryCall(rawUnary, null, new CallOptions(), garbage);
            }
            catch (RpcException ex)
            {
                // Bytes that happen to parse are a message with missing fields: INVALID_ARGUMENT as well.
                Assert.True(ex.StatusCode == StatusCode.InvalidArgument, $"unary: {ex.Status}");
            }
        }

        var notAMessage = await Assert.ThrowsAsync<RpcException>(() => invoker.AsyncUnaryCall(rawUnary, null, new CallOptions(), [0xff, 0xff, 0xff]).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, notAMessage.StatusCode);
        Assert.Contains("not a valid InteractionEvent", notAMessage.Status.Detail, StringComparison.Ordinal);

        // 3. Still serving, and the control customers are exactly as they were.
        var health = await new Health.HealthClient(engine.Channel).CheckAsync(new HealthCheckRequest());
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, health.Status);
        var after = await SnapshotAsync(engine, controls);
        Assert.Equal(before, after);
    }

    [Fact]
    public async Task AMillionEventsForOneCustomer_AreTakenWithoutHarm()
    {
        using var data = new TempDirectory("million");
        await using var engine = await EngineHost.StartAsync(data.Path);
        var customer = Ids.Customer("busy");
        const int Total = 1_000_000, Distinct = 200; // more than the 64 ids a customer keeps in memory: the log answers the rest
        var events = Enumerable.Range(0, Distinct).Select(i => Wire.Event(customer, i % 101, at: Wire.T0.AddSeconds(i), eventId: $"m{i}")).ToArray();

        // A client stuck in a retry loop: the same 200 events again and again, a million in all.
        var outcome = await Durability.Workload.StreamAsync(engine.Ingest, Enumerable.Range(0, Total).Select(i => events[i % Distinct]));

        Assert.Null(outcome.Failure);
        Assert.Equal(Total, outcome.Results.Count);
        Assert.Equal(Distinct, outcome.Results.Count(r => r.Status == V1.EventStatus.Applied));
        Assert.Equal(Total - Distinct, outcome.Results.Count(r => r.Status == V1.EventStatus.Duplicate));
        var score = await engine.Scores.GetScoreAsync(new V1.GetScoreRequest { CustomerId = customer });
        Assert.Equal(Distinct, score.EventsApplied);
    }

    private static async Task<string> SnapshotAsync(EngineHost engine, IEnumerable<string> customers)
    {
        var parts = new List<string>();
        foreach (var customer in customers)
        {
            var history = await engine.Scores.GetHistoryAsync(new V1.GetHistoryRequest { CustomerId = customer });
            parts.Add(Convert.ToBase64String(history.ToByteArray()));
        }

        return string.Join('|', parts);
    }

    /// <summary>One hostile event of many kinds; some are valid events for hostile customers (never the controls).</summary>
    private static V1.InteractionEvent Hostile(Random random, int i)
    {
        var evt = Wire.Event($"hostile-{random.Next(500)}", random.Next(0, 101), at: Wire.T0.AddSeconds(i), eventId: $"h{i}");
        switch (i % 16)
        {
            case 0: evt.Signals.Sentiment = double.NaN; break;
            case 1: evt.Signals.WaitSeconds = double.PositiveInfinity; break;
            case 2: evt.Signals.WaitSeconds = double.MaxValue; break;
            case 3: evt.CustomerId = new string('c', random.Next(129, 20_000)); break;
            case 4: evt.EventId = "bad\u0000id" + i; break;
            case 5: evt.CustomerId = "\ud800broken" + i; break;
            case 6: evt.OccurredAt = new Timestamp { Seconds = -62135596800 }; break;
            case 7: evt.OccurredAt = new Timestamp { Seconds = 253402300799 }; break;
            case 8: evt.OccurredAt = new Timestamp { Seconds = 1_700_000_000, Nanos = -5 }; break;
            case 9: evt.Kind = (V1.EventKind)random.Next(7, int.MaxValue); break;
            case 10: evt.Channel = (V1.Channel)(-random.Next(1, 1000)); break;
            case 11: evt.Signals.ConductIssues.Add((V1.ConductIssue)random.Next(16, 100_000)); break;
            case 12: evt.Signals.Csat = random.Next(int.MinValue, 0); break;
            case 13: evt.Tier = new string('t', random.Next(1, 500)); break;
            case 14: evt.Signals = new V1.Signals(); break;
            case 15:
                // A valid event, for a hostile customer: applied, and it must not touch anyone else.
                break;
        }

        return evt;
    }
}
