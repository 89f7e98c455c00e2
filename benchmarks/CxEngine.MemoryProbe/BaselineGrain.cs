namespace CxEngine.MemoryProbe;

/// <summary>
/// A grain that holds nothing and persists nothing: weighing N of these (--baseline) shows what an
/// Orleans activation itself costs, so the customer figure can be split into Orleans' part and ours.
/// </summary>
[Alias("cx.probe.IBaselineGrain")]
public interface IBaselineGrain : IGrainWithStringKey
{
    [Alias("Touch")]
    Task Touch();
}

public sealed class BaselineGrain : Grain, IBaselineGrain
{
    public Task Touch() => Task.CompletedTask;
}
