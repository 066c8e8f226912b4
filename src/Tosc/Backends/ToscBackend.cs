namespace Tosc;

/// <summary>
/// The base of every Tosc backend: argument checks, the sync and async façades, disposal and the change wait
/// live here once, so an implementation only moves bytes. Derive from it and implement
/// <see cref="ReadCoreAsync"/> and <see cref="WriteCoreAsync"/>; override <see cref="ReadVersionCoreAsync"/> where
/// the store has a cheaper probe than a full read, and call <see cref="Changes"/>.<see cref="ChangeSignal.Notify"/>
/// from the store's native notification (started in <see cref="StartWatching"/>).
/// </summary>
/// <remarks>
/// The core methods take an <c>async</c> flag: with <see langword="false"/> they must complete synchronously
/// (one body serves <see cref="Read"/> and <see cref="ReadAsync"/>). Report store failures as
/// <see cref="BackendException"/> with <see cref="BackendException.IsTransient"/> set when trying again may succeed;
/// do not retry inside the backend — the core retries reads, and resolves writes whose reply was lost by reading
/// back the commit id. See docs/backend-contract.md.
/// </remarks>
public abstract class ToscBackend : IBackend, IAsyncDisposable
{
    private int _disposed;
    private int _watching;

    /// <summary>Creates the backend.</summary>
    /// <param name="pollInterval">How often <see cref="WaitForChangeAsync"/> reads the version when no notification comes.</param>
    protected ToscBackend(TimeSpan pollInterval)
    {
        if (pollInterval <= TimeSpan.Zero || pollInterval == Timeout.InfiniteTimeSpan)
            throw new ArgumentOutOfRangeException(nameof(pollInterval), pollInterval, "The poll interval must be positive and finite: it is the safety net for lost notifications.");
        PollInterval = pollInterval;
    }

    /// <summary>How often a waiting manager reads the version when no notification arrives; the one interval in force.</summary>
    public TimeSpan PollInterval { get; }

    /// <summary>The signal that wakes waiters; writes through this instance raise it too.</summary>
    protected ChangeSignal Changes { get; } = new();

    private readonly PushedRecords _pushed = new();

    // The newest version written through this instance. On a store that cannot notify, a waiter that knows it does not
    // probe when it starts waiting, and a waiter woken by a write of this instance learns the version from it: each
    // commit otherwise cost a manager's watcher two probes of the store (Get Blob requests, on Azure).
    private long _written = long.MinValue;

    /// <summary>
    /// Hands over a log record the store sent with its change notification, so waiting managers apply it without
    /// reading the store. Call it for every record a notification carries, this instance's own commits included, then
    /// <see cref="Changes"/>.<see cref="ChangeSignal.Notify"/> as usual; order does not matter.
    /// </summary>
    /// <param name="previousVersion">The store's version just before the record: the state it applies to.</param>
    /// <param name="record">The record as stored (its version, commit id and bytes).</param>
    protected void Pushed(long previousVersion, LogRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        _pushed.Add(previousVersion, record);
    }

    /// <summary>
    /// Says the store changed at <paramref name="version"/> without a record to hand over (a whole-state write, a
    /// record too large to send): waiters at an earlier version read the store.
    /// </summary>
    /// <param name="version">The new version, or <see langword="null"/> when the notification does not say.</param>
    protected void PushedGap(long? version) => _pushed.Gap(version);

    /// <summary>
    /// Forgets the pushed records: call it when notifications may have been lost (the connection that carries them
    /// broke), so waiters read the store again instead of trusting what was pushed before.
    /// </summary>
    protected void ForgetPushed() => _pushed.Clear();

    /// <summary>The pushed records that follow <paramref name="version"/> one after another, oldest first (empty when none does).</summary>
    internal LogRecord[] PushedAfter(long version) => _pushed.After(version);

    /// <summary><see langword="true"/> once <see cref="Dispose()"/> or <see cref="DisposeAsync"/> ran.</summary>
    protected bool IsDisposed => Volatile.Read(ref _disposed) == 1;

    /// <inheritdoc/>
    public StoredState? Read(CancellationToken cancellationToken = default) =>
        Completed(ReadChecked(async: false, cancellationToken));

    /// <inheritdoc/>
    public ValueTask<StoredState?> ReadAsync(CancellationToken cancellationToken = default) =>
        ReadChecked(async: true, cancellationToken);

    /// <inheritdoc/>
    public long? ReadVersion(CancellationToken cancellationToken = default) =>
        Completed(ReadVersionChecked(async: false, cancellationToken));

