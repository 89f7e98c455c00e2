using BenchmarkDotNet.Attributes;
using CxEngine.Scoring;

namespace CxEngine.Benchmarks;

/// <summary>The pure scoring step, one benchmark per kind of event. Target: ≤ 50 ns and 0 bytes per event.</summary>
[MemoryDiagnoser]
public class ScoringStepBenchmarks
{
    private static readonly DateTime T0 = new(2026, 3, 1, 9, 0, 0, DateTimeKind.Utc);

    private ScoreState _state;
    private TierPolicy _policy = null!;
    private ScoringEvent _contact;
    private ScoringEvent _delivery;
    private ScoringEvent _invoice;
    private ScoringEvent _complaint;
    private ScoringEvent _survey;
    private ScoringEvent _recovery;

    [GlobalSetup]
    public void Setup()
    {
        _policy = TierPolicy.Premium;
        _state = new ScoreState(68, 79, T0.AddHours(-30).Ticks);
        _contact = new(T0.Ticks, EventKind.Contact, new Signals { WaitSeconds = 95, Transfers = 1, Resolved = true, Effort = 4, Sentiment = -0.2, ConductIssueCount = 1 });
        _delivery = new(T0.Ticks, EventKind.Delivery, new Signals { Promise = new PromiseSignal(T0.Ticks, T0.AddMinutes(25).Ticks, T0.AddMinutes(-20).Ticks) });
        _invoice = new(T0.Ticks, EventKind.Invoice, new Signals { Sentiment = 0.3 });
        _complaint = new(T0.Ticks, EventKind.Complaint, new Signals { Sentiment = -0.8 });
        _survey = new(T0.Ticks, EventKind.Survey, new Signals { Csat = 2, Effort = 3 });
        _recovery = new(T0.Ticks, EventKind.Recovery, new Signals { WaitSeconds = 10, Resolved = true, Effort = 7, Sentiment = 0.8 });
    }

    [Benchmark(Baseline = true)]
    public ScoringOutcome Contact() => ScoringStep.Apply(_state, _contact, _policy, Severity.None);

    [Benchmark]
    public ScoringOutcome Delivery() => ScoringStep.Apply(_state, _delivery, _policy, Severity.None);

    [Benchmark]
    public ScoringOutcome Invoice() => ScoringStep.Apply(_state, _invoice, _policy, Severity.None);

    [Benchmark]
    public ScoringOutcome Complaint() => ScoringStep.Apply(_state, _complaint, _policy, Severity.Low);

    [Benchmark]
    public ScoringOutcome Survey() => ScoringStep.Apply(_state, _survey, _policy, Severity.None);

    [Benchmark]
    public ScoringOutcome Recovery() => ScoringStep.Apply(_state, _recovery, _policy, Severity.High);
}
