using CxEngine.Silo.Security;
using CxEngine.Tests.Durability;
using CxEngine.Tests.Service;
using Google.Protobuf;
using Grpc.Core;
using V1 = CxEngine.Contracts.V1;

namespace CxEngine.Tests.Security;

public sealed class LimitsTests
{
    [Fact]
    public async Task CallerOverItsRate_GetsResourceExhausted_WhileAnotherCallersStreamIsUnaffected()
    {
        using var data = new TempDirectory("rate");
        await using var engine = await EngineHost.StartAsync(data.Path, Credentials.HostArgs(
            "--CxEngine:Limits:EventsPerSecondPerCaller=200",
            "--CxEngine:Limits:EventBurstPerCaller=200"));
        var greedy = Credentials.ApiKey(Credentials.KeyFor(Roles.Ingest));
        var polite = Credentials.Bearer(Credentials.Token(Roles.Ingest));

        // The greedy caller pushes 3,000 events as fast as it can; the polite one sends 100 at 50/s at the same time.
        var flood = Task.Run(async () =>
        {
            using var call = engine.Ingest.StreamEvents(greedy);
            var answered = 0;
            var reading = Task.Run(async () =>
            {
                await foreach (var _ in call.ResponseStream.ReadAllAsync())
                {
                    answered++;
                }
            });
            try
            {
                for (var i = 0; i < 3000; i++)
                {
                    await call.RequestStream.WriteAsync(Wire.Event(Ids.Customer("g"), 60));
                }

                await call.RequestStream.CompleteAsync();
            }
            catch (Exception ex) when (ex is RpcException or InvalidOperationException or IOException)
            {
                // The server ended the call.
            }

            var error = await Assert.ThrowsAsync<RpcException>(() => reading);
            return (error, answered);
        });

        var politeResults = new List<V1.EventResult>();
        using (var call = engine.Ingest.StreamEvents(polite))
        {
            var reading = Task.Run(async () =>
            {
                await foreach (var r in call.ResponseStream.ReadAllAsync())
                {
                    politeResults.Add(r);
                }
            });
            for (var i = 0; i < 100; i++)
            {
                await call.RequestStream.WriteAsync(Wire.Event(Ids.Customer("p"), 60));
                await Task.Delay(20);
            }

            await call.RequestStream.CompleteAsync();
            await reading;
        }

        var (floodError, floodAnswered) = await flood;
        Assert.Equal(StatusCode.ResourceExhausted, floodError.StatusCode);
        Assert.Contains("EventsPerSecondPerCaller", floodError.Status.Detail, StringComparison.Ordinal);
        Assert.InRange(floodAnswered, 150, 2999); // its burst was answered before the call ended
        Assert.Equal(100, politeResults.Count);
        Assert.All(politeResults, r => Assert.Equal(V1.EventStatus.Applied, r.Status));

        // Unary calls over the rate are refused the same way: 600 at once against a burst of 200.
        var unary = await Task.WhenAll(Enumerable.Range(0, 600).Select(async _ =>
        {
            try
            {
                await engine.Ingest.RecordEventAsync(Wire.Event(Ids.Customer("u"), 60), greedy);
                return StatusCode.OK;
            }
            catch (RpcException ex)
            {
                return ex.StatusCode;
            }
        }));
        Assert.Contains(StatusCode.ResourceExhausted, unary);
        Assert.All(unary, status => Assert.True(status is StatusCode.OK or StatusCode.ResourceExhausted, status.ToString()));
    }

