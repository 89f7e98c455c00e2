using System.Globalization;
using CsvHelper;

namespace CxEngine.Calibration;

/// <summary>
/// Outcomes outside the events (churn, repeat purchase) as CSV with the header <c>customer_id,time,label</c>:
/// <c>time</c> an ISO 8601 instant (UTC unless it carries an offset), <c>label</c> 1/0, true/false or yes/no (the form <c>CxEngine.Olist</c> writes).
/// The score judged is the customer's S at <c>time</c>. A bad row stops the run, naming the line and column.
/// </summary>
public static class OutcomeCsv
{
    public static IReadOnlyList<Outcome> Read(string path)
    {
        using var reader = new StreamReader(path);
        return Read(reader, path);
    }

    public static IReadOnlyList<Outcome> Read(TextReader reader, string name)
    {
        var options = CsvReaderOptions.Default with { Separator = ',', TrimWhitespace = true, TrackLineNumbers = true };
        using var csv = CsvReader.Create(reader, options, false);
        csv.ReadHeader();
        var columns = new int[3];
        string[] names = ["customer_id", "time", "label"];
        for (var c = 0; c < names.Length; c++)
        {
            if (!csv.TryGetFieldIndex(names[c], out columns[c]))
            {
                throw new CalibrationInputException($"{name}: the header has no column '{names[c]}' (expected customer_id,time,label)");
            }
        }

        var outcomes = new List<Outcome>();
        while (csv.Read())
        {
            var line = csv.LineNumber;
            var customer = csv.GetString(columns[0]);
            if (customer.Length == 0)
            {
                throw new CalibrationInputException($"{name}:{line}: customer_id: required");
            }

            var timeText = csv.GetString(columns[1]);
            if (!DateTimeOffset.TryParse(timeText, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time))
            {
                throw new CalibrationInputException($"{name}:{line}: time: not an ISO 8601 instant: '{timeText}'");
            }

            var labelText = csv.GetString(columns[2]);
            var label = labelText.ToUpperInvariant() switch
            {
                "1" or "TRUE" or "YES" => true,
                "0" or "FALSE" or "NO" => false,
                _ => throw new CalibrationInputException($"{name}:{line}: label: must be 1, 0, true, false, yes or no, got '{labelText}'"),
            };
            outcomes.Add(new Outcome(customer, time.UtcDateTime, label));
        }

        return outcomes;
    }
}
