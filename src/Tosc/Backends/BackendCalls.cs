using System.Diagnostics;
using Polly;
using Polly.Retry;

namespace Tosc;

/// <summary>
/// The core's side of the backend contract: reads retried on transient failures (Polly), and writes
/// whose reply was lost resolved by reading back the commit id, never by blind retry.
/// </summary>
internal sealed class BackendCalls
{
    /// <summary>
    /// How long reading back after a commit in doubt keeps retrying transient failures. A read that failed after this
    /// long is not retried: a frozen server holds every call for a whole operation timeout, and retrying such reads
    /// with the timeout each kept the committing caller waiting half a minute. Failures within it are retried: a
    /// dropped connection, or a server that was busy for a moment (a read-back queued behind the very commit whose
    /// reply timed out). Three seconds is the Redis backend's default operation timeout.
    /// </summary>
    internal static readonly TimeSpan ReadBackRetryWindow = TimeSpan.FromSeconds(3);

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
    public ValueTask<Appended?> TryAppendAsync(ReadOnlyMemory<byte> record, long expectedVersion, Guid commitId, AppendCheck? check, Func<Guid, ReadOnlyMemory<byte>> fence, bool async, CancellationToken cancellationToken) =>
        SettleAsync(new AppendCommit(this, record, expectedVersion, commitId, check, fence), async, cancellationToken);

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
    public ValueTask<long?> TryWriteAsync(ReadOnlyMemory<byte> data, long? expectedVersion, Guid commitId, bool async, CancellationToken cancellationToken) =>
        SettleAsync(new WholeStateCommit(this, data, expectedVersion, commitId), async, cancellationToken);

