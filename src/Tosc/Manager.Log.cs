using Tosc.Changes;
using Tosc.Conflicts;
using Tosc.Diagnostics;
using Tosc.Live;
using Tosc.Serialization;
using Tosc.Transactions;

namespace Tosc;

/// <summary>
/// Delta commits over a backend's operation log: a commit appends the transaction's operations, a refresh applies the
/// records after the manager's version in place, and every so many records a committing manager writes a snapshot.
/// Backends without a log keep whole-state commits.
/// </summary>
public sealed partial class Manager
{
    // Every live node of this graph by id: what log operations name. Built from the root when the first record is
    // applied after a whole state was decoded (managers that never apply a record never walk for it). It may also
    // hold nodes that have become unreachable (an operation aimed at one changes nothing visible); it is rebuilt when
    // it has grown well past the graph.
    private Dictionary<long, ILiveNode>? _index;
    private int _indexBaseline;
    private bool _fullLoadNeeded;
    private Appended? _compactionDue;
    private bool _snapshotStale;

    /// <summary>Encodes a change as a log operation the moment it is made (delta commits only).</summary>
    internal void RecordOp(Change change)
    {
        if (_ops is { } ops)
            DeepValues.Run(_options.MaxDepth, () => ops.Append(change));
    }

    internal void ForgetOps() => _ops?.Clear();

    internal (int Length, int Count, int Written) MarkOps() => _ops?.Mark() ?? default;

    internal void TruncateOps((int Length, int Count, int Written) mark) => _ops?.TruncateTo(mark);

