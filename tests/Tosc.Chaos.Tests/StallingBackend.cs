using Tosc.Testing;

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
public sealed class StallingBackend(IBackend inner) : ForwardingBackend(inner, ownsInner: true)
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

    protected override async ValueTask<StoredState?> ReadCoreAsync(bool async, CancellationToken cancellationToken)
    {
        await StallIfArmedAsync(StallPoint.BeforeRead, async, cancellationToken);
        return await base.ReadCoreAsync(async, cancellationToken);
    }

    protected override async ValueTask<LogSlice> ReadLogCoreAsync(long? afterVersion, bool async, CancellationToken cancellationToken)
    {
        await StallIfArmedAsync(StallPoint.BeforeRead, async, cancellationToken);
        return await base.ReadLogCoreAsync(afterVersion, async, cancellationToken);
    }

    protected override async ValueTask<long?> WriteCoreAsync(ReadOnlyMemory<byte> data, WriteCondition condition, Guid commitId, bool async, CancellationToken cancellationToken)
    {
        if (condition.IsUnconditional)
            return await base.WriteCoreAsync(data, condition, commitId, async, cancellationToken);
        await StallIfArmedAsync(StallPoint.BeforeWrite, async, cancellationToken);
        var version = await base.WriteCoreAsync(data, condition, commitId, async, cancellationToken);
        await StallIfArmedAsync(StallPoint.AfterWrite, async, cancellationToken);
        return version;
    }

    protected override async ValueTask<Appended?> AppendCoreAsync(ReadOnlyMemory<byte> record, long expectedVersion, Guid commitId, bool async, CancellationToken cancellationToken)
    {
        await StallIfArmedAsync(StallPoint.BeforeWrite, async, cancellationToken);
        var appended = await base.AppendCoreAsync(record, expectedVersion, commitId, async, cancellationToken);
        await StallIfArmedAsync(StallPoint.AfterWrite, async, cancellationToken);
        return appended;
    }

    protected override async ValueTask<Appended?> AppendCheckedCoreAsync(ReadOnlyMemory<byte> record, long expectedVersion, Guid commitId, AppendCheck check, bool async, CancellationToken cancellationToken)
    {
        await StallIfArmedAsync(StallPoint.BeforeWrite, async, cancellationToken);
        var appended = await base.AppendCheckedCoreAsync(record, expectedVersion, commitId, check, async, cancellationToken);
        await StallIfArmedAsync(StallPoint.AfterWrite, async, cancellationToken);
        return appended;
    }

    private async ValueTask StallIfArmedAsync(StallPoint point, bool async, CancellationToken cancellationToken)
    {
        if (Interlocked.CompareExchange(ref _armed, (int)StallPoint.None, (int)point) != (int)point)
            return;
        _stalled.TrySetResult();
        var stall = Task.Delay(Timeout.Infinite, cancellationToken);
        if (async)
            await stall;
        else
            stall.GetAwaiter().GetResult(); // a sync caller blocks, as it would on a slow store
    }
}
