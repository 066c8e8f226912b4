namespace Tosc;

/// <summary>
/// What <see cref="ToscBackend.ReadLog"/> returns: the log records after a version, preceded by the snapshot when the
/// log no longer reaches back that far.
/// </summary>
public sealed class LogSlice
{
    /// <summary>Creates a slice.</summary>
    /// <param name="snapshot">The snapshot the records follow; <see langword="null"/> when they follow the version that was asked for.</param>
    /// <param name="records">The records, oldest first; each one's version follows the one before.</param>
    /// <param name="afterVersion">The version that was asked for.</param>
    public LogSlice(StoredState? snapshot, IReadOnlyList<LogRecord> records, long? afterVersion)
    {
        ArgumentNullException.ThrowIfNull(records);
        Snapshot = snapshot;
        Records = records;
        AfterVersion = afterVersion;
        Version = records.Count > 0 ? records[^1].Version : snapshot?.Version ?? afterVersion;
    }

    /// <summary>
    /// The snapshot the records follow, or <see langword="null"/> when the records continue from the version asked for
    /// (which is then still current when <see cref="Records"/> is empty).
    /// </summary>
    public StoredState? Snapshot { get; }

    /// <summary>The version that was asked for.</summary>
    public long? AfterVersion { get; }

    /// <summary>The records after the snapshot or after the version asked for, oldest first.</summary>
    public IReadOnlyList<LogRecord> Records { get; }

    /// <summary>The store's version: the last record's, else the snapshot's, else the version asked for.</summary>
    public long? Version { get; }

    /// <summary>The commit id of the newest record, else of the snapshot; <see langword="null"/> when the slice holds neither.</summary>
    public Guid? CommitId => Records.Count > 0 ? Records[^1].CommitId : Snapshot?.CommitId;
}
