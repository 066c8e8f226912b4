namespace Tosc.Conflicts;

/// <summary>The parts of one node a log operation writes (at most two: the element and the count).</summary>
internal readonly record struct OpTarget(object First, object? Second = null)
{
    public static readonly OpTarget Whole = new(Slot.All) { Change = PathChangeKind.Replace };

    /// <summary>What the operation does, as the change feed reports it.</summary>
    public PathChangeKind Change { get; init; } = PathChangeKind.Set;

    /// <summary>Where in the node, as <see cref="Live.ILiveNode.Inspect"/> takes it: an index, key, member name or element; <see cref="Slot.Count"/> for the end of a list.</summary>
    public object? At { get; init; }

    /// <summary>An element added or removed: that element and the count.</summary>
    public static OpTarget Membership(object element, PathChangeKind change) => new(element, Slot.Count) { Change = change, At = element };

    public IEnumerable<object> Parts() => Second is null ? [First] : [First, Second];
}
