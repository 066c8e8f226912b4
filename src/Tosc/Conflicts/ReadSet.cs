using Tosc.Live;

namespace Tosc.Conflicts;

/// <summary>
/// What a transaction read, per node and part. A commit that lost the compare-and-swap checks the records that won
/// against it: none wrote what it read, and the transaction's own operations are replayed on the new state instead of
/// running its body again.
/// </summary>
internal sealed class ReadSet
{
    private readonly Dictionary<long, (ILiveNode Node, HashSet<object> Slots)> _reads = [];

    public bool IsEmpty => _reads.Count == 0;

    public void Add(ILiveNode node, object slot)
    {
        var id = node.Header.Id;
        if (id == 0)
            return; // created in this transaction: no one else can have written it
        if (!_reads.TryGetValue(id, out var entry))
            _reads[id] = entry = (node, []);
        entry.Slots.Add(slot);
    }

    /// <summary>The part of <paramref name="node"/> read here that a write of <paramref name="target"/> changes, if any.</summary>
    public (ILiveNode Node, object Slot)? Collision(long node, OpTarget target)
    {
        if (!_reads.TryGetValue(node, out var entry))
            return null;
        foreach (var read in entry.Slots)
        {
            foreach (var written in target.Parts())
            {
                // Name the element involved: the one written, or the one read when the whole node was replaced.
                if (Slot.Collide(read, written))
                    return (entry.Node, ReferenceEquals(written, Slot.All) ? read : written);
            }
        }
        return null;
    }

    /// <summary>Every part read, by node id.</summary>
    public IEnumerable<(long Node, object Slot)> All()
    {
        foreach (var (id, entry) in _reads)
        {
            foreach (var slot in entry.Slots)
                yield return (id, slot);
        }
    }

    public void Clear() => _reads.Clear();
}
