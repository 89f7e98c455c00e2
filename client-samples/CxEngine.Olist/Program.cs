using System.Globalization;
using CsvHelper;
using CxEngine.Olist;
using Google.Protobuf;
using V1 = CxEngine.Contracts.V1;

// dotnet run --project client-samples/CxEngine.Olist -- DATA_FOLDER [--events olist-events.jsonl] [--outcomes olist-outcomes.csv] [--follow-up-days 90]
if (args.Length == 0 || args[0].StartsWith("--", StringComparison.Ordinal) || !Directory.Exists(args[0]))
{
    Console.Error.WriteLine("usage: CxEngine.Olist DATA_FOLDER [--events olist-events.jsonl] [--outcomes olist-outcomes.csv] [--follow-up-days 90]");
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
var followUp = TimeSpan.FromDays(int.Parse(Option("follow-up-days", "90"), CultureInfo.InvariantCulture));

var customers = OlistMapping.ReadCustomers(folder);
var orders = OlistMapping.ReadOrders(folder, customers);
var byId = orders.ToDictionary(o => o.OrderId, StringComparer.Ordinal);

var events = new List<V1.InteractionEvent>();
events.AddRange(orders.SelectMany(OlistMapping.Deliveries));
var deliveries = events.Count;
events.AddRange(OlistMapping.Reviews(folder, byId));
var reviews = events.Count - deliveries;

await using (var writer = new StreamWriter(eventsPath) { NewLine = "\n" })
{
    foreach (var evt in events)
    {
        await writer.WriteLineAsync(JsonFormatter.Default.Format(evt));
    }
}

// Outcomes for calibration: at each order's last event (its delivery or review), did the customer buy again later?
// Orders with less than the follow-up period of data after them are left out: their "no" is not known yet.
var lastPurchase = orders.Max(o => o.PurchasedAt);
var eventTimes = events.GroupBy(e => e.EventId.Split('-')[^1])
    .ToDictionary(g => g.Key, g => g.Max(e => e.OccurredAt.ToDateTimeOffset()), StringComparer.Ordinal);
var purchases = orders.GroupBy(o => o.CustomerUniqueId).ToDictionary(g => g.Key, g => g.Select(o => o.PurchasedAt).Order().ToArray(), StringComparer.Ordinal);
long outcomes = 0, repeats = 0;
await using (var file = File.Create(outcomesPath))
await using (var csv = CsvWriter.Create(file, new CsvWriterOptions { NewLine = "\n" }))
{
    csv.WriteField("customer_id");
    csv.WriteField("time");
    csv.WriteField("label");
    csv.EndRecord();
    foreach (var order in orders.OrderBy(o => o.PurchasedAt))
    {
        if (!eventTimes.TryGetValue(order.OrderId, out var at) || lastPurchase - at < followUp)
        {
            continue;
        }

        var again = purchases[order.CustomerUniqueId].Any(p => p > order.PurchasedAt);
        csv.WriteField(order.CustomerUniqueId);
        csv.WriteField(at.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture));
        csv.WriteField(again ? "yes" : "no");
        csv.EndRecord();
        outcomes++;
        repeats += again ? 1 : 0;
    }
}

Console.WriteLine($"{orders.Count} orders of {orders.Select(o => o.CustomerUniqueId).Distinct().Count()} customers: " +
    $"{deliveries} DELIVERY events ({orders.Count(o => o.EstimatedAt is not null)} promises registered, {orders.Count(o => o.EstimatedAt is not null && o.DeliveredAt is null && o.Status is "canceled" or "unavailable")} broken, " +
    $"{orders.Count(o => o.EstimatedAt is not null && o.DeliveredAt is null && o.Status is not ("canceled" or "unavailable"))} left open for the engine to miss, " +
    $"{orders.Count(o => o.DeliveredAt > o.EstimatedAt?.AddDays(1))} late), {reviews} SURVEY events -> {eventsPath}");
Console.WriteLine($"{outcomes} outcomes ({repeats} repeat purchases, {(outcomes == 0 ? 0 : 100.0 * repeats / outcomes):F1} %) -> {outcomesPath}");
return 0;
