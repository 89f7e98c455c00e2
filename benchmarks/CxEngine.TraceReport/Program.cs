using System.Globalization;
using Microsoft.Diagnostics.Tracing;
using Microsoft.Diagnostics.Tracing.Etlx;
using Microsoft.Diagnostics.Tracing.Parsers.Clr;

// cxengine-trace-report TRACE.nettrace [--top N] [--events N] [--type NAME]
// Allocation: the runtime's AllocationTick events (one per ~100 KB allocated, naming the type of the object that
// crossed the mark), summed by type and by the first frame of this project's code or the library that allocated it.
// Collections: each GC's generation, pause (suspension to restart) and bytes promoted.
// --events N divides the totals by N (the events the engine took while the trace ran) to give bytes per event.
// --type NAME adds the stacks (eight frames) that allocated objects of the types whose name contains NAME.
if (args.Length == 0 || args[0] is "-h" or "--help")
{
    Console.WriteLine("cxengine-trace-report TRACE.nettrace [--top N] [--events N] [--type NAME]");
    return args.Length == 0 ? 2 : 0;
}

var path = args[0];
var top = 25;
long events = 0;
string? focus = null;
for (var i = 1; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--top": top = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--events": events = long.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--type": focus = args[++i]; break;
        default: Console.Error.WriteLine($"unknown argument {args[i]}"); return 2;
    }
}

var etlx = TraceLog.CreateFromEventPipeDataFile(path);
using var log = new TraceLog(etlx);
var source = log.Events.GetSource();

var byType = new Dictionary<string, long>();
var bySite = new Dictionary<string, long>();
var byStack = new Dictionary<string, long>();
var focusStacks = new Dictionary<string, long>();
long allocated = 0;
var gcs = new List<(int Gen, double PauseMs, string Reason, long Promoted)>();
double suspendAt = -1;
int pendingGen = -1;
string pendingReason = "";

source.Clr.GCAllocationTick += data =>
{
    var amount = data.AllocationAmount64;
    allocated += amount;
    Add(byType, data.TypeName ?? "?", amount);
    var (site, stack) = Sites(data.CallStack());
    Add(bySite, site, amount);
    Add(byStack, stack, amount);
    if (focus is not null && data.TypeName?.Contains(focus, StringComparison.Ordinal) == true)
    {
        Add(focusStacks, $"{data.TypeName}: {Frames(data.CallStack(), 8)}", amount);
    }
};
// Mark phases of each gen0 collection, per heap: the runtime reports each root kind's marking when it is done, so the
// time since the heap's previous report (or the collection's start) is that phase's time.
var markTime = new Dictionary<string, double>();
var markBytes = new Dictionary<string, long>();
var lastMark = new Dictionary<int, double>();
double gcStartAt = 0;
source.Clr.GCSuspendEEStart += data => suspendAt = data.TimeStampRelativeMSec;
source.Clr.GCMarkWithType += data =>
{
    if (pendingGen != 0)
    {
        return;
    }

    var kind = data.Type switch
    {
        0 => "stacks",
        1 => "finalize queue",
        2 => "handles",
        3 => "older generations (cards)",
        4 => "sized refs",
        5 => "overflow",
        6 => "dependent handles",
        7 => "new finalize queue",
        8 => "steal",
        _ => $"kind {data.Type}",
    };
    var since = lastMark.TryGetValue(data.HeapNum, out var t) ? t : gcStartAt;
    markTime[kind] = markTime.GetValueOrDefault(kind) + (data.TimeStampRelativeMSec - since);
    markBytes[kind] = markBytes.GetValueOrDefault(kind) + data.Promoted;
    lastMark[data.HeapNum] = data.TimeStampRelativeMSec;
};
source.Clr.GCStart += data =>
{
    pendingGen = data.Depth;
    pendingReason = data.Reason.ToString();
    gcStartAt = data.TimeStampRelativeMSec;
    lastMark.Clear();
};
// A collection's heap stats come before the runtime restarts: what it promoted out of the generations it collected
// (a background gen2 collection's stats come later and are not counted: its promotion is the whole live gen2).
long pendingPromoted = 0;
source.Clr.GCHeapStats += data => pendingPromoted = pendingGen switch
{
    0 => data.TotalPromotedSize0,
    1 => data.TotalPromotedSize0 + data.TotalPromotedSize1,
    _ => 0,
};
source.Clr.GCRestartEEStop += data =>
{
    if (suspendAt >= 0 && pendingGen >= 0)
    {
        gcs.Add((pendingGen, data.TimeStampRelativeMSec - suspendAt, pendingReason, pendingPromoted));
    }

    suspendAt = -1;
    pendingGen = -1;
    pendingPromoted = 0;
};
source.Process();

