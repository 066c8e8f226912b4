using System.Diagnostics;
using Tosc.Changes;
using Tosc.Transactions;
using Tosc.Diagnostics;
using Tosc.Live;

namespace Tosc;

public sealed partial class Manager
{
    internal delegate void Mutation<TNode, TArg>(TNode node, TArg arg, UnitOfWork work);

    internal delegate TResult Mutation<TNode, TArg, TResult>(TNode node, TArg arg, UnitOfWork work);

    /// <summary>Starts a transaction, or a nested scope of the one this flow is running.</summary>
    /// <remarks>Waits while another flow of this manager runs a transaction.</remarks>
    public Transaction Transaction()
    {
        ThrowIfDisposed();
        var box = EnterFlow();
        if (box.Work is { } running)
            return Nested(running, box);
        _exclusive.Wait();
        return Begin(box);
    }

    /// <inheritdoc cref="Transaction()"/>
    public ValueTask<Transaction> TransactionAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        // The flow's box is set here, in the caller's execution context, before anything is awaited:
        // an AsyncLocal assigned inside an async method would not flow back to the caller.
        var box = EnterFlow();
        if (box.Work is { } running)
            return new ValueTask<Transaction>(Nested(running, box));
        return BeginAsync(box, cancellationToken);
    }

    internal UnitOfWork? CurrentWork() => _flow.Value?.Work;

    /// <summary>Runs one change of a live node: recorded in the flow's transaction, or committed at once.</summary>
    internal void Mutate<TNode, TArg>(TNode node, TArg arg, Mutation<TNode, TArg> mutation) where TNode : ILiveNode =>
        Mutate(node, (arg, mutation), static (n, pair, work) =>
        {
            pair.mutation(n, pair.arg, work);
            return true;
        });

    internal TResult Mutate<TNode, TArg, TResult>(TNode node, TArg arg, Mutation<TNode, TArg, TResult> mutation) where TNode : ILiveNode
    {
        ThrowIfDisposed();
        var work = CurrentWork();
        if (work is not null)
        {
            TResult result;
            lock (Gate)
                result = MutateDeep(node, arg, work, mutation);
            Interlocked.Increment(ref _structureStamp);
            return result;
        }
        _exclusive.Wait();
        try
        {
            work = new UnitOfWork(this, Version, isImplicit: true);
            TResult result;
            lock (Gate)
                result = MutateDeep(node, arg, work, mutation);
            Interlocked.Increment(ref _structureStamp);
            CommitAsync(work, async: false, CancellationToken.None).GetAwaiter().GetResult();
            return result;
        }
        finally
        {
            Release();
        }
    }

    /// <summary>
    /// Runs a mutation, again on a deep thread when the value it adds nests deeper than this thread holds (a
    /// mutation converts the value to live objects before it changes anything, so starting over is safe).
    /// </summary>
    private TResult MutateDeep<TNode, TArg, TResult>(TNode node, TArg arg, UnitOfWork work, Mutation<TNode, TArg, TResult> mutation) where TNode : ILiveNode =>
        Serialization.DeepValues.Run(_options.MaxDepth, () => mutation(node, arg, work));

    internal async ValueTask CommitAsync(UnitOfWork work, bool async, CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _disposed) == 1)
        {
            // A transaction left open across Dispose: its manager no longer watches or refreshes, so nothing is stored.
            RollBack(work);
            ThrowIfDisposed();
        }
        work.Completed = true;
        if (!work.HasChanges)
        {
            // Nothing to store, but a committed transaction promises its reads were current: check the version (a
            // cheap probe) and, when it moved, whether what moved it wrote anything read here; if so, the body reruns.
            if (!work.IsImplicit && await _calls.ReadVersionAsync(async, cancellationToken).ConfigureAwait(false) != work.BaseVersion
                && !await ReadsStillHoldAsync(work, async, cancellationToken).ConfigureAwait(false))
                await ConflictAsync(work, async, cancellationToken).ConfigureAwait(false);
            return;
        }
        using var activity = ToscDiagnostics.Activities.StartActivity("tosc.commit");
        var started = Stopwatch.GetTimestamp();
        long? version;
        try
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (_ops is not null && work.BaseVersion is not null)
            {
                version = await AppendRebasingAsync(work, async, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                var data = Protect(Encode(_root, _rootType));
                ToscDiagnostics.StateSize.Record(data.Length);
                _lastCommitId = Guid.NewGuid();
                version = await _calls.TryWriteAsync(data, work.BaseVersion, _lastCommitId, async, cancellationToken).ConfigureAwait(false);
                _encoder.ReleaseLargeBuffers();
            }
        }
        catch
        {
            RollBack(work);
            throw;
        }
        if (version is null)
        {
            activity?.SetStatus(ActivityStatusCode.Error, "conflict");
            await ConflictAsync(work, async, cancellationToken).ConfigureAwait(false);
        }
        lock (Gate)
        {
            _version = version;
            SetLease(null); // a commit ends any lease, the one this manager held included
            if (Committed is not null)
                _pendingCommitted = new ChangedEventArgs(work.BaseVersion, version, DescribeOwn(work.Changes), _lastCommitId);
            NotifyCommitted(work.Changes);
            work.ClearDirty();
            work.Forget();
        }
        ToscDiagnostics.Commits.Add(1);
        ToscDiagnostics.CommitDuration.Record(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        await CompactIfDueAsync(async, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Rolls back, refreshes (so a rerun sees the state that won) and throws the conflict.</summary>
    private async ValueTask ConflictAsync(UnitOfWork work, bool async, CancellationToken cancellationToken)
    {
        RollBack(work);
        ToscDiagnostics.Conflicts.Add(1);
        long? actual = null;
        try
        {
            // Refresh now, so a rerun of the body sees the state that won: from the log the commit just read when
            // it starts at this manager's version, else from the store. The Changed event waits until the
            // transaction has released the flow, so a handler's changes never join the failed one.
            var known = _collidedWith;
            _collidedWith = null;
            var fetched = known is not null && known.Snapshot is null && known.AfterVersion == _version && !_fullLoadNeeded
                ? known
                : await FetchAsync(_rootType, async, cancellationToken).ConfigureAwait(false);
            _pendingChanged = Publish(fetched, _rootType, reuse: true) ?? _pendingChanged;
            actual = fetched.Version;
        }
        catch (ToscDataException unreadable)
        {
            // Not a conflict: rerunning the body cannot help while the stored state cannot be read here.
            ReportUnreadable(unreadable);
            throw;
        }
        catch (BackendException e)
        {
            ToscLog.RefreshFailed(_logger, e);
        }
        throw new TransactionConflictException(work.BaseVersion, actual, work.ConflictingPaths);
    }

    internal void RollBack(UnitOfWork work)
    {
        work.Completed = true;
        lock (Gate)
            work.RollBack();
        Interlocked.Increment(ref _structureStamp);
    }

    /// <summary>Ends the outermost scope: clears the flow's transaction and lets other flows (and the watcher) in.</summary>
    internal void EndOutermost(FlowBoxHandle box)
    {
        StopTracking();
        box.Clear();
        Release();
    }

    /// <summary>Releases the exclusive lock, then raises a Changed event that a conflict refresh left pending.</summary>
    private void Release()
    {
        var changed = _pendingChanged;
        var committed = _pendingCommitted;
        _pendingChanged = null;
        _pendingCommitted = null;
        _exclusive.Release();
        RaiseChanged(changed);
        RaiseCommitted(committed);
        DispatchNotifications();
    }

    private Transaction Nested(UnitOfWork running, FlowBox box)
    {
        running.Depth++;
        Savepoint savepoint;
        lock (Gate)
            savepoint = running.Mark();
        return new Transaction(this, running, new FlowBoxHandle(box), outermost: false, savepoint);
    }

    /// <summary>A nested scope ended without commit: exactly its own changes are undone; the transaction goes on.</summary>
    internal void RollBackTo(UnitOfWork work, Savepoint savepoint)
    {
        lock (Gate)
            work.RollBackTo(savepoint);
        Interlocked.Increment(ref _structureStamp);
    }

    private Transaction Begin(FlowBox box)
    {
        try
        {
            var work = new UnitOfWork(this, Version, isImplicit: false);
            box.Work = work;
            StartTracking();
            return new Transaction(this, work, new FlowBoxHandle(box), outermost: true);
        }
        catch
        {
            _exclusive.Release();
            throw;
        }
    }

    private async ValueTask<Transaction> BeginAsync(FlowBox box, CancellationToken cancellationToken)
    {
        await _exclusive.WaitAsync(cancellationToken).ConfigureAwait(false);
        return Begin(box);
    }

    private FlowBox EnterFlow()
    {
        var box = _flow.Value;
        if (box?.Work is not null)
            return box;
        // A fresh box per outermost transaction: sibling flows that inherited an old one never share it.
        box = new FlowBox();
        _flow.Value = box;
        return box;
    }

    /// <summary>
    /// Holds the manager exclusively (as a transaction does) unless this flow's transaction already does.
    /// </summary>
    private async ValueTask<Exclusive> EnterExclusiveAsync(bool async, CancellationToken cancellationToken)
    {
        if (CurrentWork() is not null)
            return default;
        if (async)
            await _exclusive.WaitAsync(cancellationToken).ConfigureAwait(false);
        else
            _exclusive.Wait(cancellationToken);
        return new Exclusive(_exclusive);
    }

    private readonly struct Exclusive(SemaphoreSlim? held) : IDisposable
    {
        public void Dispose() => held?.Release();
    }

    /// <summary>Lets a <see cref="Tosc.Transaction"/> clear its flow's box without seeing the private type.</summary>
    internal readonly struct FlowBoxHandle
    {
        private readonly FlowBox _box;

        public FlowBoxHandle(object box) => _box = (FlowBox)box;

        public void Clear() => _box.Work = null;
    }
}
