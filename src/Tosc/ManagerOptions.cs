using Microsoft.Extensions.Logging;

namespace Tosc;

/// <summary>Settings of a <see cref="Manager"/>. Validated once, when the manager is created.</summary>
public sealed class ManagerOptions
{
    /// <summary>How many times <see cref="Manager.Run(Action, int?, TimeSpan?)"/> and <c>[Transactional]</c> rerun a conflicting body.</summary>
    /// <value>The default is 10.</value>
    public int Retries { get; set; } = 10;

    /// <summary>The default deadline for retried transactions; <see langword="null"/> for none.</summary>
    /// <value>The default is <see langword="null"/>.</value>
    public TimeSpan? Timeout { get; set; }

    /// <summary>The first delay between retries; later delays grow exponentially, with jitter.</summary>
    /// <value>The default is 2 milliseconds.</value>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromMilliseconds(2);

    /// <summary>The longest delay between retries.</summary>
    /// <value>The default is 500 milliseconds.</value>
    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Whether a background watcher applies other managers' commits to the live objects.</summary>
    /// <value>The default is <see langword="true"/>.</value>
    public bool WatchForChanges { get; set; } = true;

    /// <summary>
    /// How long the watcher waits for the backend's change notification before it checks the version anyway
    /// (the safety net for lost notifications), for backends that implement <see cref="IBackend"/> directly.
    /// A <see cref="ToscBackend"/> (every backend Tosc ships) polls at its own <see cref="ToscBackend.PollInterval"/>
    /// instead, so one interval is in force.
    /// </summary>
    /// <value>The default is 1 second.</value>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How many times a read that failed transiently (<see cref="BackendException.IsTransient"/>) is tried again.</summary>
    /// <value>The default is 4.</value>
    public int BackendRetries { get; set; } = 4;

    /// <summary>Types that may be read from the store besides those reachable from the root type (for example subclasses stored in a base-typed member).</summary>
    public IList<Type> KnownTypes { get; } = [];

    /// <summary>Where the manager logs watcher failures and conflicts.</summary>
    /// <value>The default is <see langword="null"/>: no logging.</value>
    public ILogger? Logger { get; set; }

    /// <summary>Authenticates (and optionally encrypts) the stored state; <see langword="null"/> stores it as plain MessagePack.</summary>
    /// <value>The default is <see langword="null"/>.</value>
    public StateProtection? Protection { get; set; }

    /// <summary>Whether large states are stored compressed. Reading needs no setting: the stored header says how a state is stored.</summary>
    /// <value>The default is <see cref="ToscCompression.None"/>.</value>
    public ToscCompression Compression { get; set; } = ToscCompression.None;

    /// <summary>
    /// Whether commits append the transaction's operations to the store's log instead of rewriting the whole value,
    /// where the backend keeps one (<see cref="ToscBackend.SupportsLog"/>). Commits and refreshes then cost what they change.
    /// </summary>
    /// <value>The default is <see langword="true"/>.</value>
    public bool DeltaCommits { get; set; } = true;

    /// <summary>After how many log records since the last snapshot a committing manager writes a new snapshot and trims the log.</summary>
    /// <value>The default is 1,000.</value>
    public int CompactAfterRecords { get; set; } = 1000;

    /// <summary>After how many bytes of log records since the last snapshot a committing manager writes a new snapshot and trims the log.</summary>
    /// <value>The default is 4 MiB.</value>
    public long CompactAfterBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>The clock for retry deadlines.</summary>
    /// <value>The default is <see cref="TimeProvider.System"/>.</value>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>
    /// How deep a stored value may nest (a linked chain of objects, a tree, nested collections), in levels. Up to 512
    /// levels a value is encoded and decoded on the calling thread; deeper ones on a thread of their own whose stack
    /// is sized for this many levels (about 2 KB each, reserved, not committed). Reading a store deeper than this fails
    /// with a <see cref="ToscDataException"/> naming the limit; a decoder must stop somewhere on hostile bytes.
    /// </summary>
    /// <value>The default is 100,000 levels.</value>
    public int MaxDepth { get; set; } = 100_000;