    /// <summary>
    /// Sends a conditional commit, and settles it when its outcome is in doubt: the one place that owns the lost-reply
    /// rules for whole-state writes and appends alike.
    /// </summary>
    private async ValueTask<T?> SettleAsync<T>(ConditionalCommit<T> commit, bool async, CancellationToken cancellationToken) where T : struct
    {
        cancellationToken.ThrowIfCancellationRequested(); // cancelled before anything was sent: nothing to settle
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await commit.SendAsync(async, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException e) when (cancellationToken.IsCancellationRequested)
            {
                // It may have landed, or still land later (a command already sent is not taken back): find out, and
                // when it has not, move the version on (a fence) so it never can.
                var (landed, head) = await commit.FindAsync(e, async, CancellationToken.None).ConfigureAwait(false);
                if (landed is not null)
                    return landed;
                if (head == commit.ExpectedVersion && await commit.FenceAsync(async).ConfigureAwait(false) is { } fenced)
                {
                    if (fenced)
                        throw; // definitely not stored, and now it never will be
                    (landed, _) = await commit.FindAsync(e, async, CancellationToken.None).ConfigureAwait(false);
                    if (landed is not null)
                        return landed;
                }
                throw new CommitOutcomeUnknownException(e);
            }
            catch (BackendException e) when (e.IsTransient)
            {
                // The commit may or may not have landed: ask the store which.
                var (landed, head) = await commit.FindAsync(e, async, cancellationToken).ConfigureAwait(false);
                if (landed is not null)
                    return landed;
                if (head != commit.ExpectedVersion)
                {
                    // Ours may have landed with another commit on top (or under a compaction): calling it a conflict
                    // would make Run apply the change twice. Only the caller can decide.
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

    private async ValueTask<StoredState?> ReadBackAsync(Exception writeFailure, bool async, CancellationToken cancellationToken)
    {
        try
        {
            return await ReadForSettlingAsync(
                static (backend, async, token) => async ? backend.ReadAsync(token) : new(backend.Read(token)), _backend, async, cancellationToken).ConfigureAwait(false);
        }
        catch (BackendException readFailure)
        {
            throw new CommitOutcomeUnknownException(new AggregateException(writeFailure, readFailure));
        }
    }

    /// <summary>A read that settles a commit in doubt: transient failures are retried only within <see cref="ReadBackRetryWindow"/>.</summary>
    private async ValueTask<T> ReadForSettlingAsync<T, TBackend>(Func<TBackend, bool, CancellationToken, ValueTask<T>> read, TBackend backend, bool async, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await read(backend, async, cancellationToken).ConfigureAwait(false);
            }
            catch (BackendException e) when (e.IsTransient && attempt < _attempts && Stopwatch.GetElapsedTime(started) < ReadBackRetryWindow)
            {
                await PauseAsync(attempt, async, cancellationToken).ConfigureAwait(false);
            }
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

    /// <summary>A conditional commit the core may have to settle: how to send it, find whether it landed, and fence it.</summary>
    private abstract class ConditionalCommit<T>(long? expectedVersion) where T : struct
    {
        public long? ExpectedVersion { get; } = expectedVersion;

        public abstract ValueTask<T?> SendAsync(bool async, CancellationToken cancellationToken);

        /// <summary>Ours, when the store shows that it landed; and the store's version.</summary>
        public abstract ValueTask<(T? Landed, long? Head)> FindAsync(Exception failure, bool async, CancellationToken cancellationToken);

        /// <summary>Moves the version on so the commit can never land: true when done, false when another commit got there first, null when no fence can be made.</summary>
        public abstract ValueTask<bool?> FenceAsync(bool async);
    }

    /// <summary>A whole state stored by compare-and-swap; the stored commit id tells whether it landed.</summary>
    private sealed class WholeStateCommit(BackendCalls calls, ReadOnlyMemory<byte> data, long? expectedVersion, Guid commitId) : ConditionalCommit<long>(expectedVersion)
    {
        private StoredState? _stored;

        public override async ValueTask<long?> SendAsync(bool async, CancellationToken cancellationToken) => async
            ? await calls._backend.TryWriteAsync(data, ExpectedVersion, commitId, cancellationToken).ConfigureAwait(false)
            : calls._backend.TryWrite(data, ExpectedVersion, commitId, cancellationToken);

        public override async ValueTask<(long? Landed, long? Head)> FindAsync(Exception failure, bool async, CancellationToken cancellationToken)
        {
            _stored = await calls.ReadBackAsync(failure, async, cancellationToken).ConfigureAwait(false);
            return (_stored?.CommitId == commitId ? _stored.Version : null, _stored?.Version);
        }

        /// <summary>Writes the stored bytes again under the version check; an empty store has none to write.</summary>
        public override async ValueTask<bool?> FenceAsync(bool async)
        {
            if (_stored is not { } stored)
                return null;
            var fence = Guid.NewGuid();
            var fenced = async
                ? await calls._backend.TryWriteAsync(stored.Data, ExpectedVersion, fence, CancellationToken.None).ConfigureAwait(false)
                : calls._backend.TryWrite(stored.Data, ExpectedVersion, fence, CancellationToken.None);
            return fenced is not null;
        }
    }

    /// <summary>A log record appended under the version check; the log keeps every record's commit id.</summary>
    private sealed class AppendCommit(BackendCalls calls, ReadOnlyMemory<byte> record, long expectedVersion, Guid commitId, AppendCheck? check, Func<Guid, ReadOnlyMemory<byte>> fence)
        : ConditionalCommit<Appended>(expectedVersion)
    {
        private readonly ToscBackend _log = calls.Log!;

        public override async ValueTask<Appended?> SendAsync(bool async, CancellationToken cancellationToken) => (check, async) switch
        {
            (null, true) => await _log.TryAppendAsync(record, expectedVersion, commitId, cancellationToken).ConfigureAwait(false),
            (null, false) => _log.TryAppend(record, expectedVersion, commitId, cancellationToken),
            (_, true) => await _log.TryAppendCheckedAsync(record, expectedVersion, commitId, check, cancellationToken).ConfigureAwait(false),
            _ => _log.TryAppendChecked(record, expectedVersion, commitId, check, cancellationToken),
        };

        public override async ValueTask<(Appended? Landed, long? Head)> FindAsync(Exception failure, bool async, CancellationToken cancellationToken)
        {
            LogSlice slice;
            try
            {
                slice = await calls.ReadForSettlingAsync(
                    (log, async, token) => async ? log.ReadLogAsync(expectedVersion, token) : new(log.ReadLog(expectedVersion, token)), _log, async, cancellationToken).ConfigureAwait(false);
            }
            catch (BackendException readFailure)
            {
                throw new CommitOutcomeUnknownException(new AggregateException(failure, readFailure));
            }
            for (var i = 0; i < slice.Records.Count; i++)
            {
                // A checked append may have landed after other commits: those are the ones before it here, unless
                // the log was compacted past the expected version meanwhile.
                if (slice.Records[i].CommitId == commitId)
                    return (new Appended(slice.Records[i].Version, 0, 0) { PlacedAfter = check is null ? [] : slice.Snapshot is null ? [.. slice.Records.Take(i)] : null }, slice.Version);
            }
            if (slice.Snapshot?.CommitId == commitId)
                return (new Appended(slice.Snapshot.Version, 0, 0) { PlacedAfter = check is null ? [] : null }, slice.Version);
            return (null, slice.Version);
        }

        /// <summary>Appends an empty record in the commit's place.</summary>
        public override async ValueTask<bool?> FenceAsync(bool async)
        {
            var fenceId = Guid.NewGuid();
            var fenced = async
                ? await _log.TryAppendAsync(fence(fenceId), expectedVersion, fenceId, CancellationToken.None).ConfigureAwait(false)
                : _log.TryAppend(fence(fenceId), expectedVersion, fenceId, CancellationToken.None);
            return fenced is not null;
        }
    }
}
