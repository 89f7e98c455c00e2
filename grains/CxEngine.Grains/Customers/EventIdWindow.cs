namespace CxEngine.Customers;

/// <summary>
/// The bounded set of recently applied event ids, kept in the persisted list (for order and eviction)
/// and a hash set (for lookup) that is rebuilt from the list whenever state is loaded.
/// </summary>
internal sealed class EventIdWindow
{
    private readonly HashSet<string> _ids = new(StringComparer.Ordinal);
    private List<string> _order = [];
    private int _capacity;

    public void Load(List<string> persisted, int capacity)
    {
        _order = persisted;
        _capacity = capacity;
        _ids.Clear();
        foreach (var id in persisted)
        {
            _ids.Add(id);
        }
    }

    public bool Contains(string eventId) => _ids.Contains(eventId);

    public void Add(string eventId)
    {
        if (!_ids.Add(eventId))
        {
            return;
        }

        _order.Add(eventId);
        var excess = _order.Count - _capacity;
        if (excess > 0)
        {
            for (var i = 0; i < excess; i++)
            {
                _ids.Remove(_order[i]);
            }

            _order.RemoveRange(0, excess);
        }
    }
}
