using CxEngine.Calibration.Olist;
using Google.Protobuf.WellKnownTypes;
using V1 = CxEngine.Contracts.V1;

namespace CxEngine.Tests.Calibration;

/// <summary>The Olist mapping on a few rows written here in the Kaggle files' schema (the real data is never in the repository).</summary>
public sealed class OlistSourceTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("cx-olist-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private void Write()
    {
        File.WriteAllText(Path.Combine(_dir, OlistSource.Customers), """
            customer_id,customer_unique_id,customer_zip_code_prefix,customer_city,customer_state
            c1,u1,01000,sao paulo,SP
            c2,u1,01000,sao paulo,SP
            c3,u2,20000,rio de janeiro,RJ
            """);
        File.WriteAllText(Path.Combine(_dir, OlistSource.Orders), """
            order_id,customer_id,order_status,order_purchase_timestamp,order_approved_at,order_delivered_carrier_date,order_delivered_customer_date,order_estimated_delivery_date
            o1,c1,delivered,2018-01-02 10:00:00,2018-01-02 10:10:00,2018-01-03 09:00:00,2018-01-10 15:00:00,2018-01-10 00:00:00
            o2,c2,delivered,2018-03-01 10:00:00,,,2018-03-20 12:00:00,2018-03-15 00:00:00
            o3,c3,canceled,2018-02-01 08:00:00,,,,2018-02-20 00:00:00
            o4,c9,delivered,2018-02-01 08:00:00,,,2018-02-05 08:00:00,2018-02-20 00:00:00
            o5,c3,shipped,2018-04-01 08:00:00,,,,2018-04-20 00:00:00
            o6,c3,delivered,2018-05-01 08:00:00,,,2018-04-30 08:00:00,2018-05-20 00:00:00
            """);
        File.WriteAllText(Path.Combine(_dir, OlistSource.Reviews), """
            review_id,order_id,review_score,review_comment_title,review_comment_message,review_creation_date,review_answer_timestamp
            r1,o1,5,,,2018-01-11 00:00:00,2018-01-12 10:00:00
            ,o2,1,,"late, again",2018-03-16 00:00:00,2018-03-16 10:00:00
            r3,o3,2,,,2018-02-22 00:00:00,2018-02-23 10:00:00
            r4,o99,4,,,2018-02-22 00:00:00,2018-02-23 10:00:00
            """);
    }

    [Fact]
    public void Orders_BecomeDeliveriesWithTheirPromise_ReviewsSurveys_OfTheUniqueCustomer_InUtc()
    {
        Write();

        var (events, outcomes, counts) = OlistSource.Read(_dir);

        // An order is a promise registered when it was bought and kept when it was delivered, of the unique customer.
        var promised = events.Single(e => e.EventId == "olist-order-o1-promised");
        Assert.Equal("u1", promised.CustomerId);
        Assert.Equal(V1.EventKind.Delivery, promised.Kind);
        // Brasília is UTC−3; a parcel is due by the end of its estimated day.
        Assert.Equal(new DateTime(2018, 1, 2, 13, 0, 0, DateTimeKind.Utc), promised.OccurredAt.ToDateTime());
        Assert.Equal(new V1.Promise
        {
            PromiseId = "o1",
            MadeAt = promised.OccurredAt,
            PromisedAt = Timestamp.FromDateTime(new DateTime(2018, 1, 11, 3, 0, 0, DateTimeKind.Utc)),
        }, promised.Signals.Promise);
        var kept = events.Single(e => e.EventId == "olist-order-o1-delivered");
        Assert.Equal(new DateTime(2018, 1, 10, 18, 0, 0, DateTimeKind.Utc), kept.OccurredAt.ToDateTime());
        Assert.Equal(kept.OccurredAt, kept.Signals.Promise.FulfilledAt);
        Assert.Equal("o1", kept.Signals.Promise.PromiseId);
        Assert.Equal(promised.Signals.Promise.PromisedAt, kept.Signals.Promise.PromisedAt);
        // Shipped and never delivered: registered only, for the model to apply as missed.
        Assert.Contains(events, e => e.EventId == "olist-order-o5-promised");
        Assert.DoesNotContain(events, e => e.EventId == "olist-order-o5-delivered");
        var late = events.Single(e => e.EventId == "olist-review-order-o2");
        Assert.Equal(V1.EventKind.Survey, late.Kind);
        Assert.Equal(1, late.Signals.Csat);
        // Canceled: no promise, but its review counts. Delivered before bought: left out. Unknown customer, unknown order: left out.
        Assert.DoesNotContain(events, e => e.EventId.Contains("order-o3", StringComparison.Ordinal) || e.EventId.Contains("o4", StringComparison.Ordinal)
            || e.EventId.Contains("o6", StringComparison.Ordinal) || e.EventId.Contains("o99", StringComparison.Ordinal));
        Assert.Contains(events, e => e.EventId == "olist-review-r3-o3" && e.CustomerId == "u2");
        Assert.Equal(new OlistCounts(Orders: 6, OrdersWithoutCustomer: 1, CanceledOrUnavailable: 1, Inconsistent: 1, DeliveryEvents: 2, Reviews: 4, ReviewsWithoutOrder: 1,
            Customers: 2, Outcomes: 2, Returned: 2, ReturnedBeforeExperience: 0), counts);

        // Every event is one the engine's own validation accepts.
        var mapper = SyntheticHistory.Mapper();
        Assert.All(events, e => Assert.Null(mapper(e, out _)));

        // u1 came back after the first order's delivery and review; S is read at the end of that experience.
        var u1 = outcomes.Single(o => o.CustomerId == "u1");
        Assert.True(u1.Label);
        Assert.Equal(new DateTime(2018, 1, 11, 3, 0, 0, DateTimeKind.Utc), u1.Time);
        // u2's first order was canceled but reviewed (an experience); the shipped order after it is a return.
        var u2 = outcomes.Single(o => o.CustomerId == "u2");
        Assert.True(u2.Label);
        Assert.Equal(new DateTime(2018, 2, 22, 3, 0, 0, DateTimeKind.Utc), u2.Time);
    }

    [Fact]
    public void AMissingFile_IsNamed()
    {
        var ex = Assert.Throws<CxEngine.Calibration.CalibrationInputException>(() => OlistSource.Read(_dir));
        Assert.Contains(OlistSource.Customers, ex.Message);
    }
}