    /// <inheritdoc/>
    public ValueTask<long?> ReadVersionAsync(CancellationToken cancellationToken = default) =>
        ReadVersionChecked(async: true, cancellationToken);

    /// <inheritdoc/>
    public long Write(ReadOnlyMemory<byte> data, Guid commitId, CancellationToken cancellationToken = default) =>
        Completed(WriteChecked(data, WriteCondition.None, commitId, async: false, cancellationToken))!.Value;

    /// <inheritdoc/>
    public async ValueTask<long> WriteAsync(ReadOnlyMemory<byte> data, Guid commitId, CancellationToken cancellationToken = default) =>
        (await WriteChecked(data, WriteCondition.None, commitId, async: true, cancellationToken).ConfigureAwait(false))!.Value;

    /// <inheritdoc/>
    public long? TryWrite(ReadOnlyMemory<byte> data, long? expectedVersion, Guid commitId, CancellationToken cancellationToken = default) =>
        Completed(WriteChecked(data, WriteCondition.IfVersion(expectedVersion), commitId, async: false, cancellationToken));

    /// <inheritdoc/>
    public ValueTask<long?> TryWriteAsync(ReadOnlyMemory<byte> data, long? expectedVersion, Guid commitId, CancellationToken cancellationToken = default) =>
        WriteChecked(data, WriteCondition.IfVersion(expectedVersion), commitId, async: true, cancellationToken);

    /// <summary>
    /// Whether this backend keeps an operation log beside a snapshot (<see cref="TryAppend"/>, <see cref="ReadLog"/>,
    /// <see cref="TryCompact"/>): commits then cost what they change, not the size of the value. A backend without it
    /// stores every commit as a whole state; the core chooses.
    /// </summary>
    public virtual bool SupportsLog => false;

    /// <summary>
    /// Reads the log records after <paramref name="afterVersion"/>; when the log no longer reaches back that far (or
    /// <paramref name="afterVersion"/> is <see langword="null"/>), the snapshot and every record after it.
    /// </summary>
    /// <exception cref="NotSupportedException"><see cref="SupportsLog"/> is <see langword="false"/>.</exception>
    public LogSlice ReadLog(long? afterVersion, CancellationToken cancellationToken = default) =>
        Completed(ReadLogChecked(afterVersion, async: false, cancellationToken));

    /// <inheritdoc cref="ReadLog"/>
    public ValueTask<LogSlice> ReadLogAsync(long? afterVersion, CancellationToken cancellationToken = default) =>
        ReadLogChecked(afterVersion, async: true, cancellationToken);

    /// <summary>
    /// Appends one record when the store's version is <paramref name="expectedVersion"/>, in one atomic step;
    /// returns <see langword="null"/> when another commit got there first (a conflict, not an error).
    /// </summary>
    /// <param name="record">The encoded record.</param>
    /// <param name="expectedVersion">The version the record was made against; a store must hold a value to append to.</param>
    /// <param name="commitId">Stored with the record, so an append whose reply was lost can be identified by reading back.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <exception cref="NotSupportedException"><see cref="SupportsLog"/> is <see langword="false"/>.</exception>
    public Appended? TryAppend(ReadOnlyMemory<byte> record, long expectedVersion, Guid commitId, CancellationToken cancellationToken = default) =>
        Completed(AppendChecked(record, expectedVersion, commitId, check: null, async: false, cancellationToken));

    /// <inheritdoc cref="TryAppend"/>
    public ValueTask<Appended?> TryAppendAsync(ReadOnlyMemory<byte> record, long expectedVersion, Guid commitId, CancellationToken cancellationToken = default) =>
        AppendChecked(record, expectedVersion, commitId, check: null, async: true, cancellationToken);

    /// <summary>
    /// Whether this backend decides conflicts in the store itself (<see cref="TryAppendChecked"/>): an append that other
    /// commits beat is still made when none of them wrote what the transaction read, in one round trip, where a plain
    /// append fails and the core reads the log, checks, and appends again.
    /// </summary>
    public virtual bool ChecksConflicts => false;

