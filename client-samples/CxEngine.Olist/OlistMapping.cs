using System.Globalization;
using CsvHelper;
using Google.Protobuf.WellKnownTypes;
using V1 = CxEngine.Contracts.V1;

namespace CxEngine.Olist;

/// <summary>An Olist order as the mapping needs it.</summary>
public sealed record Order(string OrderId, string CustomerUniqueId, string Status, DateTimeOffset PurchasedAt, DateTimeOffset? DeliveredAt, DateTimeOffset? EstimatedAt);

/// <summary>
/// Olist's orders and reviews as cx.v1 events, keyed by <c>customer_unique_id</c> (Olist gives every order a new
/// <c>customer_id</c>; the unique id is the person):
/// <list type="bullet">
/// <item>an order with an estimated delivery date is an open promise registered at the purchase, promised by the end
/// of the estimated day (Olist gives a date, not a time), kept when it reached the customer (<see cref="Deliveries"/>);</item>
/// <item>a review is a SURVEY event: csat = review_score, at review_creation_date.</item>
/// </list>
/// Olist's times are Brasilia local time; they are read as UTC−03:00.
/// </summary>
public static class OlistMapping
{
    private static readonly TimeSpan Brasilia = TimeSpan.FromHours(-3);

    public static DateTimeOffset? Time(string? text) =>
        string.IsNullOrWhiteSpace(text) ? null
        : new DateTimeOffset(DateTime.ParseExact(text.Trim(), ["yyyy-MM-dd HH:mm:ss", "yyyy-MM-dd HH:mm", "yyyy-MM-dd"], CultureInfo.InvariantCulture, DateTimeStyles.None), Brasilia);

    public static Dictionary<string, string> ReadCustomers(string folder)
    {
        var customers = new Dictionary<string, string>(StringComparer.Ordinal);
        using var csv = CsvReader.FromFile(Path.Combine(folder, "olist_customers_dataset.csv"), new CsvReaderOptions { Separator = ',' });
        while (csv.Read())
        {
            customers[csv.GetString("customer_id")] = csv.GetString("customer_unique_id");
        }

        return customers;
    }

    public static List<Order> ReadOrders(string folder, Dictionary<string, string> customers)
    {
        var orders = new List<Order>();
        using var csv = CsvReader.FromFile(Path.Combine(folder, "olist_orders_dataset.csv"), new CsvReaderOptions { Separator = ',' });
        while (csv.Read())
        {
            if (!customers.TryGetValue(csv.GetString("customer_id"), out var unique) || Time(csv.GetString("order_purchase_timestamp")) is not { } purchased)
            {
                continue;
            }

            orders.Add(new Order(csv.GetString("order_id"), unique, csv.GetString("order_status"), purchased,
                Time(csv.GetString("order_delivered_customer_date")), Time(csv.GetString("order_estimated_delivery_date"))));
        }

        return orders;
    }

    /// <summary>
    /// The DELIVERY events of an order that made a dated promise (none otherwise): at the purchase, the promise is
    /// registered as an open one (promise_id = order_id, made_at = the purchase, so its lead time sets the tolerance);
    /// at the delivery it is kept (or late). A canceled or unavailable order's promise is broken at the end of the
    /// estimated day; one that shows no delivery and no cancellation stays open, and the engine finds it missed.
    /// </summary>
    public static IEnumerable<V1.InteractionEvent> Deliveries(Order order)
    {
        if (order.EstimatedAt is not { } estimated)
        {
            yield break;
        }

        var promisedBy = Timestamp.FromDateTimeOffset(estimated.AddDays(1).AddSeconds(-1));
        var madeAt = Timestamp.FromDateTimeOffset(order.PurchasedAt);
        yield return Delivery($"promise-{order.OrderId}", order, madeAt, new V1.Promise { PromiseId = order.OrderId, PromisedAt = promisedBy, MadeAt = madeAt });

        if (order.DeliveredAt is { } delivered)
        {
            var at = Timestamp.FromDateTimeOffset(delivered);
            yield return Delivery($"order-{order.OrderId}", order, at, new V1.Promise { PromiseId = order.OrderId, PromisedAt = promisedBy, MadeAt = madeAt, FulfilledAt = at });
        }
        else if (order.Status is "canceled" or "unavailable")
        {
            yield return Delivery($"order-{order.OrderId}", order, promisedBy, new V1.Promise { PromiseId = order.OrderId, PromisedAt = promisedBy, MadeAt = madeAt, Broken = true });
        }
    }

    private static V1.InteractionEvent Delivery(string eventId, Order order, Timestamp at, V1.Promise promise) => new()
    {
        EventId = eventId,
        CustomerId = order.CustomerUniqueId,
        OccurredAt = at,
        Kind = V1.EventKind.Delivery,
        Channel = V1.Channel.Delivery,
        Signals = new V1.Signals { Promise = promise },
    };

    /// <summary>The SURVEY events of the reviews of known orders. Olist reuses review ids across orders, so the order is part of the id.</summary>
    public static IEnumerable<V1.InteractionEvent> Reviews(string folder, Dictionary<string, Order> orders)
    {
        using var csv = CsvReader.FromFile(Path.Combine(folder, "olist_order_reviews_dataset.csv"), new CsvReaderOptions { Separator = ',' });
        while (csv.Read())
        {
            if (!orders.TryGetValue(csv.GetString("order_id"), out var order)
                || !int.TryParse(csv.GetString("review_score"), CultureInfo.InvariantCulture, out var score) || score is < 1 or > 5
                || Time(csv.GetString("review_creation_date")) is not { } created)
            {
                continue;
            }

            var reviewId = csv.GetString("review_id");
            yield return new V1.InteractionEvent
            {
                EventId = $"review-{(reviewId.Length > 0 ? reviewId : "none")}-{order.OrderId}",
                CustomerId = order.CustomerUniqueId,
                OccurredAt = Timestamp.FromDateTimeOffset(created),
                Kind = V1.EventKind.Survey,
                Channel = V1.Channel.SelfService,
                Signals = new V1.Signals { Csat = score },
            };
        }
    }
}
