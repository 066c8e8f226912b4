using StackExchange.Redis;

namespace Tosc;

// StackExchange.Redis 1.2 sometimes never reconnects after the server went away ("No connection is available"
// long after the server is back; StackExchange.Redis issues #762 and #1444). A connection the backend owns is
// therefore replaced by a fresh one when calls keep failing for ReconnectAfter. A caller's connection is left
// alone: its owner decides.
public sealed partial class RedisBackend
{
    private readonly Lock _swap = new();
    private long _failingSince; // Environment.TickCount64 of the first failure in a row; 0 while healthy
    private int _reconnecting;

    /// <summary>How long calls must keep failing on a connection the backend owns before it opens a fresh one.</summary>
    internal TimeSpan ReconnectAfter { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How many times the backend replaced its connection.</summary>
    internal int Reconnects { get; private set; }

    private void Healthy()
    {
        if (Volatile.Read(ref _failingSince) != 0)
            Volatile.Write(ref _failingSince, 0);
    }

    private void Unhealthy(Exception e)
    {
        if (_ownedSettings is null || e is not (RedisConnectionException or TimeoutException) || Volatile.Read(ref _disposed) != 0)
            return;
        var now = Environment.TickCount64;
        var since = Interlocked.CompareExchange(ref _failingSince, now, 0);
        if (since != 0 && now - since >= (long)ReconnectAfter.TotalMilliseconds && Interlocked.CompareExchange(ref _reconnecting, 1, 0) == 0)
            _ = Task.Run(ReplaceConnectionAsync);
    }

    /// <summary>Opens a fresh connection, subscribes on it, and swaps it in; the stuck one is closed.</summary>
    internal async Task ReplaceConnectionAsync()
    {
        var replaced = false;
        try
        {
            var fresh = await ConnectionMultiplexer.ConnectAsync(_ownedSettings!).ConfigureAwait(false);
            try
            {
                await fresh.GetSubscriber().SubscribeAsync(_channel, _onMessage).ConfigureAwait(false);
            }
            catch
            {
                Close(fresh);
                throw;
            }
            ConnectionMultiplexer stuck;
            lock (_swap)
            {
                if (Volatile.Read(ref _disposed) != 0)
                {
                    Close(fresh);
                    return;
                }
                stuck = _connection;
                stuck.ConnectionRestored -= _onRestored;
                fresh.ConnectionRestored += _onRestored;
                _database = fresh.GetDatabase(_databaseNumber);
                _connection = fresh;
                Reconnects++;
            }
            Close(stuck);
            replaced = true;
            // The script cache is per server, not per connection; NOSCRIPT reloads it if needed.
            _changes.Notify();
        }
        catch (Exception e) when (e is RedisException or TimeoutException or ObjectDisposedException)
        {
            // Still unreachable: the next call that fails after another ReconnectAfter tries again.
        }
        finally
        {
            Volatile.Write(ref _failingSince, replaced ? 0 : Environment.TickCount64);
            Volatile.Write(ref _reconnecting, 0);
        }
    }

    private static void Close(ConnectionMultiplexer connection)
    {
        // Without waiting for QUIT replies: a graceful close can wait a whole syncTimeout.
        connection.Close(allowCommandsToComplete: false);
        connection.Dispose();
    }
}
