using System.Globalization;
using CsvHelper;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using V1 = CxEngine.Contracts.V1;

namespace CxEngine.Silo.Tools;

/// <summary>An event read from a file, with the line it came from.</summary>
public sealed record FileEvent(long Line, V1.InteractionEvent Event);

/// <summary>A line that could not be read as an event, and why.</summary>
public sealed record MalformedLine(long Line, string Problem)
{
    public override string ToString() => $"line {Line}: {Problem}";
}

/// <summary>
/// Historical events in a file: JSON lines in the cx.v1 proto3 JSON form (one <c>InteractionEvent</c> a line,
/// as <see cref="JsonFormatter"/> writes it), or CSV with the header <see cref="CsvHeader"/> (chosen by the
/// <c>.csv</c> extension). A line that cannot be read is reported by number and skipped; the rest go on.
/// </summary>
public static class EventFile
{
    /// <summary>The CSV columns, in any order; only event_id, customer_id, occurred_at and kind are required.</summary>
    public static readonly string[] CsvHeader =
    [
        "event_id", "customer_id", "occurred_at", "kind", "channel", "tier",
        "csat", "effort", "resolved", "transfers", "wait_seconds", "sentiment",
        "promised_at", "fulfilled_at", "notified_at", "conduct_issues", "promise_id", "made_at", "broken",
    ];

    private static bool IsCsv(string path) => path.EndsWith(".csv", StringComparison.OrdinalIgnoreCase);

    /// <summary>Reads the file (synchronously: the import sorts the whole file before it sends anything).</summary>
    public static void Read(string path, Action<FileEvent> onEvent, Action<MalformedLine> onMalformed, CancellationToken cancellationToken)
    {
        if (IsCsv(path))
        {
            ReadCsv(path, onEvent, onMalformed);
            return;
        }

        // The same reader as calibrate --events (CxEngine.Calibration.EventLines): the same lines read, the same words for a bad one.
        using var reader = new StreamReader(path);
        foreach (var line in Calibration.EventLines.Parse(reader))
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (line.Event is { } evt)
            {
                onEvent(new FileEvent(line.Number, evt));
            }
            else
            {
                onMalformed(new MalformedLine(line.Number, line.Problem!));
            }
        }
    }

    private static void ReadCsv(string path, Action<FileEvent> onEvent, Action<MalformedLine> onMalformed)
    {
        var options = new CsvReaderOptions
        {
            Separator = ',',
            TrackLineNumbers = true,
            AllowLineBreaksInQuotes = false,
            MalformedData = CsvMalformedDataHandling.Skip,
            FieldCountMismatch = CsvFieldCountHandling.Skip,
            OnMalformedRecord = record => onMalformed(new MalformedLine(record.LineNumber, $"malformed CSV ({record.Reason})")),
        };
        using var csv = CsvReader.FromFile(path, options);
        csv.ReadHeader();
        foreach (var required in (string[])["event_id", "customer_id", "occurred_at", "kind"])
        {
            if (!csv.TryGetFieldIndex(required, out _))
            {
                throw new FormatException($"{path}: the CSV header has no '{required}' column; the columns are {string.Join(",", CsvHeader)}");
            }
        }

        var columns = CsvHeader.ToDictionary(c => c, c => csv.TryGetFieldIndex(c, out var i) ? i : -1, StringComparer.Ordinal);
        while (csv.Read())
        {
            try
            {
                onEvent(new FileEvent(csv.LineNumber, FromCsv(csv, columns)));
            }
            catch (FormatException ex)
            {
                onMalformed(new MalformedLine(csv.LineNumber, ex.Message));
            }
        }
    }

    private static V1.InteractionEvent FromCsv(CsvReader csv, Dictionary<string, int> columns)
    {
        string? Text(string column) => columns[column] is >= 0 and var i && !csv.IsEmpty(i) ? csv.GetString(i).Trim() : null;

        T? Number<T>(string column) where T : struct, System.Numerics.INumber<T> =>
            Text(column) is not { } text ? null
            : T.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) ? value
            : throw new FormatException($"{column}: '{text}' is not a number");

        Timestamp? Time(string column) =>
            Text(column) is not { } text ? null
            : DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var value) ? Timestamp.FromDateTimeOffset(value)
            : throw new FormatException($"{column}: '{text}' is not a date and time (ISO 8601, UTC unless an offset is given)");

        var evt = new V1.InteractionEvent
        {
            EventId = Text("event_id") ?? "",
            CustomerId = Text("customer_id") ?? "",
            OccurredAt = Time("occurred_at"),
            Kind = Enum<V1.EventKind>("kind", Text("kind"), "EVENT_KIND_"),
            Channel = Enum<V1.Channel>("channel", Text("channel"), "CHANNEL_"),
            Tier = Text("tier") ?? "",
            Signals = new V1.Signals(),
        };
        var s = evt.Signals;
        if (Number<int>("csat") is { } csat)
        {
            s.Csat = csat;
        }

        if (Number<int>("effort") is { } effort)
        {
            s.Effort = effort;
        }

        if (Text("resolved") is { } resolved)
        {
            s.Resolved = Bool("resolved", resolved);
        }

        if (Number<int>("transfers") is { } transfers)
        {
            s.Transfers = transfers;
        }

        if (Number<double>("wait_seconds") is { } wait)
        {
            s.WaitSeconds = wait;
        }

        if (Number<double>("sentiment") is { } sentiment)
        {
            s.Sentiment = sentiment;
        }

        if (Time("promised_at") is { } promisedAt)
        {
            s.Promise = new V1.Promise
            {
                PromisedAt = promisedAt,
                FulfilledAt = Time("fulfilled_at"),
                NotifiedAt = Time("notified_at"),
                PromiseId = Text("promise_id") ?? "",
                MadeAt = Time("made_at"),
                Broken = Text("broken") is { } broken && Bool("broken", broken),
            };
        }

        if (Text("conduct_issues") is { } issues)
        {
            foreach (var issue in issues.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                s.ConductIssues.Add(Enum<V1.ConductIssue>("conduct_issues", issue, "CONDUCT_ISSUE_"));
            }
        }

        return evt;
    }

    private static bool Bool(string column, string text) =>
        bool.TryParse(text, out var value) ? value : text is "1" or "yes" ? true : text is "0" or "no" ? false
            : throw new FormatException($"{column}: '{text}' is not true or false");

    /// <summary>An enum by its proto name, with or without its prefix, in any case (DELIVERY, EVENT_KIND_DELIVERY).</summary>
    private static TEnum Enum<TEnum>(string column, string? text, string prefix) where TEnum : struct, System.Enum
    {
        if (text is null)
        {
            return default;
        }

        // The generated C# enums carry their proto names.
        var descriptor = V1.TypesReflection.Descriptor.FindTypeByName<Google.Protobuf.Reflection.EnumDescriptor>(typeof(TEnum).Name);
        var name = text.ToUpperInvariant();
        var value = descriptor.FindValueByName(name) ?? descriptor.FindValueByName(prefix + name)
            ?? throw new FormatException($"{column}: '{text}' is not one of {string.Join(", ", descriptor.Values.Skip(1).Select(v => v.Name[prefix.Length..]))}");
        return (TEnum)(object)value.Number;
    }
}
