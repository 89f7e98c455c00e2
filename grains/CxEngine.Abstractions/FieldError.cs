namespace CxEngine;

/// <summary>
/// A request field that is wrong, named by its proto path (<c>signals.csat</c>, <c>tiers[0]</c>), and why; an empty field
/// when the problem is the request as a whole. The domain refuses with this value (the model's rejections, a tier that
/// does not validate) and it travels typed through grain calls to the edge, where one mapper writes what the client
/// reads: gRPC's <c>BadRequest</c> detail, REST's body, the stream result's <c>error</c>.
/// </summary>
[GenerateSerializer, Immutable, Alias("cx.FieldError")]
public readonly record struct FieldError([property: Id(0)] string Field, [property: Id(1)] string Problem)
{
    public override string ToString() => Field.Length == 0 ? Problem : $"{Field}: {Problem}";
}
