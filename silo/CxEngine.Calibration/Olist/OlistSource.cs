using System.Globalization;
using CsvHelper;
using Google.Protobuf.WellKnownTypes;
using V1 = CxEngine.Contracts.V1;

namespace CxEngine.Calibration.Olist;

/// <summary>What the Olist mapping read, kept and left out.</summary>
public sealed record OlistCounts(int Orders, int OrdersWithoutCustomer, int CanceledOrUnavailable, int Inconsistent, int DeliveryEvents, int Reviews, int ReviewsWithoutOrder, int Customers, int Outcomes, int Returned, int ReturnedBeforeExperience);

/// <summary>
/// The Olist e-commerce CSVs (the Kaggle release's file names) as cx.v1 events and a repeat-purchase outcome,
/// so <c>cxengine calibrate --olist DIR</c> needs no separate conversion step. The data stays where it is
/// (its licence forbids shipping it); nothing is written.
/// <list type="bullet">
/// <item>customer: <c>customer_unique_id</c> (an order's <c>customer_id</c> is per order); orders of ids
/// the customers file lacks are left out.</item>
/// <item>order → an open promise registered at purchase (a DELIVERY event with <c>promise_id</c> = <c>order_id</c>,
/// <c>made_at</c> = <c>order_purchase_timestamp</c>, or <c>order_approved_at</c> where the purchase time is
/// missing, and <c>promised_at</c> = the end of the day <c>order_estimated_delivery_date</c> names: a parcel
/// that comes on the promised day is on time); delivered → a DELIVERY event at
/// <c>order_delivered_customer_date</c> fulfilling it. An order not delivered stays open and the model applies
/// it as missed (SCORING.md "Promises"). Canceled and unavailable orders register no promise: a cancellation
/// may be the customer's choice, and when either was reported is not in the data. Orders whose times the
/// engine would refuse (delivered before bought) are left out and counted.</item>
/// <item>review → a SURVEY event at <c>review_creation_date</c> (when the survey went out) with
/// <c>csat</c> = <c>review_score</c>.</item>
/// <item>times are Brasília local time, taken as UTC−3.</item>
/// <item>repeat purchase: a customer whose first order was delivered or reviewed came back (label 1) when
/// they ordered again more than a day after the first order (a same-day second order is a split basket)
/// and after the first order's experience (its delivery and review), which is where S is read for every
/// customer alike. A customer who ordered again before that experience is left out: their return cannot
/// follow from it, and reading S earlier for them only would tell the label by the time of the reading.</item>
/// </list>
/// </summary>
public static class OlistSource
{
    public const string Orders = "olist_orders_dataset.csv";
    public const string Reviews = "olist_order_reviews_dataset.csv";
    public const string Customers = "olist_customers_dataset.csv";

    private static readonly TimeSpan Brasilia = TimeSpan.FromHours(-3);

    public static (List<V1.InteractionEvent> Events, List<Outcome> Outcomes, OlistCounts Counts) Read(string directory)
    {
        var customerOf = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var row in Rows(directory, Customers, "customer_id", "customer_unique_id"))
        {
            customerOf[row[0]] = row[1];
        }

        var orders = new Dictionary<string, Order>(StringComparer.Ordinal);
        var events = new List<V1.InteractionEvent>();
        int orderRows = 0, withoutCustomer = 0, deliveries = 0, skipped = 0, inconsistent = 0;
        foreach (var row in Rows(directory, Orders, "order_id", "customer_id", "order_purchase_timestamp", "order_approved_at", "order_delivered_customer_date", "order_estimated_delivery_date", "order_status"))
        {
            orderRows++;
            if (!customerOf.TryGetValue(row[1], out var customer))
            {
                withoutCustomer++;
                continue;
            }

            var purchased = Time(directory, Orders, "order_purchase_timestamp", row[2]) ?? Time(directory, Orders, "order_approved_at", row[3]);
            var delivered = Time(directory, Orders, "order_delivered_customer_date", row[4]);
            var estimated = Time(directory, Orders, "order_estimated_delivery_date", row[5]);
            var order = new Order(row[0], customer, purchased, delivered);
            if (estimated is not { } estimate || row[6] is "canceled" or "unavailable")
            {
                // A cancellation may be the customer's own choice, and when an unavailable order was reported is not in the data.
                orders[order.Id] = order;
                skipped++;
                continue;
            }

            var due = EndOfLocalDay(estimate);
            if (purchased is { } made && (made > due || (delivered is { } d && d < made)))
            {
                // The engine refuses a promise made after it is due or kept before it was made.
                orders[order.Id] = order;
                inconsistent++;
                continue;
            }

            orders[order.Id] = order;
            var promise = new V1.Promise { PromiseId = order.Id, PromisedAt = Timestamp.FromDateTime(due) };
            if (purchased is { } madeAt)
            {
                promise.MadeAt = Timestamp.FromDateTime(madeAt);
                events.Add(Delivery($"olist-order-{order.Id}-promised", customer, madeAt, promise.Clone()));
            }

            if (delivered is { } at)
            {
                promise.FulfilledAt = Timestamp.FromDateTime(at);
                events.Add(Delivery($"olist-order-{order.Id}-delivered", customer, at, promise));
                deliveries++;
            }
        }

