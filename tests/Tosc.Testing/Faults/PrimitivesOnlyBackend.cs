namespace Tosc.Testing;

/// <summary>
/// Another backend seen through the four <see cref="IBackend"/> primitives only (no log: managers store whole states),
/// and never disposed through this wrapper, so several clients can share one in-process store.
/// </summary>
public sealed class PrimitivesOnlyBackend(IBackend inner) : IBackend
{
    /// <inheritdoc/>
    public StoredState? Read(CancellationToken cancellationToken = default) => inner.Read(cancellationToken);

    /// <inheritdoc/>
    public ValueTask<StoredState?> ReadAsync(CancellationToken cancellationToken = default) => inner.ReadAsync(cancellationToken);

    /// <inheritdoc/>
    public long Write(ReadOnlyMemory<byte> data, Guid commitId, CancellationToken cancellationToken = default) => inner.Write(data, commitId, cancellationToken);

    /// <inheritdoc/>
    public ValueTask<long> WriteAsync(ReadOnlyMemory<byte> data, Guid commitId, CancellationToken cancellationToken = default) => inner.WriteAsync(data, commitId, cancellationToken);

    /// <inheritdoc/>
    public long? TryWrite(ReadOnlyMemory<byte> data, long? expectedVersion, Guid commitId, CancellationToken cancellationToken = default) =>
        inner.TryWrite(data, expectedVersion, commitId, cancellationToken);

    /// <inheritdoc/>
    public ValueTask<long?> TryWriteAsync(ReadOnlyMemory<byte> data, long? expectedVersion, Guid commitId, CancellationToken cancellationToken = default) =>
        inner.TryWriteAsync(data, expectedVersion, commitId, cancellationToken);

    /// <inheritdoc/>
    public ValueTask<long?> WaitForChangeAsync(long? knownVersion, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        inner.WaitForChangeAsync(knownVersion, timeout, cancellationToken);

    /// <summary>Leaves the inner backend open.</summary>
    public void Dispose()
    {
    }
}
