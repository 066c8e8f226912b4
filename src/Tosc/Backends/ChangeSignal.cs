namespace Tosc;

/// <summary>
/// Wakes everyone waiting for a change. A backend calls <see cref="Notify"/> when its store's native
/// notification fires (inotify, Redis pub/sub, an etcd watch, LISTEN/NOTIFY); <see cref="ToscBackend"/>
/// waits on it between polls. Safe to use from any thread.
/// </summary>
public sealed class ChangeSignal
{
    private TaskCompletionSource _next = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Wakes every current waiter; a later <see cref="Current"/> waits for the next notification.</summary>
    public void Notify() =>
        Interlocked.Exchange(ref _next, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    /// <summary>
    /// A task that completes at the next <see cref="Notify"/>. Take it before probing the store, so a change that
    /// lands between the probe and the wait still wakes the waiter.
    /// </summary>
    public Task Current => Volatile.Read(ref _next).Task;
}
