namespace Tosc;

/// <summary>
/// Keeps the value in this process's memory: the embedded default, for sharing state between the
/// threads of one process (one Manager per worker over one backend) and for tests.
/// </summary>
public sealed class InprocBackend : IBackend
{
    private readonly Lock _gate = new();
    private readonly ChangeSignal _changes = new();
    private StoredState? _state;
    private long _lastVersion;
    private bool _disposed;

    /// <inheritdoc/>
    public StoredState? Read(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            ThrowIfDisposed();
            return _state;
        }
    }

    /// <inheritdoc/>
    public ValueTask<StoredState?> ReadAsync(CancellationToken cancellationToken = default) => new(Read(cancellationToken));

    /// <inheritdoc/>
    public long? ReadVersion(CancellationToken cancellationToken = default) => Read(cancellationToken)?.Version;

    /// <inheritdoc/>
    public ValueTask<long?> ReadVersionAsync(CancellationToken cancellationToken = default) => new(ReadVersion(cancellationToken));

    /// <inheritdoc/>
    public long Write(ReadOnlyMemory<byte> data, Guid commitId, CancellationToken cancellationToken = default) =>
        Store(data, expectedVersion: null, unconditional: true, commitId, cancellationToken)!.Value;

    /// <inheritdoc/>
    public ValueTask<long> WriteAsync(ReadOnlyMemory<byte> data, Guid commitId, CancellationToken cancellationToken = default) =>
        new(Write(data, commitId, cancellationToken));

    /// <inheritdoc/>
    public long? TryWrite(ReadOnlyMemory<byte> data, long? expectedVersion, Guid commitId, CancellationToken cancellationToken = default) =>
        Store(data, expectedVersion, unconditional: false, commitId, cancellationToken);

    /// <inheritdoc/>
    public ValueTask<long?> TryWriteAsync(ReadOnlyMemory<byte> data, long? expectedVersion, Guid commitId, CancellationToken cancellationToken = default) =>
        new(TryWrite(data, expectedVersion, commitId, cancellationToken));

    /// <inheritdoc/>
    public ValueTask<long?> WaitForChangeAsync(long? knownVersion, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        _changes.WaitAsync(_ => new ValueTask<long?>(Read()?.Version), knownVersion, timeout, cancellationToken);

    /// <inheritdoc/>
    public void Dispose()
    {
        lock (_gate)
            _disposed = true;
        _changes.Notify();
    }

    private long? Store(ReadOnlyMemory<byte> data, long? expectedVersion, bool unconditional, Guid commitId, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        long version;
        lock (_gate)
        {
            ThrowIfDisposed();
            if (!unconditional && _state?.Version != expectedVersion)
                return null;
            version = ++_lastVersion;
            // Copy: the caller may reuse its buffer, and readers must never see it change.
            _state = new StoredState(version, data.ToArray(), commitId);
        }
        _changes.Notify();
        return version;
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);
}
