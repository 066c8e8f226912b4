namespace Tosc;

/// <summary>
/// The pause between the attempts of a backend's notification loop (an etcd watch, a LISTEN connection, a
/// subscription) to listen again after it broke: 100 ms, doubling up to 2 s, and 100 ms again once it listens. The
/// backend's poll covers the gap meanwhile. One instance belongs to one loop.
/// </summary>
public sealed class ReconnectDelay
{
    private static readonly TimeSpan First = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan Last = TimeSpan.FromSeconds(2);
    private TimeSpan _next = First;

    /// <summary>Starts the next series of pauses at the shortest again: the loop is listening.</summary>
    public void Reset() => _next = First;

    /// <summary>Waits the current pause and doubles the next one.</summary>
    /// <param name="cancellationToken">Stops the loop.</param>
    /// <returns><see langword="false"/> when <paramref name="cancellationToken"/> was cancelled: the loop should end.</returns>
    public async Task<bool> WaitAsync(CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(_next, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
        _next = TimeSpan.FromTicks(Math.Min(_next.Ticks * 2, Last.Ticks));
        return true;
    }
}
