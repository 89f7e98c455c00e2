namespace CxEngine.Scoring;

/// <summary>
/// A registered promise the engine watches until it is kept, broken or missed (SCORING.md "Promises").
/// Times are UTC ticks. A re-promise replaces <see cref="PromisedAtTicks"/> (and so the deadline) but the
/// shortfall is still measured against <see cref="OriginalPromisedAtTicks"/>, halved when the customer was
/// told before it.
/// </summary>
[GenerateSerializer, Immutable, Alias("cx.OpenPromise")]
public sealed record OpenPromise(
    [property: Id(0)] string PromiseId,
    [property: Id(1)] long MadeAtTicks,
    [property: Id(2)] long OriginalPromisedAtTicks,
    [property: Id(3)] long PromisedAtTicks,
    [property: Id(4)] long NotifiedAtTicks,
    [property: Id(5)] EventKind Kind,
    [property: Id(6)] Channel Channel)
{
    /// <summary>Whether its overdue step was applied (version 3): each promise is overdue at most once.</summary>
    [Id(7)] public bool OverdueApplied { get; init; }

    /// <summary>The overdue step's signal: the tier's overdue performance, the shortfall halved if the customer was warned.</summary>
    public PromiseSignal OverdueSignal() =>
        new(OriginalPromisedAtTicks, 0, NotifiedAtTicks) { PromiseId = PromiseId, MadeAtTicks = MadeAtTicks, Overdue = true };

    /// <summary>
    /// When the promise is overdue (version 3): promised_at + the tier's fixed tolerance, with the promised time in force (a
    /// re-promise moves it); null when the tier has no overdue step or it was applied already.
    /// </summary>
    public long? OverdueTicks(TierPolicy policy) =>
        policy.PromiseOverdueStep && !OverdueApplied ? PromisedAtTicks + policy.PromiseOverdueAfterTicks : null;

    /// <summary>The next moment the engine acts on this promise by itself: overdue, then missed.</summary>
    public long NextDueTicks(TierPolicy policy) => Math.Min(OverdueTicks(policy) ?? long.MaxValue, DeadlineTicks(policy));

    /// <summary>
    /// The promise as the scoring step judges it: fulfilled at <paramref name="fulfilledAtTicks"/>, or (0) not kept,
    /// which is scored as broken.
    /// </summary>
    public PromiseSignal Judged(long fulfilledAtTicks, long notifiedAtTicks) =>
        new(OriginalPromisedAtTicks, fulfilledAtTicks, notifiedAtTicks != 0 ? notifiedAtTicks : NotifiedAtTicks)
        {
            PromiseId = PromiseId,
            MadeAtTicks = MadeAtTicks,
            Broken = fulfilledAtTicks == 0,
        };

    /// <summary>
    /// When a late fulfilment would score 0: promised_at + 4 · tolerance, with the tolerance of the tier in force.
    /// At this event time the engine applies the promise as missed.
    /// </summary>
    public long DeadlineTicks(TierPolicy policy)
    {
        var lead = MadeAtTicks != 0 && OriginalPromisedAtTicks > MadeAtTicks ? OriginalPromisedAtTicks - MadeAtTicks : 0;
        return PromisedAtTicks + (long)(4 * policy.PromiseToleranceFor(lead) * TimeSpan.TicksPerMinute);
    }
}