    [Fact]
    public async Task StreamsPerCaller_AreCapped()
    {
        using var data = new TempDirectory("streams");
        await using var engine = await EngineHost.StartAsync(data.Path, Credentials.HostArgs("--CxEngine:Limits:MaxStreamsPerCaller=2"));
        var key = Credentials.ApiKey(Credentials.KeyFor("all"));
        using var first = engine.Recovery.WatchActions(new V1.WatchActionsRequest(), key);
        using var second = engine.Recovery.WatchActions(new V1.WatchActionsRequest(), key);

        // Both are open on the server once both have received an entry.
        await engine.Ingest.RecordEventAsync(Wire.Awful(Ids.Customer(), "premium"), key);
        Assert.True(await first.ResponseStream.MoveNext(CancellationToken.None));
        Assert.True(await second.ResponseStream.MoveNext(CancellationToken.None));

        using var third = engine.Recovery.WatchActions(new V1.WatchActionsRequest(), key);
        var error = await Assert.ThrowsAsync<RpcException>(() => third.ResponseStream.MoveNext(CancellationToken.None));
        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
        Assert.Contains("MaxStreamsPerCaller", error.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OversizedMessage_IsResourceExhausted_AndTheEngineGoesOn()
    {
        using var data = new TempDirectory("size");
        await using var engine = await EngineHost.StartAsync(data.Path, "--CxEngine:Limits:MaxMessageBytes=65536");
        var huge = Wire.Event(Ids.Customer(), 50);
        huge.CustomerId = new string('x', 200_000);
        var error = await Assert.ThrowsAsync<RpcException>(() => engine.Ingest.RecordEventAsync(huge).ResponseAsync);
        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);

        var next = await engine.Ingest.RecordEventAsync(Wire.Event(Ids.Customer(), 50));
        Assert.Equal(V1.EventStatus.Applied, next.Status);
    }

    [Fact]
    public async Task CancelledStream_NothingSentAfterTheCancelIsApplied()
    {
        using var data = new TempDirectory("cancel");
        await using var engine = await EngineHost.StartAsync(data.Path, "--CxEngine:Limits:MaxStreamsPerCaller=1");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var customer = Ids.Customer();
        var before = Wire.Event(customer, 60, at: Wire.T0);
        var after = Wire.Event(customer, 10, at: Wire.T0.AddMinutes(1));
        var server = new Uri(engine.Url);

        await using (var h2 = await RawHttp2.ConnectAsync(server))
        {
            await h2.OpenAsync(1, (":method", "POST"), (":scheme", "http"), (":path", "/cx.v1.Ingest/StreamEvents"),
                (":authority", $"{server.Host}:{server.Port}"), ("content-type", "application/grpc"), ("te", "trailers"));
            await h2.SendGrpcMessageAsync(1, before.ToByteArray());
            var result = await h2.ReadUntilAsync((type, _, stream, payload) => type == RawHttp2.Data && stream == 1 && payload.Length > 0, timeout.Token);
            Assert.NotNull(result);

            // Cancel the stream, then do what a client library refuses to: keep writing on it.
            await h2.CancelAsync(1);
            await h2.SendGrpcMessageAsync(1, after.ToByteArray());

            // The server answers a PING only after every frame before it (or closes the connection over them).
            await h2.PingAsync(42);
            await h2.ReadUntilAsync((type, flags, _, _) => RawHttp2.IsPingAck(type, flags) || type == RawHttp2.GoAway, timeout.Token);
        }

        // The cancelled call has ended on the server once its caller's only stream slot is free again ...
        await WaitForStreamSlotAsync(engine, timeout.Token);

        // ... and whatever it dispatched for this customer is queued ahead of this event.
        var marker = await engine.Ingest.RecordEventAsync(Wire.Event(customer, 70, at: Wire.T0.AddMinutes(2)));
        Assert.Equal(2, marker.Score.EventsApplied);
        var history = await engine.Scores.GetHistoryAsync(new V1.GetHistoryRequest { CustomerId = customer });
        Assert.Equal([marker.EventId, before.EventId], history.Changes.Select(c => c.EventId));
    }

    private static async Task WaitForStreamSlotAsync(EngineHost engine, CancellationToken cancellationToken)
    {
        while (true)
        {
            using var probe = engine.Ingest.StreamEvents(cancellationToken: cancellationToken);
            await probe.RequestStream.CompleteAsync();
            try
            {
                while (await probe.ResponseStream.MoveNext(cancellationToken))
                {
                }

                return;
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.ResourceExhausted)
            {
                await Task.Delay(50, cancellationToken);
            }
        }
    }
}
