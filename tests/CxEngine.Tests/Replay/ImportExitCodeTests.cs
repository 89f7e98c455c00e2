using CxEngine.Silo.Tools;
using V1 = CxEngine.Contracts.V1;

namespace CxEngine.Tests.Replay;

/// <summary>What `cx import` tells a script: 0 imported (lines left out reported), 1 nothing taken or --strict, 4 retry.</summary>
public sealed class ImportExitCodeTests
{
    private static ImportSummary Summary(int malformed, long applied = 0, long duplicate = 0, long rejected = 0, long unavailable = 0) => new(
        applied + duplicate + rejected + unavailable,
        [.. Enumerable.Range(1, malformed).Select(i => new MalformedLine(i, "not a JSON object"))],
        new Dictionary<V1.EventStatus, long>
        {
            [V1.EventStatus.Applied] = applied, [V1.EventStatus.Duplicate] = duplicate,
            [V1.EventStatus.Rejected] = rejected, [V1.EventStatus.Unavailable] = unavailable,
        },
        TimeSpan.FromSeconds(1));

    [Theory]
    [InlineData(0, 100, 0, 0, 0, false, 0)] // everything applied
    [InlineData(0, 0, 100, 0, 0, false, 0)] // run again: everything a duplicate
    [InlineData(1, 98, 0, 2, 0, false, 0)]  // real history: a few lines left out, each reported
    [InlineData(1, 98, 0, 2, 0, true, 1)]   // --strict: any line left out fails
    [InlineData(3, 0, 0, 5, 0, false, 1)]   // nothing of the file taken
    [InlineData(0, 90, 0, 0, 10, false, 4)] // still UNAVAILABLE: run it again
    [InlineData(2, 0, 0, 0, 10, true, 4)]   // retrying comes first
    public void TheExitCode_SaysWhatAScriptCanActOn(int malformed, long applied, long duplicate, long rejected, long unavailable, bool strict, int expected) =>
        Assert.Equal(expected, Summary(malformed, applied, duplicate, rejected, unavailable).ExitCode(strict));
}
