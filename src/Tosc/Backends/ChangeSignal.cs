namespace Tosc;

/// <summary>
/// Wakes everyone waiting for a change. Backends with a native notification (an in-memory write,
/// inotify, Redis pub/sub) call <see cref="Notify"/>; <see cref="WaitAsync"/> implements
/// <see cref="IBackend.WaitForChangeAsync"/> on top of a cheap version probe.
/// </summary>
internal sealed class ChangeSignal
{
    private TaskCompletionSource _next = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Notify() =>
        Interlocked.Exchange(ref _next, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    /// <summary>Returns the probed version once it differs from <paramref name="knownVersion"/> or the timeout passes.</summary>
    public async ValueTask<long?> WaitAsync(Func<CancellationToken, ValueTask<long?>> probeVersion, long? knownVersion, TimeSpan timeout, CancellationToken cancellationToken)
    {
        // Take the signal before probing: a write that lands between the probe and the wait still wakes us.
        var signal = Volatile.Read(ref _next).Task;
        var current = await probeVersion(cancellationToken).ConfigureAwait(false);
        if (current != knownVersion)
            return current;
        try
        {
            await signal.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // A quiet period: report whatever is stored now.
        }
        return await probeVersion(cancellationToken).ConfigureAwait(false);
    }
}
