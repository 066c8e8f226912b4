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
/// <para>
/// A lease starts a turn: the holder's next commits (up to <see cref="CommitsPerTurn"/>, within <see cref="TurnLength"/>)
/// each carry a short lease of their own, so while the contention lasts it lands a run of commits at one writer's pace
/// and the others wait, instead of all of them racing, and all but one losing, for every single commit. The turn's
/// last commit carries none: the others race for the next turn.
/// </para>
/// </summary>
public sealed partial class Manager
{
    // Conflicts of one Run before it asks for the next turn: the first rerun is usually enough (it reads the new
    // state); a second conflict means others keep winning the race.
    private const int ConflictsBeforeLease = 2;

    // Long enough for a body and one commit on a slow backend; a holder that dies makes others wait this long once.
    private static readonly TimeSpan LeaseDuration = TimeSpan.FromSeconds(2);

    // A turn's bounds: long enough to pay for the race that hands it over, short enough that the others' wait is brief.
    private const int CommitsPerTurn = 64;
    private static readonly TimeSpan DefaultTurnLength = TimeSpan.FromMilliseconds(100);

    // How long the lease of a turn's commit lasts: a few of the holder's own commit cycles, so others wait about as
    // long as its next commit takes, and once at most this long when it has no next commit.
    private static readonly TimeSpan ShortestRenewal = TimeSpan.FromMilliseconds(5);
    private static readonly TimeSpan LongestRenewal = TimeSpan.FromMilliseconds(250);

    private readonly Guid _holderId = Guid.NewGuid();

    // The lease in the newest record applied, if it held one; guarded by the gate.
    private Lease? _lease;

    // This manager's turn, from the lease it took; used under the exclusive lock.
    private Turn? _turn;

    // Completed, and replaced, when another manager's lease stops holding this manager back; guarded by the gate.
    // Bodies held back by a lease wait on it while the watcher applies the holder's commits, instead of each waking
    // at every one of them to read it.
    private TaskCompletionSource _leaseEnded = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>How long a turn lasts at most (tests lengthen it, so that only the commit count ends it).</summary>
    internal TimeSpan TurnLength { get; set; } = DefaultTurnLength;

    /// <summary>This manager's id as a lease holder.</summary>
    internal Guid HolderId => _holderId;

    /// <summary>The lease in force at the version this manager shows (its own included): its holder and duration.</summary>
    internal (Guid Holder, TimeSpan Duration)? LeaseInForce
    {
        get
        {
            lock (Gate)
                return _lease is { } lease && lease.Version == _version ? (lease.Holder, lease.Duration) : null;
        }
    }

    /// <summary>
    /// Before a body runs: waits while another manager's lease holds the store, then, after enough conflicts, or
    /// after waiting out another's turn (the contention goes on), takes the lease itself: the waiters race once for
    /// the next turn, with a lease record, instead of running their bodies against each other until two of their
    /// commits have lost. Managers without a log never lease.
    /// </summary>
    private async ValueTask AwaitTurnAsync(int conflicts, bool async, CancellationToken cancellationToken)
    {
        if (_ops is null || !_loaded)
            return;
        var waited = false;
        while (true)
        {
            waited |= await WaitOutLeaseAsync(async, cancellationToken).ConfigureAwait(false);
            if (conflicts < ConflictsBeforeLease && !waited || await TryTakeLeaseAsync(async, cancellationToken).ConfigureAwait(false))
                return;
        }
    }

