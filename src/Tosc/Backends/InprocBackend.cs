namespace Tosc;

/// <summary>
/// Keeps the value in this process's memory: the embedded default, for sharing state between the
/// threads of one process (one Manager per worker over one backend) and for tests.
/// </summary>
/// <remarks>It keeps an operation log beside a snapshot (<see cref="SupportsLog"/>), as the other backends do.</remarks>
public sealed class InprocBackend : ToscBackend
{
    private readonly Lock _gate = new();
    private readonly List<LogRecord> _log = [];
    private readonly List<byte[]?> _writes = []; // each record's write tokens (null: none stored), by position in _log
    private StoredState? _snapshot;
    private long _logBytes;
    private long _lastVersion;

    /// <summary>Creates an empty store. Every write wakes waiting managers at once; nothing needs polling.</summary>
    public InprocBackend()
        : base(pollInterval: TimeSpan.FromSeconds(30))
    {
    }

    /// <inheritdoc/>
    public override bool SupportsLog => true;

    /// <inheritdoc/>
    /// <remarks>Yes: every commit wakes the waiters at once.</remarks>
    public override bool NotifiesChanges => true;

    /// <inheritdoc/>
    public override bool ChecksConflicts => true;

    /// <inheritdoc/>
    protected override ValueTask<StoredState?> ReadCoreAsync(bool async, CancellationToken cancellationToken)
    {
        lock (_gate)
            return new(StoredState.FromLog(Slice(null)));
    }

    /// <inheritdoc/>
    protected override ValueTask<long?> ReadVersionCoreAsync(bool async, CancellationToken cancellationToken)
    {
        lock (_gate)
            return new(Head);
    }

    /// <inheritdoc/>
    protected override ValueTask<long?> WriteCoreAsync(ReadOnlyMemory<byte> data, WriteCondition condition, Guid commitId, bool async, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            ThrowIfDisposed();
            if (!condition.Allows(Head))
                return new((long?)null);
            var version = ++_lastVersion;
            // Copy: the caller may reuse its buffer, and readers must never see it change.
            _snapshot = new StoredState(version, data.ToArray(), commitId);
            _log.Clear();
            _writes.Clear();
            _logBytes = 0;
            return new(version);
        }
    }

    /// <inheritdoc/>
    protected override ValueTask<LogSlice> ReadLogCoreAsync(long? afterVersion, bool async, CancellationToken cancellationToken)
    {
        lock (_gate)
            return new(Slice(afterVersion));
    }

    /// <inheritdoc/>
    protected override ValueTask<Appended?> AppendCoreAsync(ReadOnlyMemory<byte> record, long expectedVersion, Guid commitId, bool async, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            ThrowIfDisposed();
            return new(Head == expectedVersion ? Add(record, commitId, writes: null, placedAfter: []) : null);
        }
    }

    /// <inheritdoc/>
    protected override ValueTask<Appended?> AppendCheckedCoreAsync(ReadOnlyMemory<byte> record, long expectedVersion, Guid commitId, AppendCheck check, bool async, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            ThrowIfDisposed();
            if (Head == expectedVersion)
                return new(Add(record, commitId, check.Writes.ToArray(), placedAfter: []));
            // The records since the expected version, when the log still holds that version (the snapshot's or a record's).
            if (FirstAfter(expectedVersion) is not { } from)
                return new((Appended?)null);
            for (var i = from; i < _log.Count; i++)
            {
                if (check.Collides(_writes[i]))
                    return new((Appended?)null);
            }
            return new(Add(record, commitId, check.Writes.ToArray(), placedAfter: _log[from..]));
        }
    }

    private Appended Add(ReadOnlyMemory<byte> record, Guid commitId, byte[]? writes, List<LogRecord> placedAfter)
    {
        var version = ++_lastVersion;
        // Copy: the caller may reuse its buffer, and readers must never see it change.
        _log.Add(new LogRecord(version, commitId, record.ToArray()));
        _writes.Add(writes);
        _logBytes += record.Length;
        return new Appended(version, _log.Count, _logBytes) { PlacedAfter = placedAfter };
    }

    /// <inheritdoc/>
    protected override ValueTask<bool> CompactCoreAsync(ReadOnlyMemory<byte> snapshot, long version, bool async, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            ThrowIfDisposed();
            var upTo = IndexOf(version);
            if (upTo < 0)
                return new(false); // already compacted past it, or replaced by a whole-state write
            _snapshot = new StoredState(version, snapshot.ToArray(), _log[upTo].CommitId);
            for (var i = 0; i <= upTo; i++)
                _logBytes -= _log[i].Data.Length;
            _log.RemoveRange(0, upTo + 1);
            _writes.RemoveRange(0, upTo + 1);
            return new(true);
        }
    }

    private long? Head => _log.Count > 0 ? _log[^1].Version : _snapshot?.Version;

    /// <summary>
    /// Where the records after <paramref name="version"/> start in the log, when the log reaches back to it (it is the
    /// snapshot's version or a record's); else <see langword="null"/>.
    /// </summary>
    private int? FirstAfter(long version) =>
        version == _snapshot?.Version ? 0 : IndexOf(version) is >= 0 and var at ? at + 1 : null;

    /// <summary>Where the record of <paramref name="version"/> stands in the log, or -1: versions grow along it, so a binary search finds it.</summary>
    private int IndexOf(long version)
    {
        var (low, high) = (0, _log.Count - 1);
        while (low <= high)
        {
            var middle = low + ((high - low) / 2);
            var found = _log[middle].Version;
            if (found == version)
                return middle;
            if (found < version)
                low = middle + 1;
            else
                high = middle - 1;
        }
        return -1;
    }

    private LogSlice Slice(long? afterVersion)
    {
        // The log reaches back to a version when it is the snapshot's or one of the records'.
        if (afterVersion is { } after && FirstAfter(after) is { } from)
            return new LogSlice(null, _log.GetRange(from, _log.Count - from), afterVersion);
        return new LogSlice(_snapshot, [.. _log], afterVersion);
    }
}
