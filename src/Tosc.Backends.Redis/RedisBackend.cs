using System.Globalization;
using StackExchange.Redis;

namespace Tosc;

/// <summary>
/// Keeps one Tosc value in Redis, shared by every process that opens the same key: a hash holding the
/// version, the encoded value and the commit id, changed only by a Lua script that compares and swaps
/// in one step and publishes each new version, so other processes learn about changes at once.
/// </summary>
/// <remarks>
/// The server address, TLS and the password go in the StackExchange.Redis configuration string, for example
/// <c>"redis.example.com:6380,ssl=true,password=..."</c>. Requires Redis 5 or later. A second key is an
/// independent store. See docs/redis-backend.md for the stored layout, the failure behaviour and the options.
/// </remarks>
public sealed partial class RedisBackend : IBackend
{
    private static readonly RedisValue[] StateFields = ["tosc", "version", "data", "commit"];
    private static readonly RedisValue[] ProbeFields = ["tosc", "version"];

    // Replaced together (under _swap) when a connection the backend owns is stuck; see RedisBackend.Reconnect.cs.
    private volatile ConnectionMultiplexer _connection;
    private volatile IDatabase _database;
    private readonly ConfigurationOptions? _ownedSettings;
    private readonly int _databaseNumber;
    private readonly string _keyName;
    private readonly RedisKey[] _keys;
    private readonly RedisChannel _channel;
    private readonly RedisValue _publishChannel;
    private readonly RedisValue _clientId = Guid.NewGuid().ToString("N");
    private readonly TimeSpan _operationTimeout;
    private readonly TimeSpan _pollInterval;
    private readonly string _endpoints;
    private readonly ChangeSignal _changes = new();
    private readonly CancellationTokenSource _disposing = new();
    private readonly Action<RedisChannel, RedisValue> _onMessage;
    private readonly EventHandler<ConnectionFailedEventArgs> _onRestored;
    private byte[] _scriptSha = [];
    private int _disposed;

    /// <summary>
    /// Connects to the server(s) in <paramref name="configuration"/> and opens the store at
    /// <see cref="RedisBackendOptions.KeyPrefix"/> + <paramref name="key"/>. The backend owns this connection and closes it on
    /// <see cref="Dispose"/>.
    /// </summary>
    /// <param name="configuration">A StackExchange.Redis configuration string: endpoints, <c>password=</c>, <c>ssl=</c>, ...</param>
    /// <param name="key">The store's key, without the prefix.</param>
    /// <param name="options">Settings; <see langword="null"/> uses the defaults.</param>
    /// <exception cref="BackendException">The server is unreachable (transient) or refused the password (not transient).</exception>
    public RedisBackend(string configuration, string key, RedisBackendOptions? options = null)
        : this(Connect(configuration, Prepare(key, options, out var validated), out var settings), settings, key, validated)
    {
    }

    /// <summary>
    /// Opens the store at <see cref="RedisBackendOptions.KeyPrefix"/> + <paramref name="key"/> over a connection the caller
    /// owns; <see cref="Dispose"/> leaves that connection open. Only the options' timeouts that bound asynchronous calls
    /// apply: synchronous calls follow the connection's own <c>syncTimeout</c>.
    /// </summary>
    /// <param name="connection">An open connection; it may be shared with other code and other backends.</param>
    /// <param name="key">The store's key, without the prefix.</param>
    /// <param name="options">Settings; <see langword="null"/> uses the defaults.</param>
    /// <exception cref="BackendException">The server is unreachable (transient) or refused the password (not transient).</exception>
    public RedisBackend(ConnectionMultiplexer connection, string key, RedisBackendOptions? options = null)
        : this(connection ?? throw new ArgumentNullException(nameof(connection)), ownedSettings: null, key, Prepare(key, options, out _))
    {
    }

    private RedisBackend(ConnectionMultiplexer connection, ConfigurationOptions? ownedSettings, string key, RedisBackendOptions options)
    {
        _connection = connection;
        _ownedSettings = ownedSettings;
        try
        {
            _operationTimeout = options.OperationTimeout;
            _pollInterval = options.PollInterval;
            _databaseNumber = options.Database;
            _database = connection.GetDatabase(options.Database);
            _keyName = options.KeyPrefix + key;
            _keys = [_keyName];
            _endpoints = Describe(connection.GetEndPoints());
            // Pub/sub ignores database numbers, so the channel names the database as well as the key.
            var channelName = string.Create(CultureInfo.InvariantCulture, $"{_keyName}:changes:{_database.Database}");
            _channel = new RedisChannel(channelName, RedisChannel.PatternMode.Literal);
            // The client adds a configured channelPrefix when subscribing, but the script publishes the raw name.
            string? channelPrefix = ConfigurationOptions.Parse(connection.Configuration, ignoreUnknown: true).ChannelPrefix;
            _publishChannel = channelPrefix + channelName;
            _onMessage = OnMessage;
            _onRestored = OnConnectionRestored;
            try
            {
                LoadScriptAsync(async: false, CancellationToken.None).GetAwaiter().GetResult();
                connection.GetSubscriber().Subscribe(_channel, _onMessage);
            }
            catch (Exception e) when (Translate(e, "open the store") is { } failure)
            {
                throw failure;
            }
            // Messages published while the connection was down are lost: wake the waiters so they read the version.
            connection.ConnectionRestored += _onRestored;
        }
        catch
        {
            if (ownedSettings is not null)
                Close(connection);
            throw;
        }
    }