var duration = log.SessionDuration.TotalSeconds;
Console.WriteLine($"trace: {path}, {duration:F1} s");
Console.WriteLine($"allocated (sampled): {allocated / 1048576.0:F0} MB, {allocated / duration / 1048576.0:F1} MB/s"
    + (events > 0 ? $", {allocated / (double)events:F0} bytes per event over {events:N0} events" : ""));
Print("by type", byType);
Print("by allocating site (first frame of CxEngine, else of a library, under the allocation)", bySite);
Print("by stack (the three frames above the allocation, runtime frames skipped)", byStack);
if (focus is not null)
{
    Print($"stacks of types containing '{focus}' (eight frames, runtime included)", focusStacks);
}

Console.WriteLine();
var promoted = gcs.Where(g => g.Gen == 0).Sum(g => g.Promoted);
Console.WriteLine($"collections that stopped the process: {gcs.Count}; promoted out of gen0 by gen0 collections {promoted / 1048576.0:F0} MB"
    + (events > 0 ? $" ({promoted / (double)events:F0} bytes per event)" : ""));
foreach (var gen in gcs.GroupBy(g => g.Gen).OrderBy(g => g.Key))
{
    var pauses = gen.Select(g => g.PauseMs).Order().ToArray();
    Console.WriteLine($"  gen{gen.Key}: {pauses.Length}, pause mean {pauses.Average():F1} ms, p50 {pauses[pauses.Length / 2]:F1}, max {pauses[^1]:F1}, "
        + $"total {pauses.Sum():F0} ms ({pauses.Sum() / 10 / duration:F1} % of the time), promoted per collection {gen.Average(g => g.Promoted) / 1048576.0:F1} MB");
}

var gen0 = gcs.Count(g => g.Gen == 0);
if (gen0 > 0 && markTime.Count > 0)
{
    Console.WriteLine($"  gen0 marking by root kind, per collection (time summed over the heaps, which mark in parallel):");
    foreach (var (kind, ms) in markTime.OrderByDescending(kv => kv.Value))
    {
        Console.WriteLine($"    {kind,-28} {ms / gen0,8:F1} ms  {markBytes[kind] / (double)gen0 / 1048576.0,8:F1} MB marked");
    }
}

return 0;

void Print(string title, Dictionary<string, long> totals)
{
    Console.WriteLine();
    Console.WriteLine($"{title}:");
    foreach (var (key, bytes) in totals.OrderByDescending(kv => kv.Value).Take(top))
    {
        var perEvent = events > 0 ? $"{bytes / (double)events,8:F0} B/event" : "";
        Console.WriteLine($"  {bytes * 100.0 / allocated,5:F1} % {perEvent}  {key}");
    }
}

static void Add(Dictionary<string, long> totals, string key, long amount) =>
    totals[key] = totals.GetValueOrDefault(key) + amount;

static (string Site, string Stack) Sites(TraceCallStack? stack)
{
    string? library = null;
    string? ours = null;
    var frames = new List<string>(3);
    for (var frame = stack; frame is not null; frame = frame.Caller)
    {
        var name = frame.CodeAddress.FullMethodName;
        if (string.IsNullOrEmpty(name))
        {
            continue;
        }

        var runtime = name.StartsWith("System.", StringComparison.Ordinal) || name.StartsWith("Microsoft.Win32", StringComparison.Ordinal);
        if (!runtime && frames.Count < 3)
        {
            frames.Add(Short(name));
        }

        if (name.StartsWith("CxEngine.", StringComparison.Ordinal))
        {
            ours ??= Short(name);
            break;
        }

        if (!runtime)
        {
            library ??= Short(name);
        }
    }

    return (ours ?? library ?? "(runtime only)", frames.Count == 0 ? "(runtime only)" : string.Join(" <- ", frames));
}

static string Frames(TraceCallStack? stack, int count)
{
    var frames = new List<string>(count);
    for (var frame = stack; frame is not null && frames.Count < count; frame = frame.Caller)
    {
        if (!string.IsNullOrEmpty(frame.CodeAddress.FullMethodName))
        {
            frames.Add(Short(frame.CodeAddress.FullMethodName));
        }
    }

    return string.Join(" <- ", frames);
}

static string Short(string name)
{
    var paren = name.IndexOf('(', StringComparison.Ordinal);
    return paren > 0 ? name[..paren] : name;
}
