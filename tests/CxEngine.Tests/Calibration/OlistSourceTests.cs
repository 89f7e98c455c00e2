using CxEngine.Calibration.Olist;
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

        var o1 = events.Single(e => e.EventId == "olist-order-o1-delivered");
        Assert.Equal("u1", o1.CustomerId);
        Assert.Equal(V1.EventKind.Delivery, o1.Kind);
        // Brasília is UTC−3; a parcel is due by the end of its estimated day.
        Assert.Equal(new DateTime(2018, 1, 10, 18, 0, 0, DateTimeKind.Utc), o1.OccurredAt.ToDateTime());
        Assert.Equal(new DateTime(2018, 1, 11, 3, 0, 0, DateTimeKind.Utc), o1.Signals.Promise.PromisedAt.ToDateTime());
        Assert.Equal(o1.OccurredAt, o1.Signals.Promise.FulfilledAt);
        var late = events.Single(e => e.EventId == "olist-review-order-o2");
        Assert.Equal(V1.EventKind.Survey, late.Kind);
        Assert.Equal(1, late.Signals.Csat);
        // The canceled order has no delivery; its review still counts. The unknown customer's order and the unknown order's review do not.
        Assert.DoesNotContain(events, e => e.EventId.Contains("o3-delivered", StringComparison.Ordinal) || e.EventId.Contains("o4", StringComparison.Ordinal) || e.EventId.Contains("o99", StringComparison.Ordinal));
        Assert.Contains(events, e => e.EventId == "olist-review-r3-o3" && e.CustomerId == "u2");
        Assert.Equal(new OlistCounts(Orders: 4, OrdersWithoutCustomer: 1, DeliveryEvents: 2, Reviews: 4, ReviewsWithoutOrder: 1, Customers: 2, Outcomes: 2, Returned: 1, ReturnedBeforeExperience: 0), counts);

        // u1 came back after the first order's delivery and review; S is read at the end of that experience.
        var u1 = outcomes.Single(o => o.CustomerId == "u1");
        Assert.True(u1.Label);
        Assert.Equal(new DateTime(2018, 1, 11, 3, 0, 0, DateTimeKind.Utc), u1.Time);
        Assert.False(outcomes.Single(o => o.CustomerId == "u2").Label);
    }

    [Fact]
    public void AMissingFile_IsNamed()
    {
        var ex = Assert.Throws<CxEngine.Calibration.CalibrationInputException>(() => OlistSource.Read(_dir));
        Assert.Contains(OlistSource.Customers, ex.Message);
    }
}
