using System.Collections.Concurrent;

namespace CxEngine.Storage;

/// <summary>
/// Runs asynchronous code on one thread of its own: every await in it resumes on that thread, never on the
/// thread pool. The storage writer runs here. On the pool, each time the writer waited (for work, for a driver)
/// its next step queued behind every grain turn and gRPC read in the pool's queue, so under load the one thread
/// every commit passes through spent most of its time waiting to be scheduled while cores stood idle (measured:
/// the machine 45 % idle with the writer the bottleneck). Blocked here, it is woken by the OS directly.
/// </summary>
internal sealed class DedicatedThread : SynchronizationContext
{
    private readonly BlockingCollection<(SendOrPostCallback Callback, object? State)> _work = [];

    private DedicatedThread()
    {
    }

    /// <summary>Starts <paramref name="body"/> on a new background thread; the task completes as the body does.</summary>
    public static Task Run(string name, Func<Task> body)
    {
        var context = new DedicatedThread();
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            SetSynchronizationContext(context);
            Task task;
            try
            {
                task = body();
            }
            catch (Exception ex)
            {
                task = Task.FromException(ex);
            }

            task.ContinueWith(static (_, state) => ((DedicatedThread)state!)._work.CompleteAdding(), context,
                CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            foreach (var (callback, state) in context._work.GetConsumingEnumerable())
            {
                callback(state);
            }

            done.SetFromTask(task);
        })
        {
            IsBackground = true,
            Name = name,
        };
        thread.Start();
        return done.Task;
    }

    public override void Post(SendOrPostCallback d, object? state)
    {
        if (!_work.TryAdd((d, state)))
        {
            // Only after the body has ended; nothing of it is left to resume.
            ThreadPool.UnsafeQueueUserWorkItem(static s => s.d(s.state), (d, state), preferLocal: false);
        }
    }

    public override void Send(SendOrPostCallback d, object? state) =>
        throw new NotSupportedException("the storage writer's thread takes posted work only");

    public override SynchronizationContext CreateCopy() => this;
}
