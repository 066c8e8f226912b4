namespace Tosc.Tests.Chaos;

/// <summary>Where a <see cref="StallingBackend"/> holds the next call until it is cancelled.</summary>
public enum StallPoint
{
    None,

    /// <summary>The next read waits before reaching the store.</summary>
    BeforeRead,

    /// <summary>The next compare-and-swap waits before reaching the store: it never lands.</summary>
    BeforeWrite,

    /// <summary>The next compare-and-swap lands, then its reply waits: the caller cancels a commit that is stored.</summary>
    AfterWrite,
}

/// <summary>
/// A slow store: the armed call waits until its cancellation token fires, at the chosen point. A fault a real
/// backend produces only by chance (a slow network, a server under load), so the tests arm it on purpose.
/// </summary>
public sealed class StallingBackend(IBackend inner) : IBackend
{
    private int _armed;
    private TaskCompletionSource _stalled = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when an armed call has started waiting.</summary>
    public Task Stalled => _stalled.Task;

    public void Arm(StallPoint point)
    {
        _stalled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref _armed, (int)point);
    }

    public StoredState? Read(CancellationToken cancellationToken = default)
    {
        if (Take(StallPoint.BeforeRead))
            StallAsync(cancellationToken).AsTask().GetAwaiter().GetResult();
        return inner.Read(cancellationToken);
    }

    public async ValueTask<StoredState?> ReadAsync(CancellationToken cancellationToken = default)
    {
        if (Take(StallPoint.BeforeRead))
            await StallAsync(cancellationToken);
        return await inner.ReadAsync(cancellationToken);
    }

    public long Write(ReadOnlyMemory<byte> data, Guid commitId, CancellationToken cancellationToken = default) => inner.Write(data, commitId, cancellationToken);

    public ValueTask<long> WriteAsync(ReadOnlyMemory<byte> data, Guid commitId, CancellationToken cancellationToken = default) => inner.WriteAsync(data, commitId, cancellationToken);

    public long? TryWrite(ReadOnlyMemory<byte> data, long? expectedVersion, Guid commitId, CancellationToken cancellationToken = default) =>
        TryWriteAsync(data, expectedVersion, commitId, cancellationToken).AsTask().GetAwaiter().GetResult();

    public async ValueTask<long?> TryWriteAsync(ReadOnlyMemory<byte> data, long? expectedVersion, Guid commitId, CancellationToken cancellationToken = default)
    {
        if (Take(StallPoint.BeforeWrite))
            await StallAsync(cancellationToken);
        var version = await inner.TryWriteAsync(data, expectedVersion, commitId, cancellationToken);
        if (Take(StallPoint.AfterWrite))
            await StallAsync(cancellationToken);
        return version;
    }

    public ValueTask<long?> WaitForChangeAsync(long? knownVersion, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        inner.WaitForChangeAsync(knownVersion, timeout, cancellationToken);

    public void Dispose() => inner.Dispose();

    private bool Take(StallPoint point) => Interlocked.CompareExchange(ref _armed, (int)StallPoint.None, (int)point) == (int)point;

    private async ValueTask StallAsync(CancellationToken cancellationToken)
    {
        _stalled.TrySetResult();
        await Task.Delay(Timeout.Infinite, cancellationToken);
    }
}
