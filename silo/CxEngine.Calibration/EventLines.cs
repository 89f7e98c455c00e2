using CxEngine.Customers;
using Google.Protobuf;
using V1 = CxEngine.Contracts.V1;

namespace CxEngine.Calibration;

/// <summary>
/// Historical events as JSON lines: one cx.v1 <c>InteractionEvent</c> per line in proto3 JSON form (the form
/// <c>cxengine import</c> reads). Blank lines are skipped; a line that is not a valid event stops the run,
/// naming the line and the field, so a calibration never silently fits on part of the data.
/// </summary>
public static class EventLines
{
    private static readonly JsonParser Parser = new(JsonParser.Settings.Default.WithIgnoreUnknownFields(false));

    public static IEnumerable<(string CustomerId, CustomerEvent Event)> Read(string path, EventMapper mapper)
    {
        using var reader = new StreamReader(path);
        foreach (var item in Read(reader, path, mapper))
        {
            yield return item;
        }
    }

    public static IEnumerable<(string CustomerId, CustomerEvent Event)> Read(TextReader reader, string name, EventMapper mapper)
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

            if (mapper(evt, out var mapped) is { } problem)
            {
                throw new CalibrationInputException($"{name}:{lineNumber}: {problem}");
            }

            yield return (evt.CustomerId, mapped);
        }
    }
}
