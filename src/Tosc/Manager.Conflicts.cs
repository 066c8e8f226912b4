using Tosc.Changes;
using Tosc.Conflicts;
using Tosc.Diagnostics;
using Tosc.Live;
using Tosc.Serialization;
using Tosc.Transactions;

namespace Tosc;

/// <summary>
/// Conflicts only where data collides: a transaction notes what it reads; when its append loses the compare-and-swap,
/// the records that won are checked against those reads. None collides: its own changes are replayed on the new state
/// and appended again, and the body is not run again. One collides: a conflict, naming where.
/// </summary>
public sealed partial class Manager
{
    // Rebases of one commit before it asks for the next turn with a lease, as a Run does after conflicts: under
    // sustained contention a rebased append can keep meeting newer ones.
    private const int RebasesBeforeLease = 3;

    // How many managers of the process run an explicit transaction: while none does, a read of a live object checks
    // only this (one load from a fixed address), not its manager's own flag behind two references.
    private static int s_tracking;

    // Set while an explicit transaction runs: reads outside one cost this one field read.
    private volatile bool _tracking;

    // The log a commit read and found a collision in, from its base version on: the conflict's refresh applies it
    // instead of reading it again (one round trip less per conflict). Set and taken under the exclusive lock.
    private LogSlice? _collidedWith;

    /// <summary>Whether any manager of the process runs an explicit transaction; when not, no read needs noting.</summary>
    internal static bool AnyTracksReads => Volatile.Read(ref s_tracking) != 0;

    /// <summary>Whether an explicit transaction runs, so reads must be noted.</summary>
    internal bool TracksReads => _tracking;

    // Both run under the manager's exclusive lock, once per outermost transaction.
    private void StartTracking()
    {
        if (_tracking)
            return;
        _tracking = true;
        Interlocked.Increment(ref s_tracking);
    }

    private void StopTracking()
    {
        if (!_tracking)
            return;
        _tracking = false;
        Interlocked.Decrement(ref s_tracking);
    }

    /// <summary>Notes a read of <paramref name="slot"/> of <paramref name="node"/> by this flow's transaction, if it runs one.</summary>
    internal void NoteRead(ILiveNode node, object slot)
    {
        if (!_tracking || CurrentWork() is not { } work)
            return;
        lock (Gate)
            work.NoteRead(node, slot);
    }

    /// <summary>Notes an indexed read: the element there, and which element stands there.</summary>
    internal void NoteRead(ILiveNode node, object slot, int index)
    {
        if (!_tracking || CurrentWork() is not { } work)
            return;
        lock (Gate)
        {
            work.NoteRead(node, slot);
            work.NoteRead(node, index);
        }
    }

    /// <summary>
    /// Appends the transaction's record; when another commit got there first, rebases it onto what won and appends
    /// again (after a few rounds, behind a lease of its own). Returns <see langword="null"/> for a real conflict (its
    /// paths are on <see cref="UnitOfWork.ConflictingPaths"/>). Every round either lands or learns of a commit that did.
    /// </summary>
    private async ValueTask<long?> AppendRebasingAsync(UnitOfWork work, bool async, CancellationToken cancellationToken)
    {
        _collidedWith = null;
        for (var rebases = 0; ; rebases++)
        {
            await LetLeaseHolderGoFirstAsync(async, cancellationToken).ConfigureAwait(false);
            if (rebases >= RebasesBeforeLease && LeasedToAnother() is null)
                await TakeLeaseUnderAsync(work, async, cancellationToken).ConfigureAwait(false);
            if (await AppendAsync(work, async, cancellationToken).ConfigureAwait(false) is { } version)
                return version;
            var slice = await RecordsAfterAsync(work.BaseVersion, async, cancellationToken).ConfigureAwait(false);
            if (!TryRebase(work, slice))
            {
                _collidedWith = slice;
                return null;
            }
        }
    }

    /// <summary>
    /// Appends a lease record right after the transaction's base version; the transaction then follows the lease,
    /// which changes nothing it read or wrote.
    /// </summary>
    private async ValueTask TakeLeaseUnderAsync(UnitOfWork work, bool async, CancellationToken cancellationToken)
    {
        if (await TryAppendLeaseAsync(work.BaseVersion!.Value, async, cancellationToken).ConfigureAwait(false))
            work.Follow(_version!.Value);
        // Else someone else committed: the append below fails and the rebase sees what.
    }

    /// <summary>
    /// Puts the transaction on top of the records in <paramref name="slice"/>, if none of them wrote what it read:
    /// undoes its changes, applies the records, redoes its changes on the result and encodes them anew.
    /// </summary>
    private bool TryRebase(UnitOfWork work, LogSlice slice)
    {
        if (!Reaches(work, slice))
            return false;
        lock (Gate)
        {
            // Back to the state the transaction started from, so the records meet the nodes they were made against.
            work.UndoForRebase();
            if (DecodeUnlessCollides(work, slice) is not { } decoded)
                return false;
            Advance(decoded);
            work.RedoOn(_version!.Value);
        }
        Interlocked.Increment(ref _structureStamp);
        ToscDiagnostics.Rebases.Add(1);
        return true;
    }

