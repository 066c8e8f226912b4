namespace Tosc;

/// <summary>The outcome of a successful append: the new version, and how long the log has grown since the last snapshot.</summary>
/// <param name="Version">The version the appended record produced.</param>
/// <param name="Records">How many records follow the snapshot now, this one included.</param>
/// <param name="Bytes">The size of those records, in bytes.</param>
public readonly record struct Appended(long Version, int Records, long Bytes)
{
    /// <summary>
    /// The records the store holds between the expected version and this one, oldest first: empty when the record
    /// follows the expected version (always, for a plain append); for a checked append that the store placed after
    /// other commits (see <see cref="AppendCheck"/>), their records; <see langword="null"/> when they are not known
    /// (an outcome settled by reading back, after the log was compacted past them).
    /// </summary>
    public IReadOnlyList<LogRecord>? PlacedAfter { get; init; } = [];
}
