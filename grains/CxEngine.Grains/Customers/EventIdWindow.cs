using System.IO.Hashing;
using System.Runtime.InteropServices;

namespace CxEngine.Customers;

/// <summary>
/// The customer's recent event ids, kept as 64-bit XxHash64 values in a ring inside the persisted state:
/// 8 bytes an id instead of the id itself, searched with one vectorised scan. The ring grows with the
/// customer's events up to the idempotency window, so a customer with a few events costs a few bytes.
/// Two different ids collide with probability about n²/2⁶⁵ (n = the window): far below any storage error.
/// </summary>
internal sealed class EventIdWindow
{
    private CustomerState _state = null!;
    private int _capacity;

    public void Load(CustomerState state, int capacity)
    {
        _state = state;
        _capacity = capacity;
    }

    public static long Hash(string eventId) => (long)XxHash64.HashToUInt64(MemoryMarshal.AsBytes(eventId.AsSpan()));

    public bool Contains(long hash) => _state.RecentEventHashes.AsSpan(0, _state.RecentEventCount).Contains(hash);

    public void Add(long hash)
    {
        var ring = _state.RecentEventHashes;
        if (_state.RecentEventCount == ring.Length && ring.Length < _capacity)
        {
            Array.Resize(ref ring, Math.Min(_capacity, Math.Max(4, ring.Length * 2)));
            _state.RecentEventHashes = ring;
        }

        if (_state.RecentEventCount < ring.Length)
        {
            ring[_state.RecentEventCount++] = hash;
            return;
        }

        ring[_state.RecentEventNext] = hash;
        _state.RecentEventNext = (_state.RecentEventNext + 1) % ring.Length;
    }
}