    /// <summary>The full Redis key of the store: <see cref="RedisBackendOptions.KeyPrefix"/> + key.</summary>
    public string Key => _keyName;

    internal ConnectionMultiplexer Connection => _connection;

    /// <inheritdoc/>
    public StoredState? Read(CancellationToken cancellationToken = default) =>
        ReadCoreAsync(async: false, cancellationToken).GetAwaiter().GetResult();

    /// <inheritdoc/>
    public ValueTask<StoredState?> ReadAsync(CancellationToken cancellationToken = default) =>
        ReadCoreAsync(async: true, cancellationToken);

    /// <inheritdoc/>
    public long? ReadVersion(CancellationToken cancellationToken = default) =>
        ReadVersionCoreAsync(async: false, cancellationToken).GetAwaiter().GetResult();

    /// <inheritdoc/>
    public ValueTask<long?> ReadVersionAsync(CancellationToken cancellationToken = default) =>
        ReadVersionCoreAsync(async: true, cancellationToken);

    /// <inheritdoc/>
    public long Write(ReadOnlyMemory<byte> data, Guid commitId, CancellationToken cancellationToken = default) =>
        StoreAsync(async: false, data, RedisStoreScript.AnyVersion, commitId, cancellationToken).GetAwaiter().GetResult()!.Value;

    /// <inheritdoc/>
    public async ValueTask<long> WriteAsync(ReadOnlyMemory<byte> data, Guid commitId, CancellationToken cancellationToken = default) =>
        (await StoreAsync(async: true, data, RedisStoreScript.AnyVersion, commitId, cancellationToken).ConfigureAwait(false))!.Value;

    /// <inheritdoc/>
    public long? TryWrite(ReadOnlyMemory<byte> data, long? expectedVersion, Guid commitId, CancellationToken cancellationToken = default) =>
        StoreAsync(async: false, data, Expected(expectedVersion), commitId, cancellationToken).GetAwaiter().GetResult();

    /// <inheritdoc/>
    public ValueTask<long?> TryWriteAsync(ReadOnlyMemory<byte> data, long? expectedVersion, Guid commitId, CancellationToken cancellationToken = default) =>
        StoreAsync(async: true, data, Expected(expectedVersion), commitId, cancellationToken);

    /// <inheritdoc/>
    public async ValueTask<long?> WaitForChangeAsync(long? knownVersion, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        if (timeout < TimeSpan.Zero && timeout != Timeout.InfiniteTimeSpan)
            throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "The timeout must be positive, zero or Timeout.InfiniteTimeSpan.");
        var deadline = timeout == Timeout.InfiniteTimeSpan ? DateTime.MaxValue : DateTime.UtcNow + timeout;
        // Dispose ends a wait at once, even while a probe is in flight.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _disposing.Token);
        while (true)
        {
            // Wait in slices of PollInterval: each slice ends with a probe, the safety net for lost messages.
            var left = deadline == DateTime.MaxValue ? _pollInterval : deadline - DateTime.UtcNow;
            var slice = left < _pollInterval ? left : _pollInterval;
            if (slice < TimeSpan.Zero)
                slice = TimeSpan.Zero;
            long? version;
            try
            {
                var signal = _changes.Current;
                version = await ProbeVersionAsync(stop.Token).ConfigureAwait(false);
                if (version == knownVersion)
                {
                    try
                    {
                        await signal.WaitAsync(slice, stop.Token).ConfigureAwait(false);
                    }
                    catch (TimeoutException)
                    {
                    }
                    version = await ProbeVersionAsync(stop.Token).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // Only Dispose cancels the linked token on its own.
                throw new ObjectDisposedException($"The RedisBackend of key '{_keyName}' was disposed while the wait ran.");
            }
            if (version != knownVersion || deadline - DateTime.UtcNow <= TimeSpan.Zero)
                return version;
        }
    }

