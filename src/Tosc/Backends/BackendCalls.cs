using Polly;
using Polly.Retry;

namespace Tosc;

/// <summary>
/// The core's side of the backend contract: reads retried on transient failures (Polly), and writes
/// whose reply was lost resolved by reading back the commit id, never by blind retry.
/// </summary>
internal sealed class BackendCalls
{
    private readonly IBackend _backend;
    private readonly ResiliencePipeline _reads;
    private readonly int _attempts;

    public BackendCalls(IBackend backend, int retries)
    {
        _backend = backend;
        _attempts = retries + 1;
        _reads = retries == 0
            ? ResiliencePipeline.Empty
            : new ResiliencePipelineBuilder().AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<BackendException>(e => e.IsTransient),
                MaxRetryAttempts = retries,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromMilliseconds(50),
                MaxDelay = TimeSpan.FromSeconds(2),
            }).Build();
    }

    public IBackend Backend => _backend;

    /// <summary>The backend as a log store, or <see langword="null"/> when it keeps whole states only.</summary>
    public ToscBackend? Log => _backend as ToscBackend is { SupportsLog: true } log ? log : null;

    public async ValueTask<LogSlice> ReadLogAsync(long? afterVersion, bool async, CancellationToken cancellationToken)
    {
        var log = Log!;
        if (!async)
            return _reads.Execute(static (state, token) => state.log.ReadLog(state.afterVersion, token), (log, afterVersion), cancellationToken);
        return await _reads.ExecuteAsync(static (state, token) => state.log.ReadLogAsync(state.afterVersion, token), (log, afterVersion), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Appends a record under the version check; returns null when another commit got there first. A lost reply is
    /// resolved by finding the commit id in the log, a cancelled append by a fence record (<paramref name="fence"/>
    /// builds one for a commit id), so an append reported as failed can never land later.
    /// </summary>
    public async ValueTask<Appended?> TryAppendAsync(ReadOnlyMemory<byte> record, long expectedVersion, Guid commitId, Func<Guid, ReadOnlyMemory<byte>> fence, bool async, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested(); // cancelled before anything was sent: nothing to settle
        var log = Log!;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return async
                    ? await log.TryAppendAsync(record, expectedVersion, commitId, cancellationToken).ConfigureAwait(false)
                    : log.TryAppend(record, expectedVersion, commitId, cancellationToken);
            }
            catch (OperationCanceledException e) when (cancellationToken.IsCancellationRequested)
            {
                var (landed, head) = await FindAppendAsync(expectedVersion, commitId, e, async, CancellationToken.None).ConfigureAwait(false);
                if (landed is not null)
                    return landed;
                if (head == expectedVersion)
                {
                    var fenceId = Guid.NewGuid();
                    var fenced = async
                        ? await log.TryAppendAsync(fence(fenceId), expectedVersion, fenceId, CancellationToken.None).ConfigureAwait(false)
                        : log.TryAppend(fence(fenceId), expectedVersion, fenceId, CancellationToken.None);
                    if (fenced is not null)
                        throw; // definitely not stored, and now it never will be
                    (landed, _) = await FindAppendAsync(expectedVersion, commitId, e, async, CancellationToken.None).ConfigureAwait(false);
                    if (landed is not null)
                        return landed;
                }
                throw new CommitOutcomeUnknownException(e);
            }
            catch (BackendException e) when (e.IsTransient)
            {
                var (landed, head) = await FindAppendAsync(expectedVersion, commitId, e, async, cancellationToken).ConfigureAwait(false);
                if (landed is not null)
                    return landed;
                if (head != expectedVersion)
                    throw new CommitOutcomeUnknownException(e); // ours may be under a compaction or a whole-state write
                if (attempt >= _attempts)
                    throw;
                await PauseAsync(attempt, async, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Looks for the record of <paramref name="commitId"/> after <paramref name="expectedVersion"/>; returns it (as appended) and the store's version.</summary>
    private async ValueTask<(Appended? Landed, long? Head)> FindAppendAsync(long expectedVersion, Guid commitId, Exception failure, bool async, CancellationToken cancellationToken)
    {
        LogSlice slice;
        try
        {
            slice = await ReadLogAsync(expectedVersion, async, cancellationToken).ConfigureAwait(false);
        }
        catch (BackendException readFailure)
        {
            throw new CommitOutcomeUnknownException(new AggregateException(failure, readFailure));
        }
        foreach (var record in slice.Records)
        {
            if (record.CommitId == commitId)
                return (new Appended(record.Version, 0, 0), slice.Version);
        }
        if (slice.Snapshot?.CommitId == commitId)
            return (new Appended(slice.Snapshot.Version, 0, 0), slice.Version);
        return (null, slice.Version);
    }

    public async ValueTask<StoredState?> ReadAsync(bool async, CancellationToken cancellationToken)
    {
        if (!async)
            return _reads.Execute(static (backend, token) => backend.Read(token), _backend, cancellationToken);
        return await _reads.ExecuteAsync(static (backend, token) => backend.ReadAsync(token), _backend, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<long?> ReadVersionAsync(bool async, CancellationToken cancellationToken)
    {
        if (!async)
            return _reads.Execute(static (backend, token) => backend.ReadVersion(token), _backend, cancellationToken);
        return await _reads.ExecuteAsync(static (backend, token) => backend.ReadVersionAsync(token), _backend, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Compare-and-swap; returns the new version, or null when another commit got there first.</summary>
    public async ValueTask<long?> TryWriteAsync(ReadOnlyMemory<byte> data, long? expectedVersion, Guid commitId, bool async, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested(); // cancelled before anything was sent: nothing to settle
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return async
                    ? await _backend.TryWriteAsync(data, expectedVersion, commitId, cancellationToken).ConfigureAwait(false)
                    : _backend.TryWrite(data, expectedVersion, commitId, cancellationToken);
            }
            catch (OperationCanceledException e) when (cancellationToken.IsCancellationRequested)
            {
                return await SettleCancelledAsync(expectedVersion, commitId, e, async).ConfigureAwait(false);
            }
            catch (BackendException e) when (e.IsTransient)
            {
                // The write may or may not have landed: ask the store which.
                var stored = await ReadBackAsync(e, async, cancellationToken).ConfigureAwait(false);
                if (stored?.CommitId == commitId)
                    return stored.Version;
                if (stored?.Version != expectedVersion)
                {
                    // Ours may have landed with another commit on top: calling it a conflict would make
                    // Run apply the change twice. Only the caller can decide.
                    throw new CommitOutcomeUnknownException(e);
                }
                // Not landed, and nothing else did either: trying again cannot apply it twice.
                if (attempt >= _attempts)
                    throw;
                await PauseAsync(attempt, async, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Unconditional write; a lost reply is resolved by reading back, never by writing again.</summary>
    public async ValueTask<long> WriteAsync(ReadOnlyMemory<byte> data, Guid commitId, bool async, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested(); // cancelled before anything was sent: nothing to settle
        try
        {
            return async
                ? await _backend.WriteAsync(data, commitId, cancellationToken).ConfigureAwait(false)
                : _backend.Write(data, commitId, cancellationToken);
        }
        catch (OperationCanceledException e) when (cancellationToken.IsCancellationRequested)
        {
            var stored = await ReadBackAsync(e, async, CancellationToken.None).ConfigureAwait(false);
            if (stored?.CommitId == commitId)
                return stored.Version;
            throw new CommitOutcomeUnknownException(e);
        }
        catch (BackendException e) when (e.IsTransient)
        {
            var stored = await ReadBackAsync(e, async, cancellationToken).ConfigureAwait(false);
            if (stored?.CommitId == commitId)
                return stored.Version;
            // Another write is stored: ours either never landed or was overwritten. Writing again
            // could undo a newer write, so the caller decides.
            throw new CommitOutcomeUnknownException(e);
        }
    }

    /// <summary>
    /// A compare-and-swap was cancelled while in flight: it may have landed, or still land later (a command
    /// already sent is not taken back). Returns its version when it landed; otherwise moves the version on
    /// with the stored bytes (a fence) so it never can, and reports the cancellation.
    /// </summary>
    private async ValueTask<long?> SettleCancelledAsync(long? expectedVersion, Guid commitId, OperationCanceledException cancelled, bool async)
    {
        var stored = await ReadBackAsync(cancelled, async, CancellationToken.None).ConfigureAwait(false);
        if (stored?.CommitId == commitId)
            return stored.Version;
        if (stored is not null && stored.Version == expectedVersion)
        {
            var fence = Guid.NewGuid();
            var fenced = async
                ? await _backend.TryWriteAsync(stored.Data, expectedVersion, fence, CancellationToken.None).ConfigureAwait(false)
                : _backend.TryWrite(stored.Data, expectedVersion, fence, CancellationToken.None);
            if (fenced is not null)
                throw cancelled; // definitely not stored, and now it never will be
            stored = await ReadBackAsync(cancelled, async, CancellationToken.None).ConfigureAwait(false);
            if (stored?.CommitId == commitId)
                return stored.Version;
        }
        throw new CommitOutcomeUnknownException(cancelled);
    }

    private async ValueTask<StoredState?> ReadBackAsync(Exception writeFailure, bool async, CancellationToken cancellationToken)
    {
        try
        {
            return await ReadAsync(async, cancellationToken).ConfigureAwait(false);
        }
        catch (BackendException readFailure)
        {
            throw new CommitOutcomeUnknownException(new AggregateException(writeFailure, readFailure));
        }
    }

    private static async ValueTask PauseAsync(int attempt, bool async, CancellationToken cancellationToken)
    {
        var delay = TimeSpan.FromMilliseconds(Math.Min(2000, 25 * (1 << Math.Min(attempt, 6))) * (0.5 + Random.Shared.NextDouble() / 2));
        if (async)
            await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
        else if (cancellationToken.WaitHandle.WaitOne(delay))
            cancellationToken.ThrowIfCancellationRequested();
    }
}
