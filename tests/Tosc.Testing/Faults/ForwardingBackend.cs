namespace Tosc.Testing;

/// <summary>
/// A backend that passes every call to another one, log capability included: the base of test decorators, and a
/// client of a shared store that leaves the store open when it is disposed.
/// </summary>
public class ForwardingBackend : ToscBackend
{
    private readonly bool _ownsInner;

    /// <summary>Forwards to <paramref name="inner"/>; disposes it only when <paramref name="ownsInner"/> is set.</summary>
    public ForwardingBackend(IBackend inner, bool ownsInner = false)
        : base(inner is ToscBackend backend ? backend.PollInterval : TimeSpan.FromSeconds(1))
    {
        Inner = inner ?? throw new ArgumentNullException(nameof(inner));
        _ownsInner = ownsInner;
    }

    /// <summary>The backend every call goes to.</summary>
    protected IBackend Inner { get; }

    /// <inheritdoc/>
    public override bool SupportsLog => Inner is ToscBackend { SupportsLog: true };

    /// <inheritdoc/>
    public override bool ChecksConflicts => Inner is ToscBackend { ChecksConflicts: true };

    /// <inheritdoc/>
    public override ValueTask<long?> WaitForChangeAsync(long? knownVersion, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        Inner.WaitForChangeAsync(knownVersion, timeout, cancellationToken);

    /// <inheritdoc/>
    protected override ValueTask<StoredState?> ReadCoreAsync(bool async, CancellationToken cancellationToken) =>
        async ? Inner.ReadAsync(cancellationToken) : new(Inner.Read(cancellationToken));

    /// <inheritdoc/>
    protected override ValueTask<long?> ReadVersionCoreAsync(bool async, CancellationToken cancellationToken) =>
        async ? Inner.ReadVersionAsync(cancellationToken) : new(Inner.ReadVersion(cancellationToken));

    /// <inheritdoc/>
    protected override async ValueTask<long?> WriteCoreAsync(ReadOnlyMemory<byte> data, WriteCondition condition, Guid commitId, bool async, CancellationToken cancellationToken)
    {
        if (condition.IsUnconditional)
            return async ? await Inner.WriteAsync(data, commitId, cancellationToken).ConfigureAwait(false) : Inner.Write(data, commitId, cancellationToken);
        return async
            ? await Inner.TryWriteAsync(data, condition.ExpectedVersion, commitId, cancellationToken).ConfigureAwait(false)
            : Inner.TryWrite(data, condition.ExpectedVersion, commitId, cancellationToken);
    }

    /// <inheritdoc/>
    protected override ValueTask<LogSlice> ReadLogCoreAsync(long? afterVersion, bool async, CancellationToken cancellationToken) =>
        async ? Log.ReadLogAsync(afterVersion, cancellationToken) : new(Log.ReadLog(afterVersion, cancellationToken));

    /// <inheritdoc/>
    protected override ValueTask<Appended?> AppendCoreAsync(ReadOnlyMemory<byte> record, long expectedVersion, Guid commitId, bool async, CancellationToken cancellationToken) =>
        async ? Log.TryAppendAsync(record, expectedVersion, commitId, cancellationToken) : new(Log.TryAppend(record, expectedVersion, commitId, cancellationToken));

    /// <inheritdoc/>
    protected override ValueTask<Appended?> AppendCheckedCoreAsync(ReadOnlyMemory<byte> record, long expectedVersion, Guid commitId, AppendCheck check, bool async, CancellationToken cancellationToken) =>
        async ? Log.TryAppendCheckedAsync(record, expectedVersion, commitId, check, cancellationToken) : new(Log.TryAppendChecked(record, expectedVersion, commitId, check, cancellationToken));

    /// <inheritdoc/>
    protected override ValueTask<bool> CompactCoreAsync(ReadOnlyMemory<byte> snapshot, long version, bool async, CancellationToken cancellationToken) =>
        async ? Log.TryCompactAsync(snapshot, version, cancellationToken) : new(Log.TryCompact(snapshot, version, cancellationToken));

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (disposing && _ownsInner)
            Inner.Dispose();
    }

    private ToscBackend Log => Inner as ToscBackend ?? throw new NotSupportedException($"{Inner.GetType().Name} keeps no operation log.");
}
