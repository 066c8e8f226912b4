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

    /// <summary>
    /// The content of <paramref name="node"/> to enumerate and its count of enumerations, taken together under the
    /// gate (so no change lands between them); the whole node counts as read by a running transaction.
    /// </summary>
    public static (TContent Content, Readers? Readers) Enumerate<TNode, TContent>(TNode node, Func<TNode, (TContent Content, Readers Readers)> current)
        where TNode : ILiveNode
    {
        var owner = node.Header.Owner;
        if (owner is null)
            return (current(node).Content, null);
        lock (owner.Gate)
        {
            owner.NoteRead(node, Conflicts.Slot.All);
            var (content, readers) = current(node);
            return (content, readers.Enter());
        }
    }

    /// <summary>
    /// The content to change in place: a copy (with a count of its own) when an enumeration runs over the current one
    /// or when the node still holds its type's shared empty content. Callers hold the gate (or own a detached node).
    /// </summary>
    public static TContent Writable<TContent>(ref TContent content, ref Readers? readers, TContent sharedEmpty, Func<TContent, TContent> copy)
        where TContent : class
    {
        if (ReferenceEquals(content, sharedEmpty) || readers is { Any: true })
        {
            content = copy(content);
            readers = null;
        }
        return content;
    }
}
