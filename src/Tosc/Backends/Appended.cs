namespace Tosc;

/// <summary>The outcome of a successful append: the new version, and how long the log has grown since the last snapshot.</summary>
/// <param name="Version">The version the appended record produced.</param>
/// <param name="Records">How many records follow the snapshot now, this one included.</param>
/// <param name="Bytes">The size of those records, in bytes.</param>
public readonly record struct Appended(long Version, int Records, long Bytes);
