using Tosc.Diagnostics;

namespace Tosc;

public sealed partial class Manager
{
    private static readonly TimeSpan OwnedPollWait = TimeSpan.FromMinutes(1);

    private void EnsureWatching()
    {
        if (!_options.WatchForChanges || _watcher is not null || Volatile.Read(ref _disposed) == 1)
            return;
        lock (_stopping)
        {
            if (_watcher is not null)
                return;
            var weak = new WeakReference<Manager>(this);
            var token = _stopping.Token;
            // A ToscBackend polls at its own interval inside the wait; the watcher's timeout then only bounds how
            // long a manager nobody references keeps its loop.
            var wait = _calls.Backend is ToscBackend ? OwnedPollWait : _options.PollInterval;
            _watcher = Task.Run(() => WatchAsync(weak, _calls.Backend, wait, token), CancellationToken.None);
        }
    }

    /// <summary>
    /// The watcher loop. It holds its manager weakly between rounds, so a manager nobody references can be
    /// collected (the loop then ends); it never dies on an error: it logs, backs off and continues.
    /// </summary>
    private static async Task WatchAsync(WeakReference<Manager> weak, IBackend backend, TimeSpan pollInterval, CancellationToken cancellationToken)
    {
        var failures = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                if (!TryKnownVersion(weak, out var known))
                    return;
                var seen = await backend.WaitForChangeAsync(known, pollInterval, cancellationToken).ConfigureAwait(false);
                if (seen == known && failures == 0)
                    continue;
                if (!weak.TryGetTarget(out var manager))
                    return;
                var applying = manager.ApplyRemoteAsync(seen, cancellationToken);
                manager = null;
                await applying.ConfigureAwait(false);
                failures = 0;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (Exception e)
            {
                failures++;
                if (weak.TryGetTarget(out var manager))
                {
                    if (e is ToscDataException unreadable)
                        manager.ReportUnreadable(unreadable);
                    else
                        ToscLog.WatcherFailed(manager._logger, e, failures);
                }
                manager = null;
                var pause = TimeSpan.FromMilliseconds(Math.Min(30_000, 100 * Math.Pow(2, Math.Min(failures, 9))));
                try
                {
                    await Task.Delay(pause, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private static bool TryKnownVersion(WeakReference<Manager> weak, out long? known)
    {
        known = null;
        if (!weak.TryGetTarget(out var manager))
            return false;
        known = manager.Version;
        return true;
    }

    /// <summary>
    /// Applies a fetched state on the application's synchronization context (a UI thread), between its own work: code
    /// running there never sees the live objects move between two reads. Returns false when it could not apply it now
    /// (a transaction holds the manager: the context's thread is never blocked waiting for it; or the version moved).
    /// </summary>
    private async Task<bool> PublishOnContextAsync(SynchronizationContext context, LogSlice fetched, long? before, CancellationToken cancellationToken)
    {
        var applied = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        context.Post(_ =>
        {
            if (!_exclusive.Wait(0))
            {
                applied.TrySetResult(false);
                return;
            }
            ChangedEventArgs? changed = null;
            try
            {
                if (Volatile.Read(ref _disposed) == 0 && Version == before)
                    changed = Publish(fetched, _rootType, reuse: true);
            }
            catch (Exception e)
            {
                _exclusive.Release();
                applied.TrySetException(e);
                return;
            }
            _exclusive.Release();
            RaiseChanged(changed);
            applied.TrySetResult(Version != before || changed is not null);
        }, null);
        using (cancellationToken.Register(() => applied.TrySetCanceled(cancellationToken)))
        {
            if (await applied.Task.ConfigureAwait(false))
                return true;
        }
        await Task.Delay(TimeSpan.FromMilliseconds(5), cancellationToken).ConfigureAwait(false);
        return false;
    }

    /// <summary>Applies a newer stored state once no transaction runs (it waits for the running one to end).</summary>
    private async Task ApplyRemoteAsync(long? seen, CancellationToken cancellationToken)
    {
        // This manager's own commits wake the watcher too, often before the commit has published its
        // version: let a running commit finish, and skip the read when the version seen is our own.
        if (Version == seen)
            return;
        await _exclusive.WaitAsync(cancellationToken).ConfigureAwait(false);
        var current = Version;
        _exclusive.Release();
        if (current == seen)
            return;
        while (true)
        {
            var before = Version;
            var fetched = PushedSlice() ?? await FetchAsync(_rootType, async: true, cancellationToken).ConfigureAwait(false);
            if (fetched.Version == before)
                return;
            if (_options.SynchronizationContext is { } context && SynchronizationContext.Current != context)
            {
                if (await PublishOnContextAsync(context, fetched, before, cancellationToken).ConfigureAwait(false))
                    return;
                continue; // a transaction held the manager, or a local commit moved on: read again
            }
            ChangedEventArgs? changed;
            await _exclusive.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                if (Volatile.Read(ref _disposed) == 1)
                    return;
                if (Version != before)
                    continue; // a local commit moved on meanwhile: read again
                changed = Publish(fetched, _rootType, reuse: true);
            }
            finally
            {
                _exclusive.Release();
            }
            RaiseChanged(changed);
            return;
        }
    }
}
