namespace Tosc;

/// <summary>When a write may replace the stored state: always, or only when the stored version is the expected one.</summary>
public readonly record struct WriteCondition
{
    private WriteCondition(bool isUnconditional, long? expectedVersion)
    {
        IsUnconditional = isUnconditional;
        ExpectedVersion = expectedVersion;
    }

    /// <summary>A write that replaces whatever is stored.</summary>
    public static WriteCondition None { get; } = new(true, null);

    /// <summary>A compare-and-swap: the write lands only when the stored version equals <paramref name="expectedVersion"/> (<see langword="null"/>: only when nothing is stored).</summary>
    public static WriteCondition IfVersion(long? expectedVersion) => new(false, expectedVersion);

    /// <summary><see langword="true"/> for a write that replaces whatever is stored.</summary>
    public bool IsUnconditional { get; }

    /// <summary>The version the store must hold for a conditional write to land; <see langword="null"/>: nothing stored.</summary>
    public long? ExpectedVersion { get; }

    /// <summary>Whether a store at <paramref name="storedVersion"/> lets this write land.</summary>
    public bool Allows(long? storedVersion) => IsUnconditional || storedVersion == ExpectedVersion;
}