    /// <summary>
    /// Waits until no lease of another manager holds the version this manager shows, refreshing as the store moves;
    /// whether there was one.
    /// </summary>
    private async ValueTask<bool> WaitOutLeaseAsync(bool async, CancellationToken cancellationToken)
    {
        var waited = false;
        while (LeasedToAnother() is { } lease)
        {
            waited = true;
            var left = lease.Duration - Stopwatch.GetElapsedTime(lease.SeenAt);
            if (left > TimeSpan.Zero)
                ToscDiagnostics.LeaseWaits.Add(1);
            if (left > TimeSpan.Zero && _watcher is not null)
            {
                // The watcher applies the holder's commits (a turn renews the lease with each): wait for the lease to
                // end, or for this one to run out, when the loop looks at the one in force then.
                await WaitForLeaseEndAsync(lease, left, async, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                if (left > TimeSpan.Zero)
                    await WaitForChangeAsync(lease.Version, left, async, cancellationToken).ConfigureAwait(false);
                await CatchUpAsync(async, cancellationToken).ConfigureAwait(false);
            }
            lock (Gate)
            {
                if (ReferenceEquals(_lease, lease) && Stopwatch.GetElapsedTime(lease.SeenAt) >= lease.Duration)
                    SetLease(null); // expired: its holder died or took too long
            }
        }
        return waited;
    }

    /// <summary>Waits up to <paramref name="left"/> for <paramref name="lease"/>'s holder to stop holding this manager back.</summary>
    private async ValueTask WaitForLeaseEndAsync(Lease lease, TimeSpan left, bool async, CancellationToken cancellationToken)
    {
        Task ended;
        lock (Gate)
        {
            if (!ReferenceEquals(_lease, lease))
                return; // a record came meanwhile: look again
            ended = _leaseEnded.Task;
        }
        try
        {
            if (async)
                await ended.WaitAsync(left, cancellationToken).ConfigureAwait(false);
            else
                ended.Wait(left, cancellationToken);
        }
        catch (TimeoutException)
        {
            // Ran out: the loop finds the lease renewed or expired.
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
            SetLease(new Lease(_holderId, done.Version, LeaseDuration, Stopwatch.GetTimestamp()));
        }
        _turn = new Turn(Stopwatch.GetTimestamp());
        ToscDiagnostics.Leases.Add(1);
        return true;
    }

    /// <summary>
    /// The lease the commit about to be appended carries: while this manager's turn lasts, a few of its commit cycles;
    /// null when it has no turn or this is the turn's last commit. Callers hold the exclusive lock.
    /// </summary>
    private TimeSpan? TurnRenewal()
    {
        if (_turn is not { } turn)
            return null;
        var now = Stopwatch.GetTimestamp();
        if (turn.Commits + 1 >= CommitsPerTurn || Stopwatch.GetElapsedTime(turn.StartedAt, now) >= TurnLength)
            return null;
        var cycle = Stopwatch.GetElapsedTime(turn.LastAppendAt, now);
        turn.LastAppendAt = now;
        return TimeSpan.FromTicks(Math.Clamp(cycle.Ticks * 4, ShortestRenewal.Ticks, LongestRenewal.Ticks));
    }

    /// <summary>Counts a landed commit against the turn; one that carried no lease ends it. Callers hold the exclusive lock.</summary>
    private void CountTurnCommit(bool renewed)
    {
        if (_turn is not { } turn)
            return;
        turn.Commits++;
        if (!renewed)
            _turn = null;
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
        Lease? held = null;
        foreach (var op in ops)
        {
            if (op.Lease is { } lease)
                held = new Lease(lease.Holder, record.Version, lease.Duration, Stopwatch.GetTimestamp());
        }
        SetLease(held);
    }

    /// <summary>
    /// Makes <paramref name="lease"/> the one in force (null: none), and wakes whoever waits for the previous one
    /// unless its holder renewed it for at least as long (a turn's first commit shortens the lease it took). Callers
    /// hold the gate.
    /// </summary>
    private void SetLease(Lease? lease)
    {
        var previous = _lease;
        _lease = lease;
        if (previous is null || previous.Holder == lease?.Holder && lease.EndsAt >= previous.EndsAt)
            return;
        var ended = _leaseEnded;
        _leaseEnded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        ended.TrySetResult();
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
            changed = Publish(PushedSlice() ?? await FetchAsync(_rootType, async, cancellationToken).ConfigureAwait(false), _rootType, reuse: true);
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

    private sealed record Lease(Guid Holder, long Version, TimeSpan Duration, long SeenAt)
    {
        /// <summary>When it runs out, on <see cref="Stopwatch.GetTimestamp"/>'s clock.</summary>
        public long EndsAt { get; } = SeenAt + (long)(Duration.TotalSeconds * Stopwatch.Frequency);
    }

    /// <summary>A run of commits that follows a lease this manager took.</summary>
    private sealed class Turn(long startedAt)
    {
        public long StartedAt { get; } = startedAt;

        public long LastAppendAt { get; set; } = startedAt;

        public int Commits { get; set; }
    }
}
