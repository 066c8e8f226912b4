namespace Tosc;

/// <summary>What one change did at one place of the graph.</summary>
public enum PathChangeKind
{
    /// <summary>A member, a dictionary key, a list element or a counter took a new value.</summary>
    Set,

    /// <summary>A list element, a new dictionary key or a set element was added.</summary>
    Insert,

    /// <summary>A list element, a dictionary key or a set element was removed.</summary>
    Remove,

    /// <summary>A collection's (or byte array's) whole content was replaced.</summary>
    Replace,

    /// <summary>A collection was emptied.</summary>
    Clear,
}

/// <summary>One change of a commit, at a path from the root.</summary>
/// <param name="Path">
/// Where, as C# reaches it from the root: <c>Stock["apples"]</c>, <c>Items[2].Limit</c>, <c>Tags{"red"}</c>, <c>Log</c>;
/// empty for the root itself.
/// </param>
/// <param name="Kind">What happened there.</param>
/// <param name="OldValue">The value before (for <see cref="PathChangeKind.Set"/>, <see cref="PathChangeKind.Remove"/>,
/// <see cref="PathChangeKind.Replace"/>, <see cref="PathChangeKind.Clear"/>), detached: plain .NET objects the graph
/// does not share.</param>
/// <param name="NewValue">The value after (for <see cref="PathChangeKind.Set"/>, <see cref="PathChangeKind.Insert"/>,
/// <see cref="PathChangeKind.Replace"/>), detached.</param>
public sealed record PathChange(string Path, PathChangeKind Kind, object? OldValue, object? NewValue)
{
    /// <summary>Whether the change is at <paramref name="prefix"/> or inside it (<c>Stock</c> covers <c>Stock["apples"]</c>, not <c>Stocks</c>).</summary>
    public bool IsUnder(string prefix)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        if (prefix.Length == 0)
            return true;
        return Path.StartsWith(prefix, StringComparison.Ordinal)
            && (Path.Length == prefix.Length || Path[prefix.Length] is '.' or '[' or '{');
    }
}

/// <summary>One commit as the change stream reports it (<see cref="Manager.WatchAsync(long?, CancellationToken)"/>).</summary>
/// <param name="Version">The version the commit produced.</param>
/// <param name="PreviousVersion">The version it followed.</param>
/// <param name="CommitId">The commit's id (as the store keeps it).</param>
/// <param name="Changes">Its changes, in the order the transaction made them.</param>
/// <param name="IsReset">
/// The stream could not give the commits since the version asked for (the log was compacted past it): this item holds
/// the whole state at <paramref name="Version"/> as one <see cref="PathChangeKind.Replace"/> at the root (path ""), and
/// the consumer must start over from it. Never a silent gap.
/// </param>
public sealed record ChangeSet(long Version, long? PreviousVersion, Guid CommitId, IReadOnlyList<PathChange> Changes, bool IsReset = false);
