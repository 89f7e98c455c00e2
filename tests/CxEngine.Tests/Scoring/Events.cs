using CxEngine.Scoring;

namespace CxEngine.Tests.Scoring;

/// <summary>Builders for scoring events with a known experience value.</summary>
internal static class Events
{
    public static readonly DateTime T0 = new(2026, 3, 1, 9, 0, 0, DateTimeKind.Utc);

    public static ScoringEvent At(DateTime when, Signals signals, EventKind kind = EventKind.Contact) =>
        new(when.Ticks, kind, signals);

    /// <summary>An event whose only signal is sentiment, chosen so that x equals <paramref name="x"/> exactly.</summary>
    public static ScoringEvent WithExperience(double x, DateTime? when = null) =>
        At(when ?? T0, new Signals { Sentiment = (x / 50) - 1 });

    public static ScoringEvent Csat(int csat, DateTime? when = null) => At(when ?? T0, new Signals { Csat = csat }, EventKind.Survey);
}