    /// <summary>
    /// Where the watcher applies other managers' commits and where change events are raised (<see cref="Manager.Changed"/>,
    /// <see cref="Manager.Committed"/>, the data-binding events of live objects). Set it to a UI thread's context (WPF,
    /// MAUI, Avalonia): code on that thread then never sees the live objects move between two reads, and bindings
    /// update there. <see langword="null"/> (the default): the watcher applies changes on its own thread, events are
    /// raised on the thread that applied the change. (To apply remote changes only when the application asks, turn
    /// <see cref="WatchForChanges"/> off and call <c>Refresh</c>.)
    /// </summary>
    public SynchronizationContext? SynchronizationContext { get; set; }

    internal void Validate()
    {
        if (MaxDepth < 1)
            throw new ArgumentOutOfRangeException(nameof(MaxDepth), MaxDepth, "ManagerOptions.MaxDepth must be at least 1.");
        if (Retries < 0)
            throw new ArgumentOutOfRangeException(nameof(Retries), Retries, "ManagerOptions.Retries must be 0 or more.");
        if (Timeout is { } timeout && timeout <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(Timeout), timeout, "ManagerOptions.Timeout must be positive (or null for none).");
        if (RetryBaseDelay < TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(RetryBaseDelay), RetryBaseDelay, "ManagerOptions.RetryBaseDelay must not be negative.");
        if (RetryMaxDelay < RetryBaseDelay)
            throw new ArgumentOutOfRangeException(nameof(RetryMaxDelay), RetryMaxDelay, "ManagerOptions.RetryMaxDelay must be at least RetryBaseDelay.");
        if (PollInterval <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(PollInterval), PollInterval, "ManagerOptions.PollInterval must be positive.");
        if (BackendRetries < 0)
            throw new ArgumentOutOfRangeException(nameof(BackendRetries), BackendRetries, "ManagerOptions.BackendRetries must be 0 or more.");
        if (CompactAfterRecords < 1)
            throw new ArgumentOutOfRangeException(nameof(CompactAfterRecords), CompactAfterRecords, "ManagerOptions.CompactAfterRecords must be 1 or more.");
        if (CompactAfterBytes < 1)
            throw new ArgumentOutOfRangeException(nameof(CompactAfterBytes), CompactAfterBytes, "ManagerOptions.CompactAfterBytes must be 1 or more.");
        if (!Enum.IsDefined(Compression))
            throw new ArgumentOutOfRangeException(nameof(Compression), Compression, "ManagerOptions.Compression must be ToscCompression.None or ToscCompression.Lz4.");
        ArgumentNullException.ThrowIfNull(TimeProvider, nameof(TimeProvider));
        foreach (var type in KnownTypes)
            ArgumentNullException.ThrowIfNull(type, nameof(KnownTypes));
    }
}

/// <summary>Says that the manager's live objects now show a state another manager committed.</summary>
public sealed class ChangedEventArgs : EventArgs
{
    /// <summary>Creates the event arguments.</summary>
    public ChangedEventArgs(long? oldVersion, long? newVersion)
        : this(oldVersion, newVersion, [], null)
    {
    }

    /// <summary>Creates the event arguments with what changed.</summary>
    public ChangedEventArgs(long? oldVersion, long? newVersion, IReadOnlyList<PathChange> changes, Guid? commitId)
    {
        ArgumentNullException.ThrowIfNull(changes);
        OldVersion = oldVersion;
        NewVersion = newVersion;
        Changes = changes;
        CommitId = commitId;
    }

    /// <summary>
    /// What changed, path by path, in commit order (all commits applied at once, when the watcher caught up with
    /// several). Computed only while someone handles the event. A whole state read instead of log records (a backend
    /// without a log, or a log compacted past this manager's version) is one <see cref="PathChangeKind.Replace"/> at
    /// the root (path "").
    /// </summary>
    public IReadOnlyList<PathChange> Changes { get; }

    /// <summary>The id of the newest commit applied, when the store keeps it.</summary>
    public Guid? CommitId { get; }

    /// <summary>The version the live objects showed before.</summary>
    public long? OldVersion { get; }

    /// <summary>The version they show now.</summary>
    public long? NewVersion { get; }
}

/// <summary>Data of <see cref="Manager.RefreshFailed"/>: the stored state could not be applied to the live objects.</summary>
public sealed class RefreshFailedEventArgs : EventArgs
{
    /// <summary>Creates the event arguments.</summary>
    public RefreshFailedEventArgs(ToscDataException exception) => Exception = exception;

    /// <summary>Why the stored state could not be read (a type this manager does not allow, damaged bytes, a newer format).</summary>
    public ToscDataException Exception { get; }
}
