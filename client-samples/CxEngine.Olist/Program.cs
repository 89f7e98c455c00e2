using System.Globalization;
using CsvHelper;
using CxEngine.Calibration.Olist;
using Google.Protobuf;

// dotnet run --project client-samples/CxEngine.Olist -- DATA_FOLDER [--events olist-events.jsonl] [--outcomes olist-outcomes.csv]
// The mapping is the engine's own (CxEngine.Calibration's OlistSource, what `cxengine calibrate --olist` reads in
// place): the files written here are exactly the events and outcomes that calibration replays, so `import`, `calibrate
// --events` and `calibrate --olist` all see the same history.
if (args.Length == 0 || args[0].StartsWith("--", StringComparison.Ordinal) || !Directory.Exists(args[0]))
{
    Console.Error.WriteLine("usage: CxEngine.Olist DATA_FOLDER [--events olist-events.jsonl] [--outcomes olist-outcomes.csv]");
    Console.Error.WriteLine("DATA_FOLDER holds the Kaggle \"Brazilian E-Commerce Public Dataset by Olist\" CSV files (CC BY-NC-SA 4.0; not in this repository).");
    return 2;
}

string Option(string name, string fallback)
{
    var i = Array.IndexOf(args, $"--{name}");
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
}

var folder = args[0];
var eventsPath = Option("events", "olist-events.jsonl");
var outcomesPath = Option("outcomes", "olist-outcomes.csv");

var (events, outcomes, counts) = OlistSource.Read(folder);

await using (var writer = new StreamWriter(eventsPath) { NewLine = "\n" })
{
    foreach (var evt in events)
    {
        await writer.WriteLineAsync(JsonFormatter.Default.Format(evt));
    }
}

// The form `calibrate --outcomes` reads: customer_id,time,label.
await using (var file = File.Create(outcomesPath))
await using (var csv = CsvWriter.Create(file, new CsvWriterOptions { NewLine = "\n" }))
{
    csv.WriteField("customer_id");
    csv.WriteField("time");
    csv.WriteField("label");
    csv.EndRecord();
    foreach (var outcome in outcomes)
    {
        csv.WriteField(outcome.CustomerId);
        csv.WriteField(outcome.Time.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture));
        csv.WriteField(outcome.Label ? "yes" : "no");
        csv.EndRecord();
    }
}

Console.WriteLine($"{counts.Orders} orders ({counts.OrdersWithoutCustomer} without a known customer, {counts.CanceledOrUnavailable} canceled or unavailable, " +
    $"{counts.Inconsistent} with inconsistent times), {counts.DeliveryEvents} delivered, {counts.Reviews} reviews -> {events.Count} events of {counts.Customers} customers in {eventsPath}");
Console.WriteLine($"{counts.Outcomes} first orders judged for a repeat purchase, {counts.Returned} came back -> {outcomesPath}");
return 0;