    /// <summary>
    /// The store put the transaction's record after <paramref name="placedAfter"/>, records that wrote nothing it read
    /// (a checked append): brings the graph to them under the transaction's changes, which stay as they are. Callers
    /// hold the exclusive lock.
    /// </summary>
    private void CatchUpUnder(UnitOfWork work, IReadOnlyList<LogRecord>? placedAfter)
    {
        if (placedAfter is null)
        {
            // Settled by reading back after a compaction: what lies under the commit is unknown here. It is stored;
            // the caller hears that the outcome is unknown, and the next read takes the whole state.
            _fullLoadNeeded = true;
            throw new CommitOutcomeUnknownException(
                "The commit was stored after other commits that the log no longer holds (its reply was lost, then the log was compacted); read the value again to see it.", null);
        }
        lock (Gate)
        {
            work.UndoForRebase();
            // The store checked the tokens; the records are applied whatever they wrote, as the commit is already stored after them.
            Advance(Decode(work.BaseVersion!.Value, placedAfter));
            work.RedoOn(_version!.Value, encode: false);
        }
        Interlocked.Increment(ref _structureStamp);
        ToscDiagnostics.Rebases.Add(1);
    }

    /// <summary>Whether a transaction that only read can still commit: nothing stored since its start wrote what it read.</summary>
    private async ValueTask<bool> ReadsStillHoldAsync(UnitOfWork work, bool async, CancellationToken cancellationToken)
    {
        if (_ops is null || work.BaseVersion is null)
            return false;
        var slice = await RecordsAfterAsync(work.BaseVersion, async, cancellationToken).ConfigureAwait(false);
        if (!Reaches(work, slice))
            return false;
        lock (Gate)
        {
            if (DecodeUnlessCollides(work, slice) is not { } decoded)
                return false;
            // Read already: applied here, so the manager shows the version its transaction committed at.
            Advance(decoded);
        }
        Interlocked.Increment(ref _structureStamp);
        return true;
    }

    /// <summary>Applies decoded records and leaves a Changed event for when the transaction ends; callers hold the gate.</summary>
    private void Advance(List<(LogRecord Record, List<RecordOp> Ops)> decoded)
    {
        var old = _version;
        ApplyDecoded(decoded);
        var applied = AppliedSince(old);
        _pendingChanged = _pendingChanged is { } earlier
            ? new ChangedEventArgs(earlier.OldVersion, applied.NewVersion, [.. earlier.Changes, .. applied.Changes], applied.CommitId ?? earlier.CommitId)
            : applied;
    }

    // Records, not a snapshot: a snapshot means the log no longer reaches back to the transaction's start, so what
    // changed since is unknown, and that is a conflict (the rerun reads the new state).
    private static bool Reaches(UnitOfWork work, LogSlice slice) =>
        slice.Snapshot is null && slice.AfterVersion == work.BaseVersion && slice.Records.Count > 0;

    /// <summary>
    /// Decodes the records against the state the transaction started from (callers hold the gate, and the
    /// transaction's changes are undone). Returns them when none wrote what the transaction read; otherwise
    /// <see langword="null"/>, with where they collided on <see cref="UnitOfWork.ConflictingPaths"/>.
    /// </summary>
    private List<(LogRecord Record, List<RecordOp> Ops)>? DecodeUnlessCollides(UnitOfWork work, LogSlice slice)
    {
        var decoded = Decode(work.BaseVersion!.Value, slice.Records);
        var collisions = new List<(ILiveNode Node, object Slot)>();
        foreach (var (_, ops) in decoded)
        {
            foreach (var op in ops)
            {
                if (work.Reads.Collision(op.Node, op.Written) is { } collision && !collisions.Contains(collision))
                    collisions.Add(collision);
            }
        }
        if (collisions.Count == 0)
            return decoded;
        work.ConflictingPaths = Paths.Describe(_root, collisions);
        return null;
    }

    /// <summary>Decodes records that follow <paramref name="baseVersion"/> in the store, against the graph at that version.</summary>
    private List<(LogRecord Record, List<RecordOp> Ops)> Decode(long baseVersion, IReadOnlyList<LogRecord> records)
    {
        var decoded = new List<(LogRecord Record, List<RecordOp> Ops)>(records.Count);
        var expected = baseVersion;
        foreach (var record in records)
        {
            var follows = expected;
            decoded.Add((record, DeepValues.Run(_options.MaxDepth, () => LogRecordReader.Read(Unprotect(record.Data), follows, record.CommitId, this, Index))));
            expected = record.Version;
        }
        return decoded;
    }
}
