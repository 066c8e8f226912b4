namespace Tosc;

/// <summary>What a backend holds: a version, the encoded value, and the id of the write that stored it.</summary>
/// <param name="Version">The version; every successful write yields one that differs from all earlier ones.</param>
/// <param name="Data">The encoded value (see docs/wire-format.md); in a store with an operation log, the snapshot that <see cref="Log"/> follows.</param>
/// <param name="CommitId">The commit id passed to the write that stored this state; <see cref="Guid.Empty"/> when unknown.</param>
public sealed record StoredState(long Version, ReadOnlyMemory<byte> Data, Guid CommitId)
{
    private readonly long? _snapshotVersion;

    /// <summary>
    /// The log records that follow the snapshot in <see cref="Data"/>, oldest first; empty for a whole-state store.
    /// When there are any, <see cref="Version"/> and <see cref="CommitId"/> are the newest record's.
    /// </summary>
    public IReadOnlyList<LogRecord> Log { get; init; } = [];

    /// <summary>The version the snapshot in <see cref="Data"/> shows; <see cref="Version"/> when <see cref="Log"/> is empty.</summary>
    public long SnapshotVersion
    {
        get => _snapshotVersion ?? Version;
        init => _snapshotVersion = value;
    }

    /// <summary>The state <paramref name="slice"/> describes when it starts at a snapshot; <see langword="null"/> for an empty store.</summary>
    /// <exception cref="ArgumentException">The slice continues from a version instead of starting at a snapshot.</exception>
    public static StoredState? FromLog(LogSlice slice)
    {
        ArgumentNullException.ThrowIfNull(slice);
        if (slice.Snapshot is not { } snapshot)
        {
            if (slice.Records.Count > 0)
                throw new ArgumentException("The slice continues from a version; only a slice that starts at a snapshot is a whole state.", nameof(slice));
            return null;
        }
        if (slice.Records.Count == 0)
            return snapshot;
        return new StoredState(slice.Version!.Value, snapshot.Data, slice.CommitId!.Value)
        {
            Log = slice.Records,
            SnapshotVersion = snapshot.Version,
        };
    }
}
