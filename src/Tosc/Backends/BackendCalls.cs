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
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return async
                    ? await _backend.TryWriteAsync(data, expectedVersion, commitId, cancellationToken).ConfigureAwait(false)
                    : _backend.TryWrite(data, expectedVersion, commitId, cancellationToken);
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
        try
        {
            return async
                ? await _backend.WriteAsync(data, commitId, cancellationToken).ConfigureAwait(false)
                : _backend.Write(data, commitId, cancellationToken);
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

    private async ValueTask<StoredState?> ReadBackAsync(BackendException writeFailure, bool async, CancellationToken cancellationToken)
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
