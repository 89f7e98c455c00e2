using System.Globalization;
using CxEngine.Customers;
using CxEngine.Policies;
using CxEngine.Scoring;
using Google.Protobuf.WellKnownTypes;
using V1 = CxEngine.Contracts.V1;

namespace CxEngine.Silo.Ingest;

/// <summary>
/// SCORING.md step 1 at the edge: checks an <see cref="V1.InteractionEvent"/> and maps it to the
/// domain event, or names the first field that is wrong. Nothing reaches a grain unchecked.
/// </summary>
public sealed class EventValidation(TimeProvider clock, int maxClockSkewSeconds)
{
    public const int MaxIdLength = 128;

    /// <summary>Events before this are taken for a broken clock or a unit mistake (seconds vs milliseconds).</summary>
    public static readonly DateTime EarliestEventTime = new(2000, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    private static readonly long EarliestEventSeconds = Timestamp.FromDateTime(EarliestEventTime).Seconds;

    /// <summary>How far ahead a promise may be due: a year, and a little.</summary>
    public static readonly TimeSpan MaxPromiseAhead = TimeSpan.FromDays(400);

    public const int MaxTransfers = 100;
    public const double MaxWaitSeconds = 7 * 86400;

    public FieldError? TryMap(V1.InteractionEvent request, TierCatalog catalog, out CustomerEvent mapped)
    {
        mapped = null!;
        if (CheckId("event_id", request.EventId) is { } badEvent)
        {
            return badEvent;
        }

        if (PromiseSignal.IsEngineEventId(request.EventId))
        {
            return new FieldError("event_id",
                $"ids starting with '{PromiseSignal.MissedEventIdPrefix}' or '{PromiseSignal.OverdueEventIdPrefix}' are the engine's own (missed and overdue promises)");
        }

        if (CheckId("customer_id", request.CustomerId) is { } badCustomer)
        {
            return badCustomer;
        }

        // The clock is read once per event: every time on it is judged against the same "now".
        var now = clock.GetUtcNow().UtcDateTime;
        var latest = now.AddSeconds(maxClockSkewSeconds);
        if (CheckEventTime("occurred_at", request.OccurredAt, required: true, out var occurredAt, latest) is { } badTime)
        {
            return badTime;
        }

        if (request.Kind == V1.EventKind.Unspecified)
        {
            return new FieldError("kind", "required: one of CONTACT, DELIVERY, INVOICE, COMPLAINT, SURVEY, RECOVERY");
        }

        if (!System.Enum.IsDefined(request.Kind))
        {
            return new FieldError("kind", $"unknown value {(int)request.Kind}");
        }

        if (!System.Enum.IsDefined(request.Channel))
        {
            return new FieldError("channel", $"unknown value {(int)request.Channel}");
        }

        string? tier = null;
        if (request.Tier.Length > 0)
        {
            if (catalog.Find(request.Tier) is null)
            {
                return new FieldError("tier", $"unknown tier '{Truncate(request.Tier)}'; known tiers: {catalog.KnownNames}");
            }

            tier = request.Tier;
        }

        if (MapSignals(request.Signals, latest, now + MaxPromiseAhead, out var signals) is { } badSignal)
        {
            return badSignal;
        }

        var evt = new ScoringEvent(occurredAt, (EventKind)request.Kind, signals);
        if (!ScoringStep.HasSignal(evt))
        {
            return new FieldError("signals", "the event carries no experience signal (csat, effort, resolved, wait_seconds, sentiment, promise, conduct_issues, or kind COMPLAINT) and registers no promise");
        }

        mapped = new CustomerEvent(request.EventId, (Channel)request.Channel, evt, tier);
        return null;
    }

    /// <summary>Checks a customer or event id: present, at most 128 characters, no control characters.</summary>
    public static FieldError? CheckId(string field, string value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return new FieldError(field, "required");
        }

        if (value.Length > MaxIdLength)
        {
            return new FieldError(field, $"must be at most {MaxIdLength} characters, got {value.Length}");
        }

        foreach (var c in value)
        {
            if (char.IsControl(c))
            {
                return new FieldError(field, "must not contain control characters or broken UTF-16");
            }
        }

        return IsWellFormed(value) ? null : new FieldError(field, "must not contain control characters or broken UTF-16");
    }

