using Npgsql;

namespace Tosc;

/// <summary>
/// The LISTEN side of a <see cref="PostgresBackend"/>: one dedicated connection waiting for notifications on the
/// channel, signalling <see cref="ChangeSignal"/> for those naming its key. It pings the server when the channel is
/// quiet (so a connection that died silently is found and replaced) and reconnects with backoff when the connection
/// drops; every reconnect signals once, since notifications sent meanwhile are lost.
/// </summary>
/// <remarks>It holds the signal, not the backend, so a forgotten backend is not kept alive by this loop.</remarks>
internal sealed class PostgresListener : IDisposable
{
    /// <summary>How long the connection may stay quiet before a ping checks that it is still alive.</summary>
    internal static readonly TimeSpan KeepAlive = TimeSpan.FromSeconds(15);

    private readonly NpgsqlDataSource _dataSource;
    private readonly string _listen;
    private readonly string _key;
    private readonly int _timeoutSeconds;
    private readonly ChangeSignal _changes;
    private readonly CancellationTokenSource _stop = new();
    private Task _loop = Task.CompletedTask;

    public PostgresListener(NpgsqlDataSource dataSource, string listen, string key, int timeoutSeconds, ChangeSignal changes)
    {
        _dataSource = dataSource;
        _listen = listen;
        _key = key;
        _timeoutSeconds = timeoutSeconds;
        _changes = changes;
    }

    /// <summary>
    /// Listens on a first connection before returning, so a wait that starts now hears every later commit; then
    /// keeps listening in the background.
    /// </summary>
    public void Start()
    {
        var connection = _dataSource.OpenConnection();
        try
        {
            Subscribe(connection);
        }
        catch
        {
            connection.Dispose();
            throw;
        }
        _loop = Task.Run(() => RunAsync(connection));
    }

    /// <summary>Stops listening and closes the connection.</summary>
    public void Dispose()
    {
        _stop.Cancel();
        // Bounded: the loop only waits on the server with the stop token, so it ends promptly.
        _loop.Wait(TimeSpan.FromSeconds(5));
        _stop.Dispose();
    }

    private void Subscribe(NpgsqlConnection connection)
    {
        connection.Notification += OnNotification;
        using var command = new NpgsqlCommand(_listen, connection) { CommandTimeout = _timeoutSeconds };
        command.ExecuteNonQuery();
    }

    private async Task RunAsync(NpgsqlConnection? connection)
    {
        var retry = new ReconnectDelay();
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                if (connection is null)
                {
                    connection = await _dataSource.OpenConnectionAsync(_stop.Token).ConfigureAwait(false);
                    Subscribe(connection);
                    retry.Reset();
                    _changes.Notify(); // notifications sent while the connection was down are lost: waiters probe once
                }
                if (!await connection.WaitAsync(KeepAlive, _stop.Token).ConfigureAwait(false))
                {
                    await using var ping = new NpgsqlCommand("SELECT 1", connection) { CommandTimeout = _timeoutSeconds };
                    await ping.ExecuteNonQueryAsync(_stop.Token).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                break;
            }
#pragma warning disable CA1031 // A background loop: any failure means "reconnect"; the poll covers the gap.
            catch (Exception)
#pragma warning restore CA1031
            {
                await CloseAsync(connection).ConfigureAwait(false);
                connection = null;
                _changes.Notify();
                if (!await retry.WaitAsync(_stop.Token).ConfigureAwait(false))
                    break;
            }
        }
        await CloseAsync(connection).ConfigureAwait(false);
    }

    private async ValueTask CloseAsync(NpgsqlConnection? connection)
    {
        if (connection is null)
            return;
        connection.Notification -= OnNotification;
        try
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }
#pragma warning disable CA1031 // Closing a broken connection may fail in many ways; it is gone either way.
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }

    private void OnNotification(object sender, NpgsqlNotificationEventArgs e)
    {
        // Payload "<key>:<version>"; keys may contain ':', versions do not.
        var payload = e.Payload;
        var colon = payload.LastIndexOf(':');
        if (colon == _key.Length && payload.AsSpan(0, colon).SequenceEqual(_key))
            _changes.Notify();
    }
}
