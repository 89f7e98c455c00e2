using CxEngine.Tests.Service;
using Grpc.Core;
using OpenTelemetry;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Trace;
using V1 = CxEngine.Contracts.V1;

namespace CxEngine.Tests.Tracing;

/// <summary>Traces (API.md "Additions in version 3"): a caller's trace through the service, dispatch, grain call and commit.</summary>
public sealed class TracingTests
{
    [Fact]
    public async Task ACallersTrace_GoesThroughDispatchGrainCallAndCommit_AndUnsampledCallsLeaveNothing()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        using var data = new TempDirectory("tracing");
        var traceId = Convert.ToHexStringLower(Guid.NewGuid().ToByteArray());
        var callerSpanId = Convert.ToHexStringLower(BitConverter.GetBytes(Random.Shared.NextInt64()));
        string unsampledTrace;
        await using (var engine = await EngineHost.StartAsync(data.Path,
            $"--CxEngine:Tracing:OtlpEndpoint={receiver.Url}", "--CxEngine:Tracing:SampleRatio=0"))
        {
            Assert.NotNull(engine.Services.GetService<TracerProvider>());

            // The engine's HTTP client instrumentation sees this process's calls too: suppressed here, the client sends
            // the traceparent given, as an outside caller does, not one of its own.
            using var outside = SuppressInstrumentationScope.Begin();
            var ingest = engine.Ingest;
            var sampled = await ingest.RecordEventAsync(Wire.Event(Ids.Customer(), 40, "premium"),
                new Metadata { { "traceparent", $"00-{traceId}-{callerSpanId}-01" } });
            Assert.Equal(V1.EventStatus.Applied, sampled.Status);

            // The caller decided not to record this one (flags 00), and the engine's own ratio is 0.
            unsampledTrace = Convert.ToHexStringLower(Guid.NewGuid().ToByteArray());
            var unsampled = await ingest.RecordEventAsync(Wire.Event(Ids.Customer(), 40, "premium"),
                new Metadata { { "traceparent", $"00-{unsampledTrace}-{callerSpanId}-00" } });
            Assert.Equal(V1.EventStatus.Applied, unsampled.Status);
        } // stopping the engine flushes its exporter

        var spans = receiver.Spans.Where(s => s.TraceId == traceId).ToList();
        var names = string.Join(", ", receiver.Spans.Select(s => $"{s.Scope}/{s.Name}@{s.TraceId[..8]}^{s.ParentSpanId}")) + " want " + traceId + "/" + callerSpanId;

        Assert.True(spans.Count(s => s.ParentSpanId == callerSpanId) == 1, $"one span under the caller's; received: {names}");
        var server = spans.Single(s => s.ParentSpanId == callerSpanId);
        Assert.Contains("RecordEvent", server.Name, StringComparison.Ordinal);

        var dispatch = Assert.Single(spans, s => s.Name == "cx.dispatch");
        Assert.Equal("CxEngine.Ingest", dispatch.Scope);
        Assert.Equal(server.SpanId, dispatch.ParentSpanId);
        Assert.Equal(1L, dispatch.Attributes["cx.dispatch.events"]);

        // Orleans' activity propagation: the grain call is a child of the dispatch, and the commit happens inside it.
        var grainCall = Assert.Single(spans, s => s.Scope.StartsWith("Microsoft.Orleans", StringComparison.Ordinal) && s.ParentSpanId == dispatch.SpanId);
        var commit = Assert.Single(spans, s => s.Name == "cx.storage.commit");
        Assert.Equal("CxEngine.Storage", commit.Scope);
        Assert.True(IsBelow(commit, grainCall, spans), $"the commit is not inside the grain call; spans: {names}");
        Assert.Equal(1L, commit.Attributes["cx.commit.events"]);
        Assert.True(commit.Attributes["cx.storage.batch_size"] is long size && size >= 1, $"batch size missing: {string.Join(", ", commit.Attributes)}");

        Assert.DoesNotContain(receiver.Spans, s => s.TraceId == unsampledTrace);
        Assert.DoesNotContain(receiver.Spans, s => s.Name is "cx.dispatch" or "cx.storage.commit" && s.TraceId != traceId);
    }

    [Fact]
    public async Task TracingOff_RegistersNoTracer()
    {
        using var data = new TempDirectory("tracing-off");
        await using var engine = await EngineHost.StartAsync(data.Path);
        Assert.Null(engine.Services.GetService<TracerProvider>());
    }

    [Fact]
    public void AnEndpointThatIsNotAUrl_IsRefusedAtStart_NamingTheSetting()
    {
        using var data = new TempDirectory("tracing-bad");
        var error = Assert.ThrowsAny<Exception>(() => EngineHost.Build(data.Path, "--CxEngine:Tracing:OtlpEndpoint=collector:4318"));
        Assert.Contains("CxEngine:Tracing:OtlpEndpoint", error.Message, StringComparison.Ordinal);
        Assert.Contains("absolute http or https URL", error.Message, StringComparison.Ordinal);
    }

    private static bool IsBelow(ReceivedSpan span, ReceivedSpan ancestor, List<ReceivedSpan> spans)
    {
        for (var current = span; current is not null; current = spans.FirstOrDefault(s => s.SpanId == current.ParentSpanId))
        {
            if (current.ParentSpanId == ancestor.SpanId)
            {
                return true;
            }
        }

        return false;
    }
}
