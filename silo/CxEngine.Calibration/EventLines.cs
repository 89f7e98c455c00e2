using CxEngine.Customers;
using Google.Protobuf;
using V1 = CxEngine.Contracts.V1;

namespace CxEngine.Calibration;

/// <summary>
/// Historical events as JSON lines: one cx.v1 <c>InteractionEvent</c> per line in proto3 JSON form (the form
/// <c>cxengine import</c> reads). Blank lines are skipped; a line that is not a cx.v1 event in JSON stops the
/// run, naming the line. An event the engine would reject (its validation, passed in) is left out as the engine
/// would leave it out, and reported as "file:line: field: problem" to <c>rejected</c>, so the replay is the
/// history the engine would hold and nothing is dropped unsaid.
/// </summary>
public static class EventLines
{
    private static readonly JsonParser Parser = new(JsonParser.Settings.Default.WithIgnoreUnknownFields(false));

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
        var lineNumber = 0;
        while (reader.ReadLine() is { } line)
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            V1.InteractionEvent evt;
            try
            {
                evt = Parser.Parse<V1.InteractionEvent>(line);
            }
            catch (InvalidProtocolBufferException ex)
            {
                throw new CalibrationInputException($"{name}:{lineNumber}: not a cx.v1.InteractionEvent in proto3 JSON: {ex.Message}");
            }
            catch (InvalidJsonException ex)
            {
                throw new CalibrationInputException($"{name}:{lineNumber}: not valid JSON: {ex.Message}");
            }

            if (Map(evt, $"{name}:{lineNumber}", mapper, rejected) is { } mapped)
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
