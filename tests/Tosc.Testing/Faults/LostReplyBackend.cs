namespace Tosc.Testing;

/// <summary>Where a write's reply goes missing.</summary>
public enum ReplyLoss
{
    /// <summary>The write goes through and its reply arrives.</summary>
    None,

    /// <summary>The request never reaches the store; the caller sees a transient failure.</summary>
    BeforeLanding,

    /// <summary>The write lands, then its reply is lost; the caller sees a transient failure.</summary>
    AfterLanding,
}

/// <summary>
/// Injects the one fault a healthy store cannot produce on demand: a write whose reply is lost. The store underneath
/// and the managers above are real; only the reply is dropped, either by a one-shot <see cref="LoseNext"/> or by a
/// seeded random policy (<see cref="Random"/>). The core must resolve every loss by reading back the commit id, never
/// applying a transaction twice or losing an acknowledged one.
/// </summary>
public sealed class LostReplyBackend : ForwardingBackend
{
    private readonly Lock _gate = new();
    private Func<bool, ReplyLoss> _policy = static _ => ReplyLoss.None;
    private Action<ReplyLoss>? _injected;

    /// <summary>Wraps <paramref name="inner"/>; disposes it only when <paramref name="ownsInner"/> is set.</summary>
    public LostReplyBackend(IBackend inner, bool ownsInner = false)
        : base(inner, ownsInner)
    {
    }

    /// <summary>
    /// Loses each write's reply with <paramref name="probability"/>, half of the time before the write lands and half
    /// after, drawn from a generator seeded with <paramref name="seed"/>; <paramref name="injected"/> hears of each loss.
    /// </summary>
    public static LostReplyBackend Random(IBackend inner, double probability, int seed, Action<ReplyLoss>? injected = null, bool ownsInner = false)
    {
        var random = new Random(seed);
        var backend = new LostReplyBackend(inner, ownsInner) { _injected = injected };
        backend._policy = _ =>
        {
            var roll = random.NextDouble();
            return roll >= probability ? ReplyLoss.None : roll < probability / 2 ? ReplyLoss.BeforeLanding : ReplyLoss.AfterLanding;
        };
        return backend;
    }

    /// <summary>How many replies were lost so far.</summary>
    public int RepliesLost { get; private set; }

    /// <summary>Runs once, between a write landing and its reply being dropped: where another commit can land on top.</summary>
    public Action? AfterLanding { get; set; }

    /// <summary>Runs once, before the next read (the core's read-back after a lost reply).</summary>
    public Action? BeforeNextRead { get; set; }

    /// <summary>
    /// Loses the reply of the next write that matches: only compare-and-swaps with an expected version (not the first
    /// write of a store) when <paramref name="conditionalOnly"/> is set.
    /// </summary>
    public void LoseNext(ReplyLoss loss, bool conditionalOnly = false)
    {
        lock (_gate)
        {
            var armed = true;
            _policy = isConditional =>
            {
                if (!armed || (conditionalOnly && !isConditional))
                    return ReplyLoss.None;
                armed = false;
                return loss;
            };
        }
    }

    /// <inheritdoc/>
    protected override ValueTask<StoredState?> ReadCoreAsync(bool async, CancellationToken cancellationToken)
    {
        RunBeforeRead();
        return base.ReadCoreAsync(async, cancellationToken);
    }

    /// <inheritdoc/>
    protected override ValueTask<LogSlice> ReadLogCoreAsync(long? afterVersion, bool async, CancellationToken cancellationToken)
    {
        RunBeforeRead();
        return base.ReadLogCoreAsync(afterVersion, async, cancellationToken);
    }

    /// <inheritdoc/>
    protected override async ValueTask<long?> WriteCoreAsync(ReadOnlyMemory<byte> data, WriteCondition condition, Guid commitId, bool async, CancellationToken cancellationToken)
    {
        var loss = Draw(!condition.IsUnconditional && condition.ExpectedVersion is not null);
        var version = await base.WriteCoreAsync(data, condition, commitId, async, cancellationToken).ConfigureAwait(false);
        return version is null ? null : Landed(loss, version);
    }

    /// <inheritdoc/>
    protected override async ValueTask<Appended?> AppendCoreAsync(ReadOnlyMemory<byte> record, long expectedVersion, Guid commitId, bool async, CancellationToken cancellationToken)
    {
        var loss = Draw(isConditional: true);
        var appended = await base.AppendCoreAsync(record, expectedVersion, commitId, async, cancellationToken).ConfigureAwait(false);
        return appended is null ? null : Landed(loss, appended);
    }

    /// <inheritdoc/>
    protected override async ValueTask<Appended?> AppendCheckedCoreAsync(ReadOnlyMemory<byte> record, long expectedVersion, Guid commitId, AppendCheck check, bool async, CancellationToken cancellationToken)
    {
        var loss = Draw(isConditional: true);
        var appended = await base.AppendCheckedCoreAsync(record, expectedVersion, commitId, check, async, cancellationToken).ConfigureAwait(false);
        return appended is null ? null : Landed(loss, appended);
    }

    /// <summary>Decides this write's fate; a request lost before landing fails here, before it is sent.</summary>
    private ReplyLoss Draw(bool isConditional)
    {
        ReplyLoss loss;
        lock (_gate)
            loss = _policy(isConditional);
        if (loss == ReplyLoss.BeforeLanding)
            throw Lost(loss, "the request was lost before it reached the store");
        return loss;
    }

    private T Landed<T>(ReplyLoss loss, T result)
    {
        if (loss != ReplyLoss.AfterLanding)
            return result;
        Take(() => AfterLanding, () => AfterLanding = null)?.Invoke();
        throw Lost(loss, "the reply was lost after the write landed");
    }

    private BackendException Lost(ReplyLoss loss, string what)
    {
        lock (_gate)
            RepliesLost++;
        _injected?.Invoke(loss);
        return new BackendException($"Injected by the test kit: {what}.", isTransient: true);
    }

    private void RunBeforeRead() => Take(() => BeforeNextRead, () => BeforeNextRead = null)?.Invoke();

    private Action? Take(Func<Action?> get, Action clear)
    {
        lock (_gate)
        {
            var hook = get();
            clear();
            return hook;
        }
    }
}