        int reviewRows = 0, withoutOrder = 0;
        var reviewed = new Dictionary<string, DateTime>(StringComparer.Ordinal);
        foreach (var row in Rows(directory, Reviews, "review_id", "order_id", "review_score", "review_creation_date"))
        {
            reviewRows++;
            if (!orders.TryGetValue(row[1], out var order))
            {
                withoutOrder++;
                continue;
            }

            if (!int.TryParse(row[2], NumberStyles.None, CultureInfo.InvariantCulture, out var score))
            {
                throw new CalibrationInputException($"{Path.Combine(directory, Reviews)}: review_score: not a whole number: '{row[2]}'");
            }

            if (Time(directory, Reviews, "review_creation_date", row[3]) is not { } at)
            {
                continue;
            }

            events.Add(new V1.InteractionEvent
            {
                EventId = $"olist-review-{(row[0].Length > 0 ? row[0] : "order")}-{order.Id}",
                CustomerId = order.Customer,
                OccurredAt = Timestamp.FromDateTime(at),
                Kind = V1.EventKind.Survey,
                Channel = V1.Channel.Email,
                Signals = new V1.Signals { Csat = score },
            });
            reviewed[order.Id] = reviewed.TryGetValue(order.Id, out var earlier) && earlier > at ? earlier : at;
        }

        var outcomes = new List<Outcome>();
        var orderedBeforeExperience = 0;
        foreach (var group in orders.Values.Where(o => o.Purchased is not null).GroupBy(o => o.Customer, StringComparer.Ordinal))
        {
            var byTime = group.OrderBy(o => o.Purchased).ThenBy(o => o.Id, StringComparer.Ordinal).ToList();
            var first = byTime[0];
            var experienced = Latest(first.Delivered, reviewed.TryGetValue(first.Id, out var r) ? r : null);
            if (experienced is not { } end)
            {
                continue;
            }

            // S is read at the same point for every customer, whatever the label: the end of the first order's
            // experience. Who ordered again before that came back before the experience could count: left out.
            var again = byTime.Skip(1).Where(o => o.Purchased > first.Purchased!.Value.AddDays(1)).ToList();
            if (again.Any(o => o.Purchased <= end))
            {
                orderedBeforeExperience++;
                continue;
            }

            outcomes.Add(new Outcome(group.Key, end, again.Count > 0));
        }

        var counts = new OlistCounts(
            orderRows, withoutCustomer, skipped, inconsistent, deliveries, reviewRows, withoutOrder,
            orders.Values.Select(o => o.Customer).Distinct(StringComparer.Ordinal).Count(),
            outcomes.Count, outcomes.Count(o => o.Label), orderedBeforeExperience);
        return (events, outcomes, counts);
    }

    private sealed record Order(string Id, string Customer, DateTime? Purchased, DateTime? Delivered);

    private static V1.InteractionEvent Delivery(string eventId, string customer, DateTime at, V1.Promise promise) => new()
    {
        EventId = eventId,
        CustomerId = customer,
        OccurredAt = Timestamp.FromDateTime(at),
        Kind = V1.EventKind.Delivery,
        Channel = V1.Channel.Delivery,
        Signals = new V1.Signals { Promise = promise },
    };

    /// <summary>The end of the Brasília day an instant falls on, in UTC.</summary>
    private static DateTime EndOfLocalDay(DateTime utc) => DateTime.SpecifyKind((utc + Brasilia).Date.AddDays(1) - Brasilia, DateTimeKind.Utc);

    private static DateTime? Latest(DateTime? a, DateTime? b) => a is null ? b : b is null ? a : (a > b ? a : b);

    private static DateTime? Time(string directory, string file, string column, string text)
    {
        if (text.Length == 0)
        {
            return null;
        }

        if (!DateTime.TryParseExact(text, ["yyyy-MM-dd HH:mm:ss", "yyyy-MM-dd HH:mm", "yyyy-MM-dd"], CultureInfo.InvariantCulture, DateTimeStyles.None, out var local))
        {
            throw new CalibrationInputException($"{Path.Combine(directory, file)}: {column}: not a 'YYYY-MM-DD HH:MM:SS' time: '{text}'");
        }

        return DateTime.SpecifyKind(local - Brasilia, DateTimeKind.Utc);
    }

    private static IEnumerable<string[]> Rows(string directory, string file, params string[] columns)
    {
        var path = Path.Combine(directory, file);
        if (!File.Exists(path))
        {
            throw new CalibrationInputException($"{path}: not found (--olist takes the folder holding {Orders}, {Reviews} and {Customers})");
        }

        using var csv = CsvReader.FromFile(path, CsvReaderOptions.Default with { Separator = ',' });
        csv.ReadHeader();
        var index = new int[columns.Length];
        for (var c = 0; c < columns.Length; c++)
        {
            if (!csv.TryGetFieldIndex(columns[c], out index[c]))
            {
                throw new CalibrationInputException($"{path}: the header has no column '{columns[c]}'");
            }
        }

        while (csv.Read())
        {
            var row = new string[columns.Length];
            for (var c = 0; c < columns.Length; c++)
            {
                row[c] = csv.GetString(index[c]);
            }

            yield return row;
        }
    }
}
