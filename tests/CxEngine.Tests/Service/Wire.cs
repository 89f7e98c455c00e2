using CxEngine.Tests.Scoring;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using V1 = CxEngine.Contracts.V1;

namespace CxEngine.Tests.Service;

/// <summary>Builders for wire events, and a look inside gRPC errors.</summary>
internal static class Wire
{
    public static readonly DateTime T0 = new(2026, 3, 1, 9, 0, 0, DateTimeKind.Utc);

    /// <summary>A contact whose experience value is exactly <paramref name="x"/> (sentiment only).</summary>
    public static V1.InteractionEvent Event(string customerId, double x, string tier = "", DateTime? at = null, string? eventId = null) => new()
    {
        EventId = eventId ?? Ids.Event(),
        CustomerId = customerId,
        OccurredAt = Timestamp.FromDateTime(at ?? T0),
        Channel = V1.Channel.Phone,
        Kind = V1.EventKind.Contact,
        Tier = tier,
        Signals = new V1.Signals { Sentiment = (x / 50) - 1 },
    };

    /// <summary>The scoring event the engine should make of <see cref="Event"/>, for computing expected scores.</summary>
    public static CxEngine.Scoring.ScoringEvent Scoring(V1.InteractionEvent e) =>
        Events.At(e.OccurredAt.ToDateTime(), new CxEngine.Scoring.Signals { Sentiment = e.Signals.Sentiment });

    public static V1.InteractionEvent Awful(string customerId, string tier) => new()
    {
        EventId = Ids.Event(),
        CustomerId = customerId,
        OccurredAt = Timestamp.FromDateTime(T0),
        Channel = V1.Channel.Phone,
        Kind = V1.EventKind.Contact,
        Tier = tier,
        Signals = new V1.Signals
        {
            Resolved = false,
            Effort = 1,
            ConductIssues = { V1.ConductIssue.NoGreeting, V1.ConductIssue.TalkingDown, V1.ConductIssue.Lying },
        },
    };

    public static BadRequest.Types.FieldViolation Violation(RpcException ex)
    {
        var status = ex.GetRpcStatus() ?? throw new InvalidOperationException("no google.rpc.Status in the error");
        var badRequest = status.GetDetail<BadRequest>() ?? throw new InvalidOperationException("no BadRequest detail");
        return Assert.Single(badRequest.FieldViolations);
    }
}
