using System.Threading.Channels;
using CxEngine.Customers;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CxEngine.Recovery;

/// <summary>
/// This silo's live view of the action log. It follows the log in the database (at once when the log
/// writer on this silo appended, otherwise every <see cref="RecoveryOptions.FeedPollInterval"/>), in
/// sequence order, and hands each entry to every subscribed watcher. It never waits for a watcher: one
/// whose buffer is full is cut off and goes back to reading the log, so slow watchers cost neither
/// ingest speed nor unbounded memory. (<see cref="Storage.RetentionSweeper"/> trims the log.)
/// </summary>
public sealed partial class ActionFeed : ILifecycleParticipant<ISiloLifecycle>, IDisposable
{
    private readonly RecoveryStore _store;
    private readonly ILogger<ActionFeed> _logger;

    public ActionFeed(RecoveryStore store, IOptions<EngineOptions> options, EngineMetrics metrics, ILogger<ActionFeed> logger)
    {
        _store = store;
        _logger = logger;
        _options = options.Value.Recovery;
        metrics.ObserveWatchers(() => Watchers);
    }

    private readonly RecoveryOptions _options;
    private readonly Lock _lock = new();
    private readonly List<Subscription> _subscribers = [];
    private readonly SemaphoreSlim _wake = new(0);
    private int _woken;
    private readonly CancellationTokenSource _stopping = new();
    private Task _loop = Task.CompletedTask;
    private long _head;

    /// <summary>The sequence of the newest entry handed to watchers.</summary>
    public long Head => Interlocked.Read(ref _head);

    /// <summary>WatchActions calls subscribed (the cx.watchers gauge); the engine's own subscribers, such as webhook delivery, are not counted.</summary>
    public int Watchers
    {
        get
        {
            lock (_lock)
            {
                return _subscribers.Count(s => s.IsWatcher);
            }
        }
    }

    /// <summary>Live entries from now on. The reader completes if the watcher falls too far behind.</summary>
    public Subscription Subscribe(bool watcher = true)
    {
        var subscription = new Subscription(this, _options.WatcherBuffer) { IsWatcher = watcher };
        lock (_lock)
        {
            _subscribers.Add(subscription);
        }

        return subscription;
    }

    /// <summary>Something was appended on this silo: look now rather than at the next poll.</summary>
    public void Wake()
    {
        // Once is enough until the loop looks. Not by catching SemaphoreFullException: every commit with an
        // action calls this, and the exceptions cost 100-200 throws a second under load (measured).
        if (Interlocked.Exchange(ref _woken, 1) == 0)
        {
            _wake.Release();
        }
    }

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(ActionFeed), ServiceLifecycleStage.Active, StartAsync, StopAsync);

    private async Task StartAsync(CancellationToken cancellationToken)
    {
        Interlocked.Exchange(ref _head, await _store.MaxSequenceAsync(cancellationToken));
        _loop = FollowAsync(_stopping.Token);
    }

    private async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        await _loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        lock (_lock)
        {
            foreach (var subscriber in _subscribers)
            {
                subscriber.Writer.TryComplete();
            }
        }
    }

    private async Task FollowAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                if (HasSubscribers)
                {
                    IReadOnlyList<RecoveryActionRecord> page;
                    do
                    {
                        page = await _store.ReadLogAsync(Head, 500, cancellationToken);
                        foreach (var entry in page)
                        {
                            Publish(entry);
                        }
                    }
                    while (page.Count == 500);
                }
                else
                {
                    // Nobody to hand entries to: move the head without reading them (a read and a deserialisation per
                    // action change otherwise, measured on ingest). A watcher that subscribes meanwhile sees a jump in
                    // the live sequence and fills it from the log, as after any cut-off.
                    AdvanceHead(await _store.MaxSequenceAsync(cancellationToken));
                }

            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogFollowFailed(_logger, ex);
            }

            try
            {
                await _wake.WaitAsync(_options.FeedPollInterval, cancellationToken);

                // From here a wake-up signals again: one that arrives during the next read is not lost.
                Interlocked.Exchange(ref _woken, 0);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private bool HasSubscribers
    {
        get
        {
            lock (_lock)
            {
                return _subscribers.Count > 0;
            }
        }
    }

    private void AdvanceHead(long newest)
    {
        lock (_lock)
        {
            if (newest > _head)
            {
                Interlocked.Exchange(ref _head, newest);
            }
        }
    }

    private void Publish(RecoveryActionRecord entry)
    {
        lock (_lock)
        {
            for (var i = _subscribers.Count - 1; i >= 0; i--)
            {
                var subscriber = _subscribers[i];
                if (!subscriber.Writer.TryWrite(entry))
                {
                    // Full: cut it off; it catches up from the log.
                    subscriber.Writer.TryComplete();
                    _subscribers.RemoveAt(i);
                }
            }

            Interlocked.Exchange(ref _head, entry.Sequence);
        }
    }

    private void Unsubscribe(Subscription subscription)
    {
        lock (_lock)
        {
            _subscribers.Remove(subscription);
        }
    }

    public void Dispose()
    {
        _stopping.Dispose();
        _wake.Dispose();
    }

    public sealed class Subscription : IDisposable
    {
        private readonly ActionFeed _feed;
        private readonly Channel<RecoveryActionRecord> _channel;

        internal Subscription(ActionFeed feed, int capacity)
        {
            _feed = feed;
            _channel = Channel.CreateBounded<RecoveryActionRecord>(new BoundedChannelOptions(capacity)
            {
                SingleReader = true,
                SingleWriter = true,
                FullMode = BoundedChannelFullMode.Wait,
            });
        }

        public ChannelReader<RecoveryActionRecord> Reader => _channel.Reader;

        internal bool IsWatcher { get; init; }

        internal ChannelWriter<RecoveryActionRecord> Writer => _channel.Writer;

        public void Dispose()
        {
            _feed.Unsubscribe(this);
            _channel.Writer.TryComplete();
        }
    }

    [LoggerMessage(EventId = 6001, Level = LogLevel.Warning, Message = "Following the action log failed; will retry")]
    private static partial void LogFollowFailed(ILogger logger, Exception exception);
}
