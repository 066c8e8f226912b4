namespace Tosc.Changes;

/// <summary>What one operation of a log record does to its node (docs/wire-format.md, "Log records").</summary>
internal enum OpKind : byte
{
    /// <summary>A list index, dictionary key or object member takes a value: [index | key | name, value].</summary>
    Set = 1,

    /// <summary>A value is inserted into a list before an index: [index, value].</summary>
    Insert = 2,

    /// <summary>The list element at an index is removed: [index].</summary>
    RemoveAt = 3,

    /// <summary>A dictionary key or set element is removed: [key | element].</summary>
    Remove = 4,

    /// <summary>An element is added to a set: [element].</summary>
    Add = 5,

    /// <summary>The node's whole content is replaced: [content] (list and set: array, dictionary: map, bytes: bin).</summary>
    Content = 6,

    /// <summary>A value is added at the end of a list, wherever that end is when the record is applied: [value]. Since log version 2.</summary>
    Append = 7,

    /// <summary>A counter is incremented: [delta]. Since log version 2.</summary>
    Increment = 8,

    /// <summary>
    /// Aimed at node 0 (no node): the record's committer asks the others to let it commit next, for [holder id (16
    /// bytes), duration in milliseconds]. Readers that do not know it skip it, as they skip any operation on a node
    /// they do not hold. Since log version 2.
    /// </summary>
    Lease = 9,
}
