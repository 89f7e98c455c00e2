using CxEngine.Customers;
using Google.Protobuf;
using V1 = CxEngine.Contracts.V1;

namespace CxEngine.Calibration;

/// <summary>A line of a JSON-lines file of events: the event it holds, or why it holds none.</summary>
public readonly record struct EventLine(long Number, V1.InteractionEvent? Event, string? Problem);

/// <summary>
/// Historical events as JSON lines: one cx.v1 <c>InteractionEvent</c> per line in proto3 JSON form (what
/// <see cref="JsonFormatter"/> writes, and <c>cxengine export events</c>). The one reader of such files: <c>import</c>
/// and <c>calibrate --events</c> both read through <see cref="Parse"/>, and treat a bad line alike: it is reported by
/// its number, with what was expected, and left out; the lines around it go on. Blank lines are skipped. For
/// calibration an event the engine would reject (its validation, passed in) is left out as the engine would leave it
/// out, and reported as "file:line: field: problem" to <c>rejected</c>, so the replay is the history the engine would
/// hold and nothing is dropped unsaid.
/// </summary>
public static class EventLines
{
    private static readonly JsonParser Parser = new(JsonParser.Settings.Default.WithIgnoreUnknownFields(false));

    private const string NotAnObject =
        "not a JSON object (expected one cx.v1 InteractionEvent in proto3 JSON a line, e.g. {\"eventId\":\"e1\",\"customerId\":\"c1\",\"occurredAt\":\"2026-03-01T09:00:00Z\",\"signals\":{\"csat\":4}})";

    /// <summary>Every non-blank line: its event, or the problem in words a person can act on.</summary>
    public static IEnumerable<EventLine> Parse(TextReader reader)
    {
        var number = 0L;
        while (reader.ReadLine() is { } line)
        {
            number++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            V1.InteractionEvent? evt = null;
            string? problem = null;
            if (!line.AsSpan().TrimStart().StartsWith("{"))
            {
                yield return new EventLine(number, null, NotAnObject);
                continue;
            }

            try
            {
                evt = Parser.Parse<V1.InteractionEvent>(line);
            }
            catch (InvalidJsonException ex)
            {
                problem = $"{NotAnObject} ({ex.Message})";
            }
            catch (Exception ex) when (ex is InvalidProtocolBufferException or FormatException)
            {
                problem = $"not a cx.v1 InteractionEvent in proto3 JSON: {ex.Message}";
            }

            yield return new EventLine(number, evt, problem);
        }
    }

    public static IEnumerable<(string CustomerId, CustomerEvent Event)> Read(string path, EventMapper mapper, ICollection<string> rejected)
    {
        using var reader = new StreamReader(path);
        foreach (var item in Read(reader, path, mapper, rejected))
        {
            yield return item;
        }
    }

    public static IEnumerable<(string CustomerId, CustomerEvent Event)> Read(TextReader reader, string name, EventMapper mapper, ICollection<string> rejected)
    {
        foreach (var line in Parse(reader))
        {
            if (line.Event is null)
            {
                rejected.Add($"{name}:{line.Number}: {line.Problem}");
            }
            else if (Map(line.Event, $"{name}:{line.Number}", mapper, rejected) is { } mapped)
            {
                yield return mapped;
            }
        }
    }

    /// <summary>Events from anywhere (<paramref name="where"/> names each in a report) through the engine's validation.</summary>
    public static IEnumerable<(string CustomerId, CustomerEvent Event)> Map(
        IEnumerable<V1.InteractionEvent> events, Func<V1.InteractionEvent, string> where, EventMapper mapper, ICollection<string> rejected)
    {
        foreach (var evt in events)
        {
            if (Map(evt, where(evt), mapper, rejected) is { } mapped)
            {
                yield return mapped;
            }
        }
    }

    /// <summary>One event as the engine would take it, or null (and the reason in <paramref name="rejected"/>) when it would refuse it.</summary>
    private static (string CustomerId, CustomerEvent Event)? Map(V1.InteractionEvent evt, string where, EventMapper mapper, ICollection<string> rejected)
    {
        if (mapper(evt, out var mapped) is { } problem)
        {
            rejected.Add($"{where}: {problem}");
            return null;
        }

        return (evt.CustomerId, mapped);
    }
}
