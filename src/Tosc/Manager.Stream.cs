using System.Runtime.CompilerServices;

namespace Tosc;

/// <summary>
/// The store's history as a stream: every commit after a version, in order, once, with its path-level changes. Each
/// consumer follows the store on its own hidden manager (no watcher of its own; it reads the log when the backend
/// says something changed), so a slow consumer only falls behind itself: it never blocks this manager or another
/// consumer, and nothing is buffered for it. If the log is compacted past where it stands, it gets a reset.
/// </summary>
public sealed partial class Manager
{
    /// <summary>
    /// Every commit stored after <paramref name="afterVersion"/>, in commit order, exactly once, as it happens; pass the
    /// last <see cref="ChangeSet.Version"/> you handled to resume, across process restarts too.
    /// </summary>
    /// <param name="afterVersion">
    /// Where to resume; <see langword="null"/> to start from the current state (only what is committed from now on).
    /// When the log no longer reaches back to it (compacted past it, or the value was replaced whole by
    /// <c>Write</c>), the first item is a reset (<see cref="ChangeSet.IsReset"/>) holding the whole state: never a
    /// silent gap.
    /// </param>
    /// <param name="cancellationToken">Ends the stream.</param>
    /// <remarks>
    /// The root type is this manager's (read it first). A backend without an operation log reports every new
    /// version as a reset. Records that change nothing (leases, fences) are not reported.
    /// </remarks>
    public IAsyncEnumerable<ChangeSet> WatchAsync(long? afterVersion = null, CancellationToken cancellationToken = default) =>
        StreamAsync(pathPrefix: "", afterVersion, cancellationToken);

    /// <summary>
    /// <see cref="WatchAsync(long?, CancellationToken)"/> keeping only the changes at <paramref name="pathPrefix"/> or
    /// inside it (<c>"Stock"</c>: <c>Stock["apples"]</c> yes, <c>Stocks</c> no); commits with none are left out, resets
    /// are always given.
    /// </summary>
    /// <param name="pathPrefix">A path from the root, as <see cref="PathChange.Path"/> writes it.</param>
    /// <param name="afterVersion">Where to resume; see <see cref="WatchAsync(long?, CancellationToken)"/>.</param>
    /// <param name="cancellationToken">Ends the stream.</param>
    public IAsyncEnumerable<ChangeSet> WatchAsync(string pathPrefix, long? afterVersion = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pathPrefix);
        return StreamAsync(pathPrefix, afterVersion, cancellationToken);
    }

    private async IAsyncEnumerable<ChangeSet> StreamAsync(string pathPrefix, long? afterVersion, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        var follower = new Manager(_calls.Backend, FollowerOptions());
        await using (follower.ConfigureAwait(false))
        {
            follower.Allow(_rootType);
            var pending = await follower.StartFollowingAsync(_rootType, afterVersion, cancellationToken).ConfigureAwait(false);
            while (true)
            {
                foreach (var set in pending)
                {
                    if (set.IsReset)
                    {
                        yield return set;
                        continue;
                    }
                    var kept = pathPrefix.Length == 0 ? set.Changes : [.. set.Changes.Where(change => change.IsUnder(pathPrefix))];
                    if (kept.Count > 0)
                        yield return kept == set.Changes ? set : set with { Changes = kept };
                }
                pending = await follower.FollowAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private ManagerOptions FollowerOptions()
    {
        var options = new ManagerOptions
        {
            WatchForChanges = false,
            DeltaCommits = _options.DeltaCommits,
            Protection = _options.Protection,
            PollInterval = _options.PollInterval,
            BackendRetries = _options.BackendRetries,
            Logger = _options.Logger,
            TimeProvider = _options.TimeProvider,
            MaxDepth = _options.MaxDepth,
        };
        foreach (var type in _options.KnownTypes)
            options.KnownTypes.Add(type);
        return options;
    }

    /// <summary>Loads the state at <paramref name="afterVersion"/> and returns the commits after it (or a reset).</summary>
    private async ValueTask<List<ChangeSet>> StartFollowingAsync(Type declared, long? afterVersion, CancellationToken cancellationToken)
    {
        _rootType = declared;
        if (_calls.Log is null)
        {
            var whole = await _calls.ReadAsync(async: true, cancellationToken).ConfigureAwait(false);
            Publish(whole, declared, reuse: false);
            return afterVersion is null || afterVersion == whole?.Version ? [] : [Reset(afterVersion)];
        }
        var slice = await _calls.ReadLogAsync(null, async: true, cancellationToken).ConfigureAwait(false);
        if (afterVersion is null || slice.Snapshot is not { } snapshot)
        {
            Publish(StoredState.FromLog(slice), declared, reuse: false);
            return afterVersion is null || afterVersion == Version ? [] : [Reset(afterVersion)];
        }
        var reached = afterVersion == snapshot.Version ? 0 : IndexAfter(slice.Records, afterVersion.Value);
        if (reached < 0)
        {
            Publish(StoredState.FromLog(slice), declared, reuse: false);
            return [Reset(afterVersion)];
        }
        // The state at afterVersion, quietly; then the records after it, described.
        var start = new StoredState(afterVersion.Value, snapshot.Data, reached == 0 ? snapshot.CommitId : slice.Records[reached - 1].CommitId)
        {
            Log = [.. slice.Records.Take(reached)],
            SnapshotVersion = snapshot.Version,
        };
        Publish(start, declared, reuse: false);
        _follows = true;
        ApplyRecords([.. slice.Records.Skip(reached)]);
        return TakeApplied();
    }

    /// <summary>Waits for the store to move past this follower's version, then returns the commits (or a reset).</summary>
    private async ValueTask<List<ChangeSet>> FollowAsync(CancellationToken cancellationToken)
    {
        _follows = true;
        var known = Version;
        LogSlice slice;
        try
        {
            await _calls.Backend.WaitForChangeAsync(known, _options.PollInterval, cancellationToken).ConfigureAwait(false);
            slice = PushedSlice() ?? await FetchAsync(_rootType, async: true, cancellationToken).ConfigureAwait(false);
        }
        catch (BackendException e) when (e.IsTransient)
        {
            // The store is briefly out of reach (a restart, a dropped connection): the stream waits and goes on from
            // where it stands, as the watcher does; other errors end it (resume from the last version handled).
            Diagnostics.ToscLog.RefreshFailed(_logger, e);
            await Task.Delay(_options.PollInterval, _options.TimeProvider, cancellationToken).ConfigureAwait(false);
            return [];
        }
        if (slice.Snapshot is not null || slice.AfterVersion is null)
        {
            if (slice.Version == known)
                return [];
            _follows = false;
            Publish(StoredState.FromLog(slice), _rootType, reuse: false);
            return [Reset(known)];
        }
        ApplyRecords(slice.Records);
        return TakeApplied();
    }

    private List<ChangeSet> TakeApplied()
    {
        lock (Gate)
        {
            var sets = _applied ?? [];
            _applied = null;
            return sets.Where(set => set.Changes.Count > 0).ToList();
        }
    }

    /// <summary>The whole state as one Replace at the root: the consumer starts over from it.</summary>
    private ChangeSet Reset(long? from) =>
        new(Version ?? 0, from, Guid.Empty, [new PathChange("", PathChangeKind.Replace, null, Detach(_root))], IsReset: true);

    /// <summary>How many records lead up to <paramref name="version"/> (-1 when the log does not hold it).</summary>
    private static int IndexAfter(IReadOnlyList<LogRecord> records, long version)
    {
        for (var i = 0; i < records.Count; i++)
        {
            if (records[i].Version == version)
                return i + 1;
        }
        return -1;
    }
}
