namespace Tosc;

/// <summary>
/// Keeps the value in this process's memory: the embedded default, for sharing state between the
/// threads of one process (one Manager per worker over one backend) and for tests.
/// </summary>
public sealed class InprocBackend : ToscBackend
{
    private readonly Lock _gate = new();
    private StoredState? _state;
    private long _lastVersion;

    /// <summary>Creates an empty store. Every write wakes waiting managers at once; nothing needs polling.</summary>
    public InprocBackend()
        : base(pollInterval: TimeSpan.FromSeconds(30))
    {
    }

    /// <inheritdoc/>
    protected override ValueTask<StoredState?> ReadCoreAsync(bool async, CancellationToken cancellationToken)
    {
        lock (_gate)
            return new(_state);
    }

    /// <inheritdoc/>
    protected override ValueTask<long?> WriteCoreAsync(ReadOnlyMemory<byte> data, WriteCondition condition, Guid commitId, bool async, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            ThrowIfDisposed();
            if (!condition.Allows(_state?.Version))
                return new((long?)null);
            var version = ++_lastVersion;
            // Copy: the caller may reuse its buffer, and readers must never see it change.
            _state = new StoredState(version, data.ToArray(), commitId);
            return new(version);
        }
    }
}
