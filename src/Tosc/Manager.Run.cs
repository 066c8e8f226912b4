using System.Collections.Concurrent;
using Polly;
using Polly.Retry;
using Tosc.Diagnostics;
using Tosc.Transactions;

namespace Tosc;

public sealed partial class Manager
{
    private static readonly ResiliencePropertyKey<RetryState> s_retryState = new("tosc.retry");
    private readonly ConcurrentDictionary<int, ResiliencePipeline> _pipelines = new();

    /// <summary>
    /// Runs <paramref name="body"/> in a transaction and commits it; on a conflict, reruns it (with exponential
    /// backoff and jitter) until it commits, the retries are used up, or the deadline passes.
    /// Inside a running transaction, just runs the body as part of it.
    /// </summary>
    /// <param name="body">The work; it must read the live objects it changes anew on every run.</param>
    /// <param name="retries">Reruns allowed after the first attempt; <see langword="null"/> for <see cref="ManagerOptions.Retries"/>.</param>
    /// <param name="timeout">The deadline for all attempts; <see langword="null"/> for <see cref="ManagerOptions.Timeout"/>.</param>
    /// <exception cref="TransactionRetryException">Every attempt conflicted.</exception>
    /// <exception cref="TransactionTimeoutException">The deadline passed before an attempt committed.</exception>
    public void Run(Action body, int? retries = null, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(body);
        Run(() =>
        {
            body();
            return true;
        }, retries, timeout);
    }

    /// <inheritdoc cref="Run(Action, int?, TimeSpan?)"/>
    /// <returns>What the committed run of the body returned.</returns>
    public T Run<T>(Func<T> body, int? retries = null, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(body);
        ThrowIfDisposed();
        if (CurrentWork() is not null)
        {
            // Inside a transaction: a savepoint. If the body throws, exactly its changes are undone; conflicts are
            // found (and the whole transaction rerun) by the outermost commit, so there is nothing to retry here.
            using var scope = Transaction();
            var nested = body();
            scope.Commit();
            return nested;
        }
        var state = new RetryState(this, timeout ?? _options.Timeout);
        var context = state.Rent(CancellationToken.None);
        try
        {
            return Pipeline(retries).Execute(static (context, arg) =>
            {
                arg.manager.AwaitTurnAsync(arg.state.Attempts, async: false, context.CancellationToken).GetAwaiter().GetResult();
                arg.state.Attempts++;
                using var transaction = arg.manager.Transaction();
                var result = arg.body();
                transaction.Commit();
                return result;
            }, context, (manager: this, body, state));
        }
        catch (Exception e) when (state.Translate(e) is { } translated)
        {
            throw translated;
        }
        finally
        {
            state.Return(context);
        }
    }

    /// <inheritdoc cref="Run(Action, int?, TimeSpan?)"/>
    /// <param name="body">The work; it must read the live objects it changes anew on every run.</param>
    /// <param name="retries">Reruns allowed after the first attempt; <see langword="null"/> for <see cref="ManagerOptions.Retries"/>.</param>
    /// <param name="timeout">The deadline for all attempts; <see langword="null"/> for <see cref="ManagerOptions.Timeout"/>.</param>
    /// <param name="cancellationToken">Cancels waiting, backoff and the commit.</param>
    public Task RunAsync(Func<Task> body, int? retries = null, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(body);
        return RunAsync(async () =>
        {
            await body().ConfigureAwait(false);
            return true;
        }, retries, timeout, cancellationToken);
    }