    /// <summary>
    /// Appends one record when the store's version is <paramref name="expectedVersion"/>, or, in the same atomic step,
    /// after the records stored since then when none of them wrote a token among <paramref name="check"/>'s reads (and
    /// the log still holds them all); stores the record's write tokens with it. Returns <see langword="null"/> when
    /// neither holds (a conflict, not an error); <see cref="Appended.PlacedAfter"/> names the records it was put after.
    /// </summary>
    /// <param name="record">The encoded record.</param>
    /// <param name="expectedVersion">The version the record was made against.</param>
    /// <param name="commitId">Stored with the record, so an append whose reply was lost can be identified by reading back.</param>
    /// <param name="check">What the transaction read and what the record writes.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <exception cref="NotSupportedException"><see cref="ChecksConflicts"/> is <see langword="false"/>.</exception>
    public Appended? TryAppendChecked(ReadOnlyMemory<byte> record, long expectedVersion, Guid commitId, AppendCheck check, CancellationToken cancellationToken) =>
        Completed(AppendChecked(record, expectedVersion, commitId, check ?? throw new ArgumentNullException(nameof(check)), async: false, cancellationToken));

    /// <inheritdoc cref="TryAppendChecked"/>
    public ValueTask<Appended?> TryAppendCheckedAsync(ReadOnlyMemory<byte> record, long expectedVersion, Guid commitId, AppendCheck check, CancellationToken cancellationToken) =>
        AppendChecked(record, expectedVersion, commitId, check ?? throw new ArgumentNullException(nameof(check)), async: true, cancellationToken);

    /// <summary>
    /// Replaces the snapshot with <paramref name="snapshot"/>, the whole value at <paramref name="version"/>, and drops
    /// the records up to that version. It changes no version: readers and appends in flight are unaffected.
    /// </summary>
    /// <returns>
    /// <see langword="false"/> when nothing was replaced: the store's snapshot is already at or past
    /// <paramref name="version"/>, or <paramref name="version"/> is not a version the log holds (a whole-state write replaced it).
    /// </returns>
    /// <exception cref="NotSupportedException"><see cref="SupportsLog"/> is <see langword="false"/>.</exception>
    public bool TryCompact(ReadOnlyMemory<byte> snapshot, long version, CancellationToken cancellationToken = default) =>
        Completed(CompactChecked(snapshot, version, async: false, cancellationToken));

    /// <inheritdoc cref="TryCompact"/>
    public ValueTask<bool> TryCompactAsync(ReadOnlyMemory<byte> snapshot, long version, CancellationToken cancellationToken = default) =>
        CompactChecked(snapshot, version, async: true, cancellationToken);

    /// <summary>
    /// Whether <see cref="WaitForChangeAsync"/> hears of other clients' commits as they land (the store notifies this
    /// instance), not only at its next poll. When it does not, a wait that starts at the version this instance wrote
    /// last does not probe the store first, and a wait woken by this instance's own write takes the version from it:
    /// other clients' commits are found by the poll either way.
    /// </summary>
    public virtual bool NotifiesChanges => false;

    /// <inheritdoc/>
    /// <remarks>
    /// Wakes on <see cref="Changes"/> and reads the version once every <see cref="PollInterval"/> otherwise, so an idle
    /// waiter costs one probe per interval whatever <paramref name="timeout"/> it passes.
    /// </remarks>
    public virtual async ValueTask<long?> WaitForChangeAsync(long? knownVersion, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var infinite = timeout == Timeout.InfiniteTimeSpan;
        if (timeout < TimeSpan.Zero && !infinite)
            throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "The timeout must not be negative (or Timeout.InfiniteTimeSpan).");
        ThrowIfDisposed();
        EnsureWatching();
        var deadline = infinite ? long.MaxValue : Environment.TickCount64 + (long)Math.Ceiling(timeout.TotalMilliseconds);
        var signal = Changes.Current;
        var current = _pushed.Tip(knownVersion) ?? WrittenSince(knownVersion)
            ?? (WroteLast(knownVersion) ? knownVersion : await ReadVersionChecked(async: true, cancellationToken).ConfigureAwait(false));
        while (current == knownVersion)
        {
            var left = deadline - Environment.TickCount64;
            if (left <= 0)
                break;
            var slice = TimeSpan.FromMilliseconds(Math.Min(left, (long)Math.Ceiling(PollInterval.TotalMilliseconds)));
            var woken = true;
            try
            {
                await signal.WaitAsync(slice, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                woken = false; // the safety-net poll is due (or the caller's timeout passed): probe below
            }
            ThrowIfDisposed();
            signal = Changes.Current; // before probing, so a change landing meanwhile still wakes the next slice
            current = (woken ? _pushed.Tip(knownVersion) ?? WrittenSince(knownVersion) : null) ?? await ReadVersionChecked(async: true, cancellationToken).ConfigureAwait(false);
        }
        return current;
    }

