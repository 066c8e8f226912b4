using Tosc.Serialization;

namespace Tosc.Live;

/// <summary>What every live node carries: its identity, its manager, and walk/dirty bookkeeping.</summary>
internal sealed class NodeHeader
{
    /// <summary>Random and stable across managers and processes; 0 until the node joins a graph.</summary>
    public long Id;

    /// <summary>The manager whose graph holds the node; <see langword="null"/> for a detached node, which behaves as a plain collection.</summary>
    public Manager? Owner;

    /// <summary>The epoch of the last walk that reached this node.</summary>
    public int Mark;

    /// <summary>Changed in the running transaction and not yet committed.</summary>
    public bool Dirty;

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
    Action ReadOp(Changes.OpKind kind, ref GraphReader reader);
}

/// <summary>Finds the live node behind a value the application holds.</summary>
internal static class Nodes
{
    public static ILiveNode? Of(object? value) => value switch
    {
        null => null,
        ILiveNode node => node,
        Castle.DynamicProxy.IProxyTargetAccessor proxy => ObjectNode.Of(proxy),
        _ => null,
    };

    public static void Push<T>(Stack<ILiveNode> pending, T value)
    {
        if (Of(value) is { } node)
            pending.Push(node);
    }
}