    /// <inheritdoc cref="RunAsync(Func{Task}, int?, TimeSpan?, CancellationToken)"/>
    /// <returns>What the committed run of the body returned.</returns>
    public async Task<T> RunAsync<T>(Func<Task<T>> body, int? retries = null, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(body);
        ThrowIfDisposed();
        if (CurrentWork() is not null)
        {
            var scope = await TransactionAsync(cancellationToken).ConfigureAwait(false);
            await using (scope.ConfigureAwait(false))
            {
                var nested = await body().ConfigureAwait(false);
                await scope.CommitAsync(cancellationToken).ConfigureAwait(false);
                return nested;
            }
        }
        var state = new RetryState(this, timeout ?? _options.Timeout);
        var context = state.Rent(cancellationToken);
        try
        {
            return await Pipeline(retries).ExecuteAsync(static async (context, arg) =>
            {
                await arg.manager.AwaitTurnAsync(arg.state.Attempts, async: true, context.CancellationToken).ConfigureAwait(false);
                arg.state.Attempts++;
                var transaction = await arg.manager.TransactionAsync(context.CancellationToken).ConfigureAwait(false);
                await using (transaction.ConfigureAwait(false))
                {
                    var result = await arg.body().ConfigureAwait(false);
                    await transaction.CommitAsync(context.CancellationToken).ConfigureAwait(false);
                    return result;
                }
            }, context, (manager: this, body, state)).ConfigureAwait(false);
        }
        catch (Exception e) when (state.Translate(e, cancellationToken) is { } translated)
        {
            throw translated;
        }
        finally
        {
            state.Return(context);
        }
    }

    /// <summary>
    /// Wraps <paramref name="target"/> in a proxy whose methods marked <see cref="TransactionalAttribute"/> run as
    /// retried transactions (<see cref="Run{T}(Func{T}, int?, TimeSpan?)"/>, or <c>RunAsync</c> for methods returning
    /// Task, Task&lt;T&gt;, ValueTask or ValueTask&lt;T&gt;).
    /// </summary>
    /// <typeparam name="T">An interface, or a class whose marked methods are virtual.</typeparam>
    public T Transactional<T>(T target) where T : class
    {
        ArgumentNullException.ThrowIfNull(target);
        ThrowIfDisposed();
        return TransactionalProxies.Create(this, target);
    }

    private ResiliencePipeline Pipeline(int? retries)
    {
        var count = retries ?? _options.Retries;
        ArgumentOutOfRangeException.ThrowIfNegative(count, nameof(retries));
        return _pipelines.GetOrAdd(count, static (count, options) => count == 0
            ? ResiliencePipeline.Empty
            : new ResiliencePipelineBuilder { TimeProvider = options.TimeProvider }.AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = static args => ValueTask.FromResult(
                    args.Outcome.Exception is TransactionConflictException
                    && (!args.Context.Properties.TryGetValue(s_retryState, out var state) || !state.DeadlinePassed)),
                MaxRetryAttempts = count,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.RetryBaseDelay,
                MaxDelay = options.RetryMaxDelay,
                OnRetry = static _ =>
                {
                    ToscDiagnostics.Retries.Add(1);
                    return ValueTask.CompletedTask;
                },
            }).Build(), _options);
    }

    /// <summary>One retried run: attempts, deadline, and the mapping of its end to Tosc's exceptions.</summary>
    private sealed class RetryState(Manager manager, TimeSpan? timeout)
    {
        private readonly long _started = manager._options.TimeProvider.GetTimestamp();
        private CancellationTokenSource? _deadline;

        public int Attempts { get; set; }

        public bool DeadlinePassed => timeout is { } limit && manager._options.TimeProvider.GetElapsedTime(_started) >= limit;

        public ResilienceContext Rent(CancellationToken cancellationToken)
        {
            var token = cancellationToken;
            if (timeout is { } limit)
            {
                // The deadline also cuts backoff delays short.
                _deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                _deadline.CancelAfter(limit);
                token = _deadline.Token;
            }
            var context = ResilienceContextPool.Shared.Get(token);
            context.Properties.Set(s_retryState, this);
            return context;
        }

        public void Return(ResilienceContext context)
        {
            ResilienceContextPool.Shared.Return(context);
            _deadline?.Dispose();
        }

        public Exception? Translate(Exception e, CancellationToken callerToken = default)
        {
            if (e is TransactionConflictException conflict)
            {
                return DeadlinePassed
                    ? new TransactionTimeoutException(timeout!.Value, Attempts, conflict)
                    : new TransactionRetryException(Attempts, conflict);
            }
            if (e is OperationCanceledException && !callerToken.IsCancellationRequested && _deadline?.IsCancellationRequested == true)
                return new TransactionTimeoutException(timeout!.Value, Attempts, e);
            return null;
        }
    }
}
