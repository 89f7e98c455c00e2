namespace CxEngine;

/// <summary>
/// The clock CxEngine's own code reads (action deadlines, event-time sanity checks), registered as a keyed
/// <see cref="TimeProvider"/> so tests can move it without moving the clock Orleans' membership runs on.
/// It defaults to the silo's TimeProvider.
/// </summary>
public static class EngineClock
{
    public const string Key = "cx";
}
