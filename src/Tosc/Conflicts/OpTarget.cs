namespace Tosc.Conflicts;

/// <summary>The parts of one node a log operation writes (at most two: the element and the count).</summary>
internal readonly record struct OpTarget(object First, object? Second = null)
{
    public static readonly OpTarget Whole = new(Slot.All);

    /// <summary>An element added or removed: that element and the count.</summary>
    public static OpTarget Membership(object element) => new(element, Slot.Count);

    public IEnumerable<object> Parts() => Second is null ? [First] : [First, Second];
}