    /// <summary>On a store that cannot notify: the version this instance wrote after <paramref name="knownVersion"/>, if it did.</summary>
    private long? WrittenSince(long? knownVersion) =>
        !NotifiesChanges && knownVersion is { } known && Volatile.Read(ref _written) is var written && written > known ? written : null;

    /// <summary>On a store that cannot notify: whether <paramref name="knownVersion"/> is the version this instance wrote last.</summary>
    private bool WroteLast(long? knownVersion) =>
        !NotifiesChanges && knownVersion is { } known && known == Volatile.Read(ref _written);

    private void NoteWritten(long version)
    {
        var seen = Volatile.Read(ref _written);
        while (version > seen && Interlocked.CompareExchange(ref _written, version, seen) is var actual && actual != seen)
            seen = actual;
    }

    /// <summary>Releases the backend's resources; waits in progress end with <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
            return;
        Dispose(disposing: true);
        Changes.Notify();
        GC.SuppressFinalize(this);
    }

    /// <inheritdoc cref="Dispose()"/>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
            return;
        await DisposeAsyncCore().ConfigureAwait(false);
        Changes.Notify();
        GC.SuppressFinalize(this);
    }

    /// <summary>Reads the stored state, or <see langword="null"/> when nothing is stored yet.</summary>
    /// <param name="async"><see langword="false"/>: complete synchronously.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    protected abstract ValueTask<StoredState?> ReadCoreAsync(bool async, CancellationToken cancellationToken);

    /// <summary>Reads only the version; the default reads the whole state.</summary>
    /// <param name="async"><see langword="false"/>: complete synchronously.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    protected virtual async ValueTask<long?> ReadVersionCoreAsync(bool async, CancellationToken cancellationToken) =>
        (await ReadCoreAsync(async, cancellationToken).ConfigureAwait(false))?.Version;

    /// <summary>
    /// Stores <paramref name="data"/> when <paramref name="condition"/> allows it, in one atomic step, and returns the
    /// new version; returns <see langword="null"/> when a conditional write found another version (a conflict, not an error).
    /// </summary>
    /// <param name="data">The encoded value; copy it if it is kept after the call returns.</param>
    /// <param name="condition">Unconditional, or the version the store must hold.</param>
    /// <param name="commitId">Stored with the data, so a write whose reply was lost can be identified by reading back.</param>
    /// <param name="async"><see langword="false"/>: complete synchronously.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    protected abstract ValueTask<long?> WriteCoreAsync(ReadOnlyMemory<byte> data, WriteCondition condition, Guid commitId, bool async, CancellationToken cancellationToken);

    /// <summary>Reads the log after <paramref name="afterVersion"/> (see <see cref="ReadLog"/>). Override it with <see cref="SupportsLog"/>.</summary>
    /// <param name="afterVersion">The version the caller has; <see langword="null"/> for the snapshot and the whole log.</param>
    /// <param name="async"><see langword="false"/>: complete synchronously.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    protected virtual ValueTask<LogSlice> ReadLogCoreAsync(long? afterVersion, bool async, CancellationToken cancellationToken) =>
        throw NoLog();

    /// <summary>Appends a record under the version check (see <see cref="TryAppend"/>). Override it with <see cref="SupportsLog"/>.</summary>
    /// <param name="record">The encoded record; copy it if it is kept after the call returns.</param>
    /// <param name="expectedVersion">The version the store must hold.</param>
    /// <param name="commitId">Stored with the record.</param>
    /// <param name="async"><see langword="false"/>: complete synchronously.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    protected virtual ValueTask<Appended?> AppendCoreAsync(ReadOnlyMemory<byte> record, long expectedVersion, Guid commitId, bool async, CancellationToken cancellationToken) =>
        throw NoLog();

    /// <summary>
    /// Appends a record under the version check or, failing that, the conflict check (see <see cref="TryAppendChecked"/>).
    /// Override it with <see cref="ChecksConflicts"/>.
    /// </summary>
    /// <param name="record">The encoded record; copy it if it is kept after the call returns.</param>
    /// <param name="expectedVersion">The version the record was made against.</param>
    /// <param name="commitId">Stored with the record.</param>
    /// <param name="check">The tokens to check and to store with the record.</param>
    /// <param name="async"><see langword="false"/>: complete synchronously.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    protected virtual ValueTask<Appended?> AppendCheckedCoreAsync(ReadOnlyMemory<byte> record, long expectedVersion, Guid commitId, AppendCheck check, bool async, CancellationToken cancellationToken) =>
        throw new NotSupportedException($"{GetType().Name} does not check conflicts in the store (ChecksConflicts is false): use TryAppend.");

    /// <summary>Replaces the snapshot and trims the log (see <see cref="TryCompact"/>). Override it with <see cref="SupportsLog"/>.</summary>
    /// <param name="snapshot">The whole value at <paramref name="version"/>; copy it if it is kept after the call returns.</param>
    /// <param name="version">The version the snapshot shows.</param>
    /// <param name="async"><see langword="false"/>: complete synchronously.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    protected virtual ValueTask<bool> CompactCoreAsync(ReadOnlyMemory<byte> snapshot, long version, bool async, CancellationToken cancellationToken) =>
        throw NoLog();

    /// <summary>Starts the store's native change notification; called once, at the first wait. The default does nothing (polling only).</summary>
    protected virtual void StartWatching()
    {
    }

    /// <summary>Releases resources; called once.</summary>
    /// <param name="disposing"><see langword="true"/> when called from <see cref="Dispose()"/>.</param>
    protected virtual void Dispose(bool disposing)
    {
    }

    /// <summary>Releases resources asynchronously; called once. The default calls <see cref="Dispose(bool)"/>.</summary>
    protected virtual ValueTask DisposeAsyncCore()
    {
        Dispose(disposing: true);
        return ValueTask.CompletedTask;
    }

    /// <summary>Throws <see cref="ObjectDisposedException"/> once the backend is disposed.</summary>
    protected void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(IsDisposed, this);

    private async ValueTask<StoredState?> ReadChecked(bool async, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ThrowIfDisposed();
        var state = await ReadCoreAsync(async, cancellationToken).ConfigureAwait(false);
        NoteRead(state?.Version);
        return state;
    }

    private async ValueTask<long?> ReadVersionChecked(bool async, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ThrowIfDisposed();
        var version = await ReadVersionCoreAsync(async, cancellationToken).ConfigureAwait(false);
        NoteRead(version);
        return version;
    }

    /// <summary>
    /// A store read older than the version this instance wrote was emptied or replaced since (versions otherwise only
    /// grow): that write no longer says anything about the store.
    /// </summary>
    private void NoteRead(long? version)
    {
        if (version is not { } read || read < Volatile.Read(ref _written))
            Volatile.Write(ref _written, long.MinValue);
    }

    private async ValueTask<long?> WriteChecked(ReadOnlyMemory<byte> data, WriteCondition condition, Guid commitId, bool async, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ThrowIfDisposed();
        var version = await WriteCoreAsync(data, condition, commitId, async, cancellationToken).ConfigureAwait(false);
        if (version is { } written)
        {
            NoteWritten(written);
            Changes.Notify(); // waiters on this instance see a local write at once
        }
        return version;
    }

    private async ValueTask<LogSlice> ReadLogChecked(long? afterVersion, bool async, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ThrowIfDisposed();
        var slice = await ReadLogCoreAsync(afterVersion, async, cancellationToken).ConfigureAwait(false);
        NoteRead(slice.Version);
        return slice;
    }

    private async ValueTask<Appended?> AppendChecked(ReadOnlyMemory<byte> record, long expectedVersion, Guid commitId, AppendCheck? check, bool async, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ThrowIfDisposed();
        var appended = check is null
            ? await AppendCoreAsync(record, expectedVersion, commitId, async, cancellationToken).ConfigureAwait(false)
            : await AppendCheckedCoreAsync(record, expectedVersion, commitId, check, async, cancellationToken).ConfigureAwait(false);
        if (appended is { } done)
        {
            NoteWritten(done.Version);
            Changes.Notify();
        }
        return appended;
    }

    private ValueTask<bool> CompactChecked(ReadOnlyMemory<byte> snapshot, long version, bool async, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ThrowIfDisposed();
        return CompactCoreAsync(snapshot, version, async, cancellationToken);
    }

    private NotSupportedException NoLog() =>
        new($"{GetType().Name} keeps no operation log (SupportsLog is false); store whole states with Write and TryWrite.");

    private void EnsureWatching()
    {
        if (Interlocked.Exchange(ref _watching, 1) != 0)
            return;
        try
        {
            StartWatching();
        }
        catch
        {
            Volatile.Write(ref _watching, 0); // the next wait tries again
            throw;
        }
    }

    private static T Completed<T>(ValueTask<T> task)
    {
        // The core methods complete synchronously when async is false; anything else is a bug in the backend.
        if (!task.IsCompleted)
            throw new InvalidOperationException("A backend's core method did not complete synchronously although async was false.");
        return task.GetAwaiter().GetResult();
    }
}
