using System.IO.Hashing;
using System.Runtime.InteropServices;

namespace CxEngine.Customers;

/// <summary>
/// The fast path of idempotency: an active customer's latest event ids, as 64-bit XxHash64 values in a ring
/// (8 bytes an id, one vectorised scan). It grows with the customer's events up to its capacity, then forgets
/// the oldest; a retry of an id it no longer holds is still caught by the log's unique key, so forgetting
/// costs a round trip, never a double count. Two different ids collide with probability about n²/2⁶⁵.
/// </summary>
internal sealed class RecentEventIds(int capacity)
{
    private long[] _ring = [];
    private int _count;
    private int _next;

    public static long Hash(string eventId) => (long)XxHash64.HashToUInt64(MemoryMarshal.AsBytes(eventId.AsSpan()));

    public bool Contains(long hash) => _ring.AsSpan(0, _count).Contains(hash);

    public void Add(long hash)
    {
        if (capacity == 0)
        {
            return;
        }

        if (_count == _ring.Length && _ring.Length < capacity)
        {
            Array.Resize(ref _ring, Math.Min(capacity, Math.Max(4, _ring.Length * 2)));
        }

        if (_count < _ring.Length)
        {
            _ring[_count++] = hash;
            return;
        }

        _ring[_next] = hash;
        _next = (_next + 1) % _ring.Length;
    }
}
