namespace Tosc.Conflicts;

/// <summary>
/// What part of a node a transaction read or a log operation wrote. Besides a member name, dictionary key, set element
/// or list index (the value itself, compared with Equals), three parts cover the node as a whole.
/// </summary>
internal static class Slot
{
    /// <summary>Everything in the node: an enumeration reads it, a whole-content replacement writes it.</summary>
    public static readonly object All = new Part("All");

    /// <summary>How many elements the node holds: <c>Count</c> reads it; adding or removing an element writes it.</summary>
    public static readonly object Count = new Part("Count");

    /// <summary>
    /// Which element stands at which list index: an indexed read or write depends on it; an insert or removal before
    /// the end shifts it (and changes the count). An append changes only the count.
    /// </summary>
    public static readonly object Positions = new Part("Positions");

    /// <summary>Whether a write to <paramref name="written"/> changes what a read of <paramref name="read"/> saw.</summary>
    public static bool Collide(object read, object written)
    {
        if (ReferenceEquals(read, All) || ReferenceEquals(written, All))
            return true;
        if (ReferenceEquals(written, Positions))
            return ReferenceEquals(read, Positions) || ReferenceEquals(read, Count);
        return Equals(read, written);
    }

    /// <summary>A part as a path step: the count as <c>.Count</c>, the node as a whole as nothing, an element by <paramref name="element"/>.</summary>
    public static string Step(object slot, Func<object, string> element) =>
        ReferenceEquals(slot, Count) ? ".Count" : ReferenceEquals(slot, All) || ReferenceEquals(slot, Positions) ? "" : element(slot);

    private sealed class Part(string name)
    {
        public override string ToString() => name;
    }
}
