namespace CxEngine.Tests.Calibration;

/// <summary>
/// The tests that run a whole search keep a core busy for seconds; they run on their own, after the parallel
/// collections, so they never steal time from the timing-sensitive durability and service tests.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class CalibrationFits
{
    public const string Name = "calibration fits";
}
