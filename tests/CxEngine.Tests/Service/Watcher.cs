using System.Collections.Concurrent;
using Grpc.Core;
using V1 = CxEngine.Contracts.V1;

namespace CxEngine.Tests.Service;

/// <summary>A recovery desk's WatchActions call, collecting what it receives until it is disconnected.</summary>
internal sealed class Watcher : IAsyncDisposable
{
    private readonly CancellationTokenSource _disconnect = new();
    private readonly Task _reading;

    public Watcher(V1.Recovery.RecoveryClient recovery, V1.WatchActionsRequest request, Metadata? headers = null)
    {
        var call = recovery.WatchActions(request, headers, cancellationToken: _disconnect.Token);
        _reading = Task.Run(async () =>
        {
            using (call)
            {
                try
                {
                    await foreach (var action in call.ResponseStream.ReadAllAsync(_disconnect.Token))
                    {
                        Received.Enqueue(action);
                    }
                }
                catch (RpcException ex) when (ex.StatusCode == StatusCode.Cancelled)
                {
                }
                catch (OperationCanceledException)
                {
                }
            }
        });
    }

    public ConcurrentQueue<V1.RecoveryAction> Received { get; } = new();

    public long LastSequence => Received.IsEmpty ? 0 : Received.Last().Sequence;

    public async Task<IReadOnlyList<V1.RecoveryAction>> WaitForAsync(Func<IReadOnlyCollection<V1.RecoveryAction>, bool> done, string what, int seconds = 20)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!done(Received))
        {
            if (_reading.IsCompleted)
            {
                await _reading;
                Assert.Fail($"the watch ended before {what}");
            }

            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"no {what} within {seconds} s; received {Received.Count}: " +
                    string.Join(", ", Received.Select(a => $"{a.Sequence}:{a.ActionId}:{a.Change}")));
            }

            await Task.Delay(50);
        }

        return [.. Received];
    }

    public async ValueTask DisposeAsync()
    {
        await _disconnect.CancelAsync();
        await _reading;
        _disconnect.Dispose();
    }
}