    /// <summary>Stops listening for changes; closes the connection only when this backend opened it.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        _disposing.Cancel();
        lock (_swap)
        {
            _connection.ConnectionRestored -= _onRestored;
            if (_ownedSettings is not null)
            {
                Close(_connection);
            }
            else
            {
                try
                {
                    // Removes only this backend's handler; other subscribers on the caller's connection keep theirs.
                    _connection.GetSubscriber().Unsubscribe(_channel, _onMessage, CommandFlags.FireAndForget);
                }
                catch (Exception e) when (e is RedisException or ObjectDisposedException)
                {
                    // The caller's connection is down or closed: there is nothing left to unsubscribe from.
                }
            }
        }
        _changes.Notify();
        _disposing.Dispose();
    }

    private async ValueTask<StoredState?> ReadCoreAsync(bool async, CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            var fields = async
                ? await _database.HashGetAsync(_keys[0], StateFields).WaitAsync(_operationTimeout, cancellationToken).ConfigureAwait(false)
                : _database.HashGet(_keys[0], StateFields);
            Healthy();
            if (!fields[0].IsNull || !fields[1].IsNull)
                return Parse(fields);
            // Nothing of ours: an empty store, or a hash someone else owns. Only this rare case pays a second call.
            var exists = async
                ? await _database.KeyExistsAsync(_keys[0]).WaitAsync(_operationTimeout, cancellationToken).ConfigureAwait(false)
                : _database.KeyExists(_keys[0]);
            if (!exists)
                return null;
            // The key appeared meanwhile (a first write racing this read) or is foreign: one more look decides.
            fields = async
                ? await _database.HashGetAsync(_keys[0], StateFields).WaitAsync(_operationTimeout, cancellationToken).ConfigureAwait(false)
                : _database.HashGet(_keys[0], StateFields);
            return Parse(fields) ?? throw Foreign(NoMarker);
        }
        catch (Exception e) when (Translate(e, "read") is { } failure)
        {
            throw failure;
        }
    }

    private ValueTask<long?> ProbeVersionAsync(CancellationToken cancellationToken) => ReadVersionCoreAsync(async: true, cancellationToken);

    private async ValueTask<long?> ReadVersionCoreAsync(bool async, CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();
        RedisValue[] fields;
        try
        {
            fields = async
                ? await _database.HashGetAsync(_keys[0], ProbeFields).WaitAsync(_operationTimeout, cancellationToken).ConfigureAwait(false)
                : _database.HashGet(_keys[0], ProbeFields);
        }
        catch (Exception e) when (Translate(e, "read the version of") is { } failure)
        {
            throw failure;
        }
        Healthy();
        var (marker, version) = (fields[0], fields[1]);
        if (marker.IsNull)
            return version.IsNull ? null : throw Foreign(NoMarker);
        if ((string?)marker != RedisStoreScript.FormatMarker)
            throw Foreign(OtherLayout((string?)marker));
        return version.IsNull ? null : ParseVersion(version);
    }

    private async ValueTask<long?> StoreAsync(bool async, ReadOnlyMemory<byte> data, string expected, Guid commitId, CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();
        RedisValue[] args = [expected, data.ToArray(), commitId.ToString("N"), _publishChannel, _clientId];
        long version;
        try
        {
            var result = await EvaluateAsync(async, args, cancellationToken).ConfigureAwait(false);
            Healthy();
            if (result.IsNull)
                return null;
            version = ParseVersion((RedisValue)result);
        }
        catch (Exception e) when (MayHaveReachedTheServer(e))
        {
            Unhealthy(e);
            version = await SettleAsync(async, commitId, e, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (Translate(e, "write") is { } failure)
        {
            throw failure;
        }
        // Other managers sharing this instance learn about the write here; the pub/sub echo is ignored.
        _changes.Notify();
        return version;
    }

    /// <summary>
    /// Finds out whether a write whose reply was lost committed, by looking up its commit id in the store's recent
    /// history. It never writes again. Commands on one connection run in order, so once this lookup ran, the lost
    /// call can no longer commit later: a "not committed" answer is final.
    /// </summary>
    /// <returns>The version the write produced.</returns>
    /// <exception cref="BackendException">Transient: the write did not commit, or the server stayed away so the outcome is unknown.</exception>
    private async ValueTask<long> SettleAsync(bool async, Guid commitId, Exception failure, CancellationToken cancellationToken)
    {
        var field = RedisStoreScript.CommitField(commitId);
        var started = DateTime.UtcNow;
        var pause = TimeSpan.FromMilliseconds(20);
        var where = $"Redis at {_endpoints}";
        Exception last = failure;
        while (true)
        {
            try
            {
                var remaining = _operationTimeout - (DateTime.UtcNow - started);
                var produced = async
                    ? await _database.HashGetAsync(_keys[0], field).WaitAsync(remaining > TimeSpan.Zero ? remaining : TimeSpan.FromMilliseconds(1), cancellationToken).ConfigureAwait(false)
                    : _database.HashGet(_keys[0], field);
                Healthy();
                if (!produced.IsNull)
                    return ParseVersion(produced);
                throw new BackendException($"Could not write key '{_keyName}': the call to {where} failed ({failure.Message}). It did not commit (checked by its commit id), so it may be tried again.", isTransient: true, failure);
            }
            catch (Exception e) when (MayHaveReachedTheServer(e) || e is RedisConnectionException)
            {
                Unhealthy(e);
                last = e;
            }
            catch (Exception e) when (Translate(e, "write") is { } translated)
            {
                throw translated;
            }
            if (DateTime.UtcNow - started + pause >= _operationTimeout)
            {
                throw new BackendException(
                    $"Could not write key '{_keyName}': the call to {where} failed ({failure.Message}) and the server did not answer again within {_operationTimeout.TotalMilliseconds:0} ms, " +
                    $"so whether commit {commitId:N} was stored is unknown; reading the store back tells.", isTransient: true, new AggregateException(failure, last));
            }
            if (async)
                await Task.Delay(pause, cancellationToken).ConfigureAwait(false);
            else if (cancellationToken.WaitHandle.WaitOne(pause))
                cancellationToken.ThrowIfCancellationRequested();
            pause = TimeSpan.FromTicks(Math.Min(pause.Ticks * 2, TimeSpan.FromMilliseconds(500).Ticks));
        }
    }

    private async ValueTask<RedisResult> EvaluateAsync(bool async, RedisValue[] args, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            var sha = Volatile.Read(ref _scriptSha);
            try
            {
                return async
                    ? await _database.ScriptEvaluateAsync(sha, _keys, args).WaitAsync(_operationTimeout, cancellationToken).ConfigureAwait(false)
                    : _database.ScriptEvaluate(sha, _keys, args);
            }
            catch (RedisServerException e) when (attempt == 0 && e.Message.StartsWith("NOSCRIPT", StringComparison.Ordinal))
            {
                // The server lost its script cache (restart, SCRIPT FLUSH, failover). The script did not run,
                // so loading it and calling it again is not a blind retry of the write.
                await LoadScriptAsync(async, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async ValueTask LoadScriptAsync(bool async, CancellationToken cancellationToken)
    {
        byte[]? sha = null;
        foreach (var endpoint in _connection.GetEndPoints())
        {
            var server = _connection.GetServer(endpoint);
            if (!server.IsConnected)
                continue;
            sha = async
                ? await server.ScriptLoadAsync(RedisStoreScript.Text).WaitAsync(_operationTimeout, cancellationToken).ConfigureAwait(false)
                : server.ScriptLoad(RedisStoreScript.Text);
        }
        if (sha is null)
            throw new BackendException($"No Redis server at {_endpoints} is connected, so the store '{_keyName}' cannot be used; check that the server is running and reachable.", isTransient: true);
        Volatile.Write(ref _scriptSha, sha);
    }

    private void OnMessage(RedisChannel channel, RedisValue message)
    {
        // "<version> <commit id> <client id>": skip this client's own commits, StoreAsync already signalled them.
        var text = (string?)message;
        if (text is not null && text.EndsWith((string)_clientId!, StringComparison.Ordinal))
            return;
        _changes.Notify();
    }

    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs e) => _changes.Notify();

    private StoredState? Parse(RedisValue[] fields)
    {
        var (marker, version, data, commit) = (fields[0], fields[1], fields[2], fields[3]);
        if (marker.IsNull && version.IsNull)
            return null;
        if (marker.IsNull)
            throw Foreign(NoMarker);
        if ((string?)marker != RedisStoreScript.FormatMarker)
            throw Foreign(OtherLayout((string?)marker));
        if (version.IsNull || data.IsNull || !Guid.TryParseExact((string?)commit, "N", out var commitId))
            throw Foreign("an incomplete Tosc store (a field among version, data, commit is missing or malformed); delete the key if it is stale");
        return new StoredState(ParseVersion(version), (byte[])data!, commitId);
    }

    private long ParseVersion(RedisValue value)
    {
        if (long.TryParse((string?)value, NumberStyles.None, CultureInfo.InvariantCulture, out var version))
            return version;
        throw Foreign($"a version that is not a number ('{value}')");
    }

    private static string Expected(long? version) =>
        version is { } v ? v.ToString(CultureInfo.InvariantCulture) : RedisStoreScript.NoVersion;

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
}