    private static FieldError? MapSignals(V1.Signals? s, DateTime latest, DateTime latestPromised, out Signals signals)
    {
        signals = default;
        if (s is null)
        {
            return new FieldError("signals", "required: at least one experience signal");
        }

        if (s.HasCsat && s.Csat is < 1 or > 5)
        {
            return new FieldError("signals.csat", $"must be between 1 and 5, got {s.Csat}");
        }

        if (s.HasEffort && s.Effort is < 1 or > 7)
        {
            return new FieldError("signals.effort", $"must be between 1 and 7 (7 = very easy), got {s.Effort}");
        }

        if (s.HasTransfers && s.Transfers is < 0 or > MaxTransfers)
        {
            return new FieldError("signals.transfers", $"must be between 0 and {MaxTransfers}, got {s.Transfers}");
        }

        if (s.HasWaitSeconds && !(double.IsFinite(s.WaitSeconds) && s.WaitSeconds is >= 0 and <= MaxWaitSeconds))
        {
            return new FieldError("signals.wait_seconds", $"must be a finite number between 0 and {MaxWaitSeconds}, got {Format(s.WaitSeconds)}");
        }

        if (s.HasSentiment && !(double.IsFinite(s.Sentiment) && s.Sentiment is >= -1 and <= 1))
        {
            return new FieldError("signals.sentiment", $"must be a finite number between -1 and 1, got {Format(s.Sentiment)}");
        }

        // Each issue counts once however often it is named: a bit per issue, the count the bits set.
        ushort conductKinds = 0;
        foreach (var issue in s.ConductIssues)
        {
            if (issue == V1.ConductIssue.Unspecified || !System.Enum.IsDefined(issue))
            {
                return new FieldError("signals.conduct_issues", $"unknown conduct issue {(int)issue}");
            }

            conductKinds |= (ushort)(1 << (int)issue);
        }

        PromiseSignal? promise = null;
        if (s.Promise is { } p)
        {
            if (MapPromise(p, latest, latestPromised, out var mappedPromise) is { } badPromise)
            {
                return badPromise;
            }

            promise = mappedPromise;
        }

        signals = new Signals
        {
            Csat = s.HasCsat ? s.Csat : null,
            Effort = s.HasEffort ? s.Effort : null,
            Resolved = s.HasResolved ? s.Resolved : null,
            Transfers = s.HasTransfers ? s.Transfers : 0,
            WaitSeconds = s.HasWaitSeconds ? s.WaitSeconds : null,
            Sentiment = s.HasSentiment ? s.Sentiment : null,
            Promise = promise,
            ConductIssueCount = System.Numerics.BitOperations.PopCount(conductKinds),
            ConductIssueKinds = conductKinds,
        };
        return null;
    }

    private static FieldError? MapPromise(V1.Promise p, DateTime latest, DateTime latestPromised, out PromiseSignal promise)
    {
        promise = default;
        if (CheckEventTime("signals.promise.promised_at", p.PromisedAt, required: true, out var promisedAt, latestPromised) is { } badPromised)
        {
            return badPromised;
        }

        if (CheckEventTime("signals.promise.fulfilled_at", p.FulfilledAt, required: false, out var fulfilledAt, latest) is { } badFulfilled)
        {
            return badFulfilled;
        }

        if (CheckEventTime("signals.promise.notified_at", p.NotifiedAt, required: false, out var notifiedAt, latest) is { } badNotified)
        {
            return badNotified;
        }

        if (CheckEventTime("signals.promise.made_at", p.MadeAt, required: false, out var madeAt, latest) is { } badMade)
        {
            return badMade;
        }

        if (madeAt != 0 && madeAt > promisedAt)
        {
            return new FieldError("signals.promise.made_at", "must not be after promised_at: a promise is made before it is due");
        }

        if (madeAt != 0 && fulfilledAt != 0 && fulfilledAt < madeAt)
        {
            return new FieldError("signals.promise.fulfilled_at", "must not be before made_at: a promise cannot be kept before it was made");
        }

        if (p.Broken && fulfilledAt != 0)
        {
            return new FieldError("signals.promise.broken", "a promise that was fulfilled (fulfilled_at set) cannot also be broken");
        }

        string? promiseId = null;
        if (p.PromiseId.Length > 0)
        {
            if (CheckId("signals.promise.promise_id", p.PromiseId) is { } badId)
            {
                return badId;
            }

            promiseId = p.PromiseId;
        }

        promise = new PromiseSignal(promisedAt, fulfilledAt, notifiedAt) { PromiseId = promiseId, MadeAtTicks = madeAt, Broken = p.Broken };
        return null;
    }

    private static FieldError? CheckEventTime(string field, Timestamp? value, bool required, out long ticks, DateTime latest)
    {
        ticks = 0;
        if (value is null)
        {
            return required ? new FieldError(field, "required") : null;
        }

        if (value.Nanos is < 0 or > 999_999_999)
        {
            return new FieldError(field, $"nanos must be between 0 and 999999999, got {value.Nanos}");
        }

        if (value.Seconds < EarliestEventSeconds || value.Seconds > Timestamp.FromDateTime(latest).Seconds)
        {
            return new FieldError(field, $"must lie between {EarliestEventTime:yyyy-MM-dd} and {latest:yyyy-MM-ddTHH:mm:ssZ}, got {value.Seconds} seconds since the Unix epoch");
        }

        ticks = value.ToDateTime().Ticks;
        return null;
    }

    private static bool IsWellFormed(string value)
    {
        for (var i = 0; i < value.Length; i++)
        {
            if (char.IsHighSurrogate(value[i]))
            {
                if (i + 1 >= value.Length || !char.IsLowSurrogate(value[i + 1]))
                {
                    return false;
                }

                i++;
            }
            else if (char.IsLowSurrogate(value[i]))
            {
                return false;
            }
        }

        return true;
    }

    private static string Format(double value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Truncate(string value) => value.Length <= 40 ? value : value[..40] + "…";
}
