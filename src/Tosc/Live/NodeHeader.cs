using Tosc.Serialization;

namespace Tosc.Live;

/// <summary>
/// What every live node carries: its identity, its manager, and walk/dirty bookkeeping. A user object's node is its own
/// header (one object fewer for each of the application's objects); collections hold one.
/// </summary>
internal class NodeHeader
{
    /// <summary>Random and stable across managers and processes; 0 until the node joins a graph.</summary>
    public long Id;

    /// <summary>The manager whose graph holds the node; <see langword="null"/> for a detached node, which behaves as a plain collection.</summary>
    public Manager? Owner;

    /// <summary>The epoch of the last walk that reached this node.</summary>
    public int Mark;

    /// <summary>Changed in the running transaction and not yet committed.</summary>
    public bool Dirty;

    /// <summary>Was removed from where it stood (it or an ancestor): the next write checks that it is still reachable.</summary>
    public bool Suspect;

    /// <summary>Was in a manager's graph and has left it (a refresh no longer found it): writes to it would be stored nowhere.</summary>
    public bool Unlinked;

    /// <summary>Leaves the manager's graph for good.</summary>
    public void Unlink()
    {
        Owner = null;
        Unlinked = true;
    }

    /// <summary>
    /// The manager a write goes through; <see langword="null"/> for a plain (never linked) collection, which changes
    /// like any .NET collection. A node that has left its graph refuses the write instead of changing only locally.
    /// </summary>
    public Manager? OwnerForWrite(ILiveNode node)
    {
        var owner = Owner;
        if (owner is not null && Suspect)
            owner = owner.ConfirmLinked(node) ? owner : null;
        if (owner is null && Unlinked)
            throw new InvalidOperationException(
                $"This {Serialization.TypeNames.Display(node.Instance.GetType().BaseType is { } b && node is ObjectNode ? b : node.Instance.GetType())} is no longer linked to its manager's graph " +
                "(it was removed or replaced, here or by another manager), so a change to it would be stored nowhere. Read it again from the root.");
        return owner;
    }

    public void Join(Manager owner)
    {
        if (Id == 0)
            Id = NodeIds.New();
        Owner = owner;
    }
}

/// <summary>A node of the live graph: a D-collection, a byte array, or a proxy of a user object.</summary>
internal interface ILiveNode
{
    NodeHeader Header { get; }

    /// <summary>The object the application holds (the proxy, for user objects).</summary>
    object Instance { get; }

    /// <summary>Pushes the live nodes held directly by this node (reachability walks).</summary>
    void PushChildren(Stack<ILiveNode> pending);

    /// <summary>Takes the content decoded from a newer stored state, in place.</summary>
    void ReplaceContent(object content);

    /// <summary>
    /// Reads the arguments of one log operation aimed at this node and returns its application, which checks the
    /// position against the content it meets and throws <see cref="ToscDataException"/> when it does not fit.
    /// </summary>
    /// <param name="kind">The operation.</param>
    /// <param name="reader">Positioned at its arguments.</param>
    /// <param name="written">What part of the node the operation writes, for checking a transaction's reads against it.</param>
    Action ReadOp(Changes.OpKind kind, ref GraphReader reader, out Conflicts.OpTarget written);

    /// <summary>Where <paramref name="child"/> stands in this node, as a path step: <c>.Name</c>, <c>[2]</c>, <c>["key"]</c>.</summary>
    string LabelOf(ILiveNode child);

    /// <summary>A part of this node (see <see cref="Conflicts.Slot"/>) as a path step; empty for the node as a whole.</summary>
    string Describe(object slot);

    /// <summary>
    /// What stands at <paramref name="at"/> now (an index, key, member name or element; <see cref="Conflicts.Slot.All"/>
    /// for the whole content; <see cref="Conflicts.Slot.Count"/> for a list's last element): its path step, whether it is
    /// there, and its value (the live one: the caller detaches it). Callers hold the gate.
    /// </summary>
    (string Step, bool Present, object? Value) Inspect(object at);
}

/// <summary>Finds the live node behind a value the application holds.</summary>
internal static class Nodes
{
    public static ILiveNode? Of(object? value) => value switch
    {
        null => null,
        ILiveNode node => node,
        ILiveProxy proxy => proxy.ToscNode,
        _ => null,
    };

    public static void Push<T>(Stack<ILiveNode> pending, T value)
    {
        if (Of(value) is { } node)
            pending.Push(node);
    }
}