    /// <summary>Reads what is newer than the manager's state: the log after its version when it can, else the whole state.</summary>
    private async ValueTask<LogSlice> FetchAsync(Type declared, bool async, CancellationToken cancellationToken)
    {
        if (_ops is null)
            return new LogSlice(await _calls.ReadAsync(async, cancellationToken).ConfigureAwait(false), [], afterVersion: null);
        long? after = _loaded && !_fullLoadNeeded && declared == _rootType ? _version : null;
        return await _calls.ReadLogAsync(after, async, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The records the store pushed with its notifications that follow this manager's version without a gap: a
    /// refresh that needs no read. Null when there are none (or the manager cannot apply records now).
    /// </summary>
    private LogSlice? PushedSlice() =>
        _ops is null || !_loaded || _fullLoadNeeded || _version is not { } version ? null : PushedSlice(version);

    /// <summary>The pushed records that follow <paramref name="version"/> one after another; null when none does.</summary>
    private LogSlice? PushedSlice(long version) =>
        _calls.Backend is ToscBackend backend && backend.PushedAfter(version) is { Length: > 0 } records
            ? new LogSlice(null, records, afterVersion: version)
            : null;

    /// <summary>
    /// The records after <paramref name="version"/> that a commit which lost the compare-and-swap is checked against:
    /// those the store pushed when they follow on (they hold at least the commit that won, so each round still learns
    /// of one), else read from the log.
    /// </summary>
    private async ValueTask<LogSlice> RecordsAfterAsync(long? version, bool async, CancellationToken cancellationToken) =>
        (version is { } after ? PushedSlice(after) : null) ?? await _calls.ReadLogAsync(version, async, cancellationToken).ConfigureAwait(false);

    /// <summary>Makes a fetched slice the manager's state; callers hold the exclusive lock.</summary>
    private ChangedEventArgs? Publish(LogSlice slice, Type declared, bool reuse)
    {
        if (slice.Snapshot is not null || slice.AfterVersion is null)
            return Publish(StoredState.FromLog(slice), declared, reuse);
        if (slice.Records.Count == 0)
            return null;
        var old = Version;
        ApplyRecords(slice.Records);
        return AppliedSince(old);
    }

    /// <summary>Applies log records in place, each one whole or not at all as far as decoding goes.</summary>
    private void ApplyRecords(IReadOnlyList<LogRecord> records)
    {
        foreach (var record in records)
        {
            var follows = _version!.Value;
            var ops = DeepValues.Run(_options.MaxDepth, () => LogRecordReader.Read(Unprotect(record.Data), follows, record.CommitId, this, Index));
            lock (Gate)
                Apply(record, ops);
            Interlocked.Increment(ref _structureStamp);
        }
        TrimIndexIfGrown();
    }

    /// <summary>Applies records decoded already (a rebase reads them first); callers hold the gate.</summary>
    private void ApplyDecoded(List<(LogRecord Record, List<RecordOp> Ops)> decoded)
    {
        foreach (var (record, ops) in decoded)
            Apply(record, ops);
        TrimIndexIfGrown();
    }

    /// <summary>One record's operations, in order; callers hold the gate.</summary>
    private void Apply(LogRecord record, List<RecordOp> ops)
    {
        var before = _version;
        List<PathChange>? changes = Describing ? [] : null;
        var paths = changes is null ? null : new Feed.PathFinder(_root);
        try
        {
            foreach (var op in ops)
            {
                if (op.Target is null || (changes is null && op.Target is not Feed.IObservableNode { HasListeners: true }))
                    op.Apply();
                else
                    ApplyObserved(op, paths, changes);
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Half applied: the next read takes the whole state, which puts every node right in place.
            _fullLoadNeeded = true;
            throw e as ToscDataException ?? new ToscDataException($"A log record could not be applied: {e.Message}", e);
        }
        _version = record.Version;
        NoteLease(record, ops);
        if (changes is not null)
            (_applied ??= []).Add(new ChangeSet(record.Version, before, record.CommitId, changes));
        ToscDiagnostics.Refreshes.Add(1);
    }

    /// <summary>The outermost commit of a delta-committing manager: one record appended under the version check.</summary>
    private async ValueTask<long?> AppendAsync(UnitOfWork work, bool async, CancellationToken cancellationToken)
    {
        var baseVersion = work.BaseVersion!.Value;
        var commitId = _lastCommitId = Guid.NewGuid();
        var renewal = TurnRenewal();
        var record = Protect(renewal is { } lease ? _ops!.Build(baseVersion, commitId, _holderId, lease) : _ops!.Build(baseVersion, commitId));
        ToscDiagnostics.StateSize.Record(record.Length);
        // Where the store can check conflicts itself, a commit that others beat lands in the same round trip when
        // none of them wrote what it read.
        var check = _calls.Log!.ChecksConflicts ? ConflictTokens.For(work.Reads, work.Changes) : null;
        var appended = await _calls.TryAppendAsync(record, baseVersion, commitId, check, fence => Protect(OpEncoder.Empty(baseVersion, fence)), async, cancellationToken).ConfigureAwait(false);
        if (appended is not { } done)
            return null;
        CountTurnCommit(renewed: renewal is not null);
        // The nodes the record defines, taken before a catch-up forgets the encoded operations (and may build the
        // index from the root while the transaction's changes, new nodes included, are undone).
        IReadOnlyList<ILiveNode> written = done.PlacedAfter is { Count: 0 } ? _ops.Written : [.. _ops.Written];
        if (done.PlacedAfter is not { Count: 0 })
            CatchUpUnder(work, done.PlacedAfter);
        if (_index is not null) // else the index is built from the root, new nodes included, when it is first needed
        {
            foreach (var node in written)
                _index[node.Header.Id] = node;
        }
        if (_snapshotStale || done.Records >= _options.CompactAfterRecords || done.Bytes >= _options.CompactAfterBytes)
            _compactionDue = done;
        return done.Version;
    }

    /// <summary>
    /// Writes the whole value as the new snapshot when the log has grown past the thresholds. Best effort: a failure
    /// leaves a longer log, which a later commit compacts.
    /// </summary>
    private async ValueTask CompactIfDueAsync(bool async, CancellationToken cancellationToken)
    {
        if (_compactionDue is not { } due || _calls.Log is not { } backend)
            return;
        _compactionDue = null;
        try
        {
            var snapshot = Protect(Encode(_root, _rootType));
            if (async)
                await backend.TryCompactAsync(snapshot, due.Version, cancellationToken).ConfigureAwait(false);
            else
                backend.TryCompact(snapshot, due.Version, cancellationToken);
            _encoder.ReleaseLargeBuffers();
            _snapshotStale = false;
        }
        catch (Exception e) when (e is BackendException or OperationCanceledException)
        {
            ToscLog.CompactionFailed(_logger, e, due.Version);
        }
    }

    /// <summary>
    /// Notes a snapshot protected with a previous key (or mode): the next commit rewrites it, so a key rotation
    /// completes without waiting for the log to fill.
    /// </summary>
    private void CheckSnapshotProtection(StoredState state) =>
        _snapshotStale = _options.Protection is { } protection && !protection.IsCurrent(state.Data.Span);

    private Dictionary<long, ILiveNode> Index => _index ?? BuildIndex();

    /// <summary>A whole state was decoded: the index is built again from the root when a record needs it.</summary>
    private void ForgetIndex()
    {
        _index = null;
        _fullLoadNeeded = false;
    }

    /// <summary>Indexes every node reachable from the root.</summary>
    private Dictionary<long, ILiveNode> BuildIndex()
    {
        _index = CollectNodes();
        _indexBaseline = _index.Count;
        return _index;
    }

    private void TrimIndexIfGrown()
    {
        if (_index is not null && _index.Count > (2 * _indexBaseline) + 1024)
            BuildIndex();
    }
}
