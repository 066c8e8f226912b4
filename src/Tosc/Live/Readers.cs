namespace Tosc.Live;

/// <summary>
/// How many enumerations run over one content object of a live collection. A change made while any runs goes to a
/// copy (which gets a count of its own), so an enumeration never sees another thread's change half made, nor throws
/// "Collection was modified": it finishes over the content it started with.
/// </summary>
internal sealed class Readers
{
    public int Count;

    public bool Any => Volatile.Read(ref Count) > 0;

    /// <summary>Counts an enumeration in; callers hold the manager's gate, so no change is half made meanwhile.</summary>
    public Readers Enter()
    {
        Interlocked.Increment(ref Count);
        return this;
    }

    public void Leave() => Interlocked.Decrement(ref Count);
}
