using BenchmarkDotNet.Attributes;
using CxEngine.Customers;
using CxEngine.Policies;
using CxEngine.Scoring;
using CxEngine.Silo.Ingest;
using CxEngine.Silo.Services;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using V1 = CxEngine.Contracts.V1;

namespace CxEngine.Benchmarks;

/// <summary>The edge of the event path: wire event → validated domain event, and outcome → wire result.</summary>
[MemoryDiagnoser]
public class MappingBenchmarks
{
    private EventValidation _validation = null!;
    private TierCatalog _catalog = null!;
    private V1.InteractionEvent _event = null!;
    private byte[] _eventBytes = null!;
    private EventOutcome _outcome = null!;

    [GlobalSetup]
    public void Setup()
    {
        _validation = new EventValidation(TimeProvider.System, 86400);
        _catalog = new TierCatalog(1, "standard", TierPolicy.Defaults);
        var now = DateTime.UtcNow;
        _event = new V1.InteractionEvent
        {
            EventId = "call-2026-000123456",
            CustomerId = "cust-000042",
            OccurredAt = Timestamp.FromDateTime(now.AddMinutes(-5)),
            Channel = V1.Channel.Phone,
            Kind = V1.EventKind.Contact,
            Signals = new V1.Signals
            {
                WaitSeconds = 95,
                Transfers = 1,
                Resolved = true,
                Effort = 4,
                Sentiment = -0.2,
                ConductIssues = { V1.ConductIssue.NoGreeting },
            },
        };
        _eventBytes = _event.ToByteArray();
        _validation.TryMap(_event, _catalog, out var mapped);
        var entry = new EventLogEntry(12, mapped.EventId, now,
            new LoggedEvent(mapped.Event, mapped.Channel, "standard", new ScoreExplanation(60, 65, -5, 63.75, 70, -0.5, 66.1, 64.85)));
        _outcome = new EventOutcome(mapped.EventId, EventStatus.Applied,
            new CustomerSnapshot("cust-000042", "standard", 66.1, 64.85, 55, 12, now, null), entry);
    }

    [Benchmark]
    public V1.InteractionEvent ParseEvent() => V1.InteractionEvent.Parser.ParseFrom(_eventBytes);

    [Benchmark]
    public CustomerEvent ValidateAndMapEvent()
    {
        _validation.TryMap(_event, _catalog, out var mapped);
        return mapped;
    }

    [Benchmark]
    public V1.EventResult MapResult() => ContractMapper.ToResult(_outcome, "cust-000042");

    [Benchmark]
    public byte[] MapAndSerializeResult() => ContractMapper.ToResult(_outcome, "cust-000042").ToByteArray();
}
