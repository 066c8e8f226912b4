namespace Tosc.Chaos;

/// <summary>
/// Injects the fault that real networks produce but a healthy local store cannot on demand: a write whose reply is
/// lost. With the given probability a write fails with a transient <see cref="BackendException"/>, half of the time
/// before it reaches the store and half of the time after it landed. The core must resolve both by reading back,
/// never applying a transaction twice or losing an acknowledged one.
/// </summary>
internal sealed class LostReplyBackend(IBackend inner, double probability, int seed, Action<string> injected) : IBackend
{
    private readonly Random _random = new(seed);
    private readonly Lock _gate = new();

    public StoredState? Read(CancellationToken cancellationToken = default) => inner.Read(cancellationToken);

    public ValueTask<StoredState?> ReadAsync(CancellationToken cancellationToken = default) => inner.ReadAsync(cancellationToken);

    public long Write(ReadOnlyMemory<byte> data, Guid commitId, CancellationToken cancellationToken = default)
    {
        var fault = Roll();
        ThrowIf(fault == Fault.Before, "before");
        var version = inner.Write(data, commitId, cancellationToken);
        ThrowIf(fault == Fault.After, "after");
        return version;
    }

    public async ValueTask<long> WriteAsync(ReadOnlyMemory<byte> data, Guid commitId, CancellationToken cancellationToken = default)
    {
        var fault = Roll();
        ThrowIf(fault == Fault.Before, "before");
        var version = await inner.WriteAsync(data, commitId, cancellationToken);
        ThrowIf(fault == Fault.After, "after");
        return version;
    }

    public long? TryWrite(ReadOnlyMemory<byte> data, long? expectedVersion, Guid commitId, CancellationToken cancellationToken = default)
    {
        var fault = Roll();
        ThrowIf(fault == Fault.Before, "before");
        var version = inner.TryWrite(data, expectedVersion, commitId, cancellationToken);
        ThrowIf(fault == Fault.After && version is not null, "after");
        return version;
    }

    public async ValueTask<long?> TryWriteAsync(ReadOnlyMemory<byte> data, long? expectedVersion, Guid commitId, CancellationToken cancellationToken = default)
    {
        var fault = Roll();
        ThrowIf(fault == Fault.Before, "before");
        var version = await inner.TryWriteAsync(data, expectedVersion, commitId, cancellationToken);
        ThrowIf(fault == Fault.After && version is not null, "after");
        return version;
    }

    public ValueTask<long?> WaitForChangeAsync(long? knownVersion, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        inner.WaitForChangeAsync(knownVersion, timeout, cancellationToken);

    public void Dispose() => inner.Dispose();

    private enum Fault
    {
        None,
        Before,
        After,
    }

    private Fault Roll()
    {
        if (probability <= 0)
            return Fault.None;
        double roll;
        lock (_gate)
            roll = _random.NextDouble();
        return roll >= probability ? Fault.None : roll < probability / 2 ? Fault.Before : Fault.After;
    }

    private void ThrowIf(bool condition, string where)
    {
        if (!condition)
            return;
        injected(where);
        throw new BackendException("Injected by the chaos runner: the reply to this write was lost.", isTransient: true);
    }
}
