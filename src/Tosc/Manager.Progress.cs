using System.Diagnostics;
using Tosc.Changes;
using Tosc.Diagnostics;

namespace Tosc;

/// <summary>
/// Guaranteed progress under contention. A <see cref="Run(Action, int?, TimeSpan?)"/> whose body conflicted twice asks
/// for the next turn: it appends a lease record (an operation other readers skip), then runs its body on the state the
/// lease was taken at, and its commit ends the lease. Other managers that see a lease wait (up to its duration) before
/// running a body or appending, so the holder's commit meets no competition from them. The lease only orders Tosc's own
/// managers: correctness stays with the compare-and-swap, so a holder that outlives its lease (or a writer that ignores
/// it) at worst conflicts as before, and a lease that is never ended expires.
/// </summary>
public sealed partial class Manager
{
    // Conflicts of one Run before it asks for the next turn: the first rerun is usually enough (it reads the new
    // state); a second conflict means others keep winning the race.
    private const int ConflictsBeforeLease = 2;

    // Long enough for a body and one commit on a slow backend; a holder that dies makes others wait this long once.
    private static readonly TimeSpan LeaseDuration = TimeSpan.FromSeconds(2);

    private readonly Guid _holderId = Guid.NewGuid();

    // The lease in the newest record applied, if it held one; guarded by the gate.
    private Lease? _lease;

    /// <summary>
    /// Before a body runs: waits while another manager's lease holds the store, then, after enough conflicts, takes
    /// the lease itself. Managers without a log never lease.
    /// </summary>
    private async ValueTask AwaitTurnAsync(int conflicts, bool async, CancellationToken cancellationToken)
    {
        if (_ops is null || !_loaded)
            return;
        while (true)
        {
            await WaitOutLeaseAsync(async, cancellationToken).ConfigureAwait(false);
            if (conflicts < ConflictsBeforeLease || await TryTakeLeaseAsync(async, cancellationToken).ConfigureAwait(false))
                return;
        }
    }

    /// <summary>Waits until no lease of another manager holds the version this manager shows, refreshing as the store moves.</summary>
    private async ValueTask WaitOutLeaseAsync(bool async, CancellationToken cancellationToken)
    {
        while (LeasedToAnother() is { } lease)
        {
            var left = lease.Duration - Stopwatch.GetElapsedTime(lease.SeenAt);
            if (left > TimeSpan.Zero)
            {
                ToscDiagnostics.LeaseWaits.Add(1);
                await WaitForChangeAsync(lease.Version, left, async, cancellationToken).ConfigureAwait(false);
            }
            await CatchUpAsync(async, cancellationToken).ConfigureAwait(false);
            lock (Gate)
            {
                if (ReferenceEquals(_lease, lease) && Stopwatch.GetElapsedTime(lease.SeenAt) >= lease.Duration)
                    _lease = null; // expired: its holder died or took too long
            }
        }
    }

    /// <summary>Appends a lease record at the version this manager shows; false when another commit got there first.</summary>
    private async ValueTask<bool> TryTakeLeaseAsync(bool async, CancellationToken cancellationToken)
    {
        using (await EnterExclusiveAsync(async, cancellationToken).ConfigureAwait(false))
        {
            if (_version is { } version && LeasedToAnother() is null && await TryAppendLeaseAsync(version, async, cancellationToken).ConfigureAwait(false))
                return true;
        }
        // Another commit (or lease) won: see it, then look again.
        await CatchUpAsync(async, cancellationToken).ConfigureAwait(false);
        return false;
    }

    /// <summary>
    /// Appends a lease record at <paramref name="version"/> (the manager's own state must be at that version, with no
    /// change of this manager's applied on top); the manager then shows the lease's version.
    /// </summary>
    private async ValueTask<bool> TryAppendLeaseAsync(long version, bool async, CancellationToken cancellationToken)
    {
        var commitId = Guid.NewGuid();
        var record = Protect(OpEncoder.Lease(version, commitId, _holderId, LeaseDuration));
        if (await _calls.TryAppendAsync(record, version, commitId, check: null, fence => Protect(OpEncoder.Empty(version, fence)), async, cancellationToken).ConfigureAwait(false) is not { } done)
            return false;
        lock (Gate)
        {
            _version = done.Version;
            _lease = new Lease(_holderId, done.Version, LeaseDuration, Stopwatch.GetTimestamp());
        }
        ToscDiagnostics.Leases.Add(1);
        return true;
    }

    /// <summary>
    /// Inside a commit about to append (the transaction holds the manager): waits while the store's newest record is
    /// another manager's lease, so a rebased or first append does not take the holder's turn. The state is not
    /// applied here; the append that follows finds out what changed.
    /// </summary>
    private async ValueTask LetLeaseHolderGoFirstAsync(bool async, CancellationToken cancellationToken)
    {
        if (LeasedToAnother() is not { } lease)
            return;
        var left = lease.Duration - Stopwatch.GetElapsedTime(lease.SeenAt);
        if (left <= TimeSpan.Zero)
            return;
        ToscDiagnostics.LeaseWaits.Add(1);
        await WaitForChangeAsync(lease.Version, left, async, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Notes the lease a record holds (or that it ends one); callers hold the gate.</summary>
    private void NoteLease(LogRecord record, List<RecordOp> ops)
    {
        _lease = null;
        foreach (var op in ops)
        {
            if (op.Lease is { } lease)
                _lease = new Lease(lease.Holder, record.Version, lease.Duration, Stopwatch.GetTimestamp());
        }
    }

    private Lease? LeasedToAnother()
    {
        lock (Gate)
            return _lease is { } lease && lease.Holder != _holderId && lease.Version == _version ? lease : null;
    }

    /// <summary>Applies what is newer than this manager's state (as <see cref="Refresh()"/> does, without a type check).</summary>
    private async ValueTask CatchUpAsync(bool async, CancellationToken cancellationToken)
    {
        ChangedEventArgs? changed;
        using (await EnterExclusiveAsync(async, cancellationToken).ConfigureAwait(false))
            changed = Publish(await FetchAsync(_rootType, async, cancellationToken).ConfigureAwait(false), _rootType, reuse: true);
        RaiseChanged(changed);
    }

    /// <summary>
    /// Waits (up to <paramref name="timeout"/>) for the store to move past <paramref name="known"/>. Only a wait: a store
    /// briefly out of reach (a restart) ends it early instead of failing the commit or the body behind it, whose own
    /// calls then meet the store through the core's retried reads and settled commits.
    /// </summary>
    private async ValueTask WaitForChangeAsync(long known, TimeSpan timeout, bool async, CancellationToken cancellationToken)
    {
        try
        {
            if (async)
                await _calls.Backend.WaitForChangeAsync(known, timeout, cancellationToken).ConfigureAwait(false);
            else // off the caller's thread: a synchronous caller may sit on a single-threaded synchronization context
                Task.Run(() => _calls.Backend.WaitForChangeAsync(known, timeout, cancellationToken).AsTask(), cancellationToken).GetAwaiter().GetResult();
        }
        catch (BackendException e) when (e.IsTransient)
        {
            ToscLog.RefreshFailed(_logger, e);
        }
    }

    private sealed record Lease(Guid Holder, long Version, TimeSpan Duration, long SeenAt);
}
