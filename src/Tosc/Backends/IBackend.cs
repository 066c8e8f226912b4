namespace Tosc;

/// <summary>
/// A versioned store for one Tosc value: the four primitives every engine offers
/// (read, unconditional write, compare-and-swap on the version, wait for a change).
/// </summary>
/// <remarks>
/// A backend only moves bytes. Retries, resolving commits whose reply was lost, the change-wait
/// loop and metrics live in the core, so an implementation stays small. Failures of the
/// underlying store are reported as <see cref="BackendException"/> with
/// <see cref="BackendException.IsTransient"/> set when trying again may succeed.
/// One backend instance may be shared by any number of managers and threads.
/// See docs/backend-contract.md for the full contract.
/// </remarks>
public interface IBackend : IDisposable
{
    /// <summary>Reads the stored state, or <see langword="null"/> when nothing is stored yet.</summary>
    StoredState? Read(CancellationToken cancellationToken = default);

    /// <inheritdoc cref="Read"/>
    ValueTask<StoredState?> ReadAsync(CancellationToken cancellationToken = default);

    /// <summary>Replaces the stored bytes unconditionally and returns the new version.</summary>
    /// <param name="data">The encoded value.</param>
    /// <param name="commitId">Identifies this write, so an outcome whose reply was lost can be checked by reading back.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    long Write(ReadOnlyMemory<byte> data, Guid commitId, CancellationToken cancellationToken = default);

    /// <inheritdoc cref="Write"/>
    ValueTask<long> WriteAsync(ReadOnlyMemory<byte> data, Guid commitId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Replaces the stored bytes only when the stored version equals <paramref name="expectedVersion"/>
    /// (<see langword="null"/>: only when nothing is stored), in one atomic step.
    /// </summary>
    /// <returns>The new version, or <see langword="null"/> when the stored version differed (a conflict, not an error).</returns>
    long? TryWrite(ReadOnlyMemory<byte> data, long? expectedVersion, Guid commitId, CancellationToken cancellationToken = default);

    /// <inheritdoc cref="TryWrite"/>
    ValueTask<long?> TryWriteAsync(ReadOnlyMemory<byte> data, long? expectedVersion, Guid commitId, CancellationToken cancellationToken = default);

    /// <summary>Reads only the stored version (<see langword="null"/>: nothing stored). Override it where the store has a cheaper probe than a full read.</summary>
    long? ReadVersion(CancellationToken cancellationToken = default) => Read(cancellationToken)?.Version;

    /// <inheritdoc cref="ReadVersion"/>
    async ValueTask<long?> ReadVersionAsync(CancellationToken cancellationToken = default) =>
        (await ReadAsync(cancellationToken).ConfigureAwait(false))?.Version;

    /// <summary>
    /// Waits until the stored version may differ from <paramref name="knownVersion"/>, or until
    /// <paramref name="timeout"/> passes, and returns the version stored then.
    /// </summary>
    /// <remarks>
    /// Use the store's native notification where it has one; the result may equal
    /// <paramref name="knownVersion"/> (a timeout or a spurious wake-up). The core polls on its own
    /// as a safety net, so a lost notification only delays a refresh.
    /// </remarks>
    ValueTask<long?> WaitForChangeAsync(long? knownVersion, TimeSpan timeout, CancellationToken cancellationToken = default);
}
