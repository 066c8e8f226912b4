using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;
using StackExchange.Redis;

namespace Tosc;

/// <summary>
/// Keeps one Tosc value in Redis, shared by every process that opens the same key: a hash holding the
/// version, the snapshot and the commit id, and a stream beside it holding the log records of the commits since the
/// snapshot. Both change only through Lua scripts that check the version and write in one step and publish each new
/// version, so other processes learn about changes at once.
/// </summary>
/// <remarks>
/// The server address, TLS, the ACL user and the password go in the StackExchange.Redis configuration string, for
/// example <c>"redis.example.com:6380,ssl=true,user=app,password=..."</c>. Requires Redis 5 or later. A second key
/// is an independent store. Commits append log records (<see cref="SupportsLog"/>), so they cost what they change.
/// See docs/redis-backend.md for the stored layout, the ACL rules, the failure behaviour and the options.
/// </remarks>
public sealed class RedisBackend : ToscBackend
{
    private static readonly RedisValue[] ProbeFields = ["tosc", "version"];

    private readonly IConnectionMultiplexer _connection;
    private readonly bool _ownsConnection;
    private readonly IDatabase _database;
    private readonly RedisKey[] _keys;
    private readonly RedisChannel _channel;
    private readonly RedisValue _publishChannel;
    private readonly string _clientId = Guid.NewGuid().ToString("N");
    private readonly byte[] _clientIdBytes;
    private readonly string _endpoints;
    private readonly Action<RedisChannel, RedisValue> _onMessage;
    private readonly EventHandler<ConnectionFailedEventArgs> _onConnectionChange;
    private readonly int _replicas;
    private readonly object[] _waitArguments;
    // Not 0 while a commit of this backend may be stored on the master without the replicas having it (its reply or
    // its WAIT fell short): log reads then wait for the replicas too, so the core's read-back only reports it stored
    // once it is replicated. Counts doubts, so a WAIT clears it only when no new doubt arose while it was under way.
    private long _doubts;

    /// <summary>
    /// Connects to the server(s) in <paramref name="configuration"/> and opens the store at
    /// <see cref="RedisBackendOptions.KeyPrefix"/> + <paramref name="key"/>. The backend owns this connection and closes
    /// it when disposed.
    /// </summary>
    /// <param name="configuration">A StackExchange.Redis configuration string: endpoints, <c>user=</c>, <c>password=</c>, <c>ssl=</c>, ...</param>
    /// <param name="key">The store's key, without the prefix.</param>
    /// <param name="options">Settings; <see langword="null"/> uses the defaults.</param>
    /// <exception cref="ArgumentException">The configuration string, the key or an option is not valid.</exception>
    /// <exception cref="BackendException">The server is unreachable (transient) or refused the credentials (not transient).</exception>
    public RedisBackend(string configuration, string key, RedisBackendOptions? options = null)
        : this(Connect(configuration, key, Validated(options)), ownsConnection: true, key, Validated(options))
    {
    }

    /// <summary>
    /// Opens the store at <see cref="RedisBackendOptions.KeyPrefix"/> + <paramref name="key"/> over a connection the caller
    /// owns; disposing the backend leaves that connection open. The connection's own timeouts apply, and it should be
    /// configured with <see cref="BacklogPolicy.FailFast"/> so calls made while it is disconnected fail at once instead
    /// of waiting for a reconnect (see docs/redis-backend.md).
    /// </summary>
    /// <param name="multiplexer">A connected multiplexer; it may be shared with other code and other backends.</param>
    /// <param name="key">The store's key, without the prefix.</param>
    /// <param name="options">Settings; <see langword="null"/> uses the defaults. The timeouts of the options do not apply.</param>
    /// <exception cref="ArgumentException">The key or an option is not valid.</exception>
    /// <exception cref="BackendException">The server is unreachable (transient) or refused the credentials or the key (not transient).</exception>
    public RedisBackend(IConnectionMultiplexer multiplexer, string key, RedisBackendOptions? options = null)
        : this(multiplexer ?? throw new ArgumentNullException(nameof(multiplexer)), ownsConnection: false, key, Validated(options))
    {
    }

    private RedisBackend(IConnectionMultiplexer connection, bool ownsConnection, string key, RedisBackendOptions options)
        : base(options.PollInterval)
    {
        _connection = connection;
        _ownsConnection = ownsConnection;
        try
        {
            ArgumentException.ThrowIfNullOrEmpty(key);
            _database = connection.GetDatabase(options.Database);
            Key = options.KeyPrefix + key;
            LogKey = LogKeyOf(Key);
            _keys = [Key, LogKey];
            _endpoints = Describe(connection.GetEndPoints());
            _replicas = options.WaitForReplicas;
            _waitArguments = [options.WaitForReplicas, (long)options.WaitForReplicasTimeout.TotalMilliseconds];
            CheckClusterLayout(connection);
            // Pub/sub ignores database numbers, so the channel names the database as well as the key.
            var channelName = string.Create(CultureInfo.InvariantCulture, $"{Key}:changes:{_database.Database}");
            _channel = RedisChannel.Literal(channelName);
            // The client adds a configured channelPrefix when subscribing, but the script publishes the raw name.
            _publishChannel = ConfigurationOptions.Parse(connection.Configuration, ignoreUnknown: true).ChannelPrefix + channelName;
            _onMessage = OnMessage;
            _clientIdBytes = System.Text.Encoding.ASCII.GetBytes(_clientId);
            // Messages published while the connection was down are lost: forget what was pushed, and wake waiters to
            // read the store.
            _onConnectionChange = (_, _) =>
            {
                ForgetPushed();
                Changes.Notify();
            };
            // Fail fast on credentials, ACL rules and a foreign value at the key, not at the first commit.
            ReadVersion();
            ProbeLogKey();
        }
        catch when (ownsConnection)
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>The full Redis key of the store: <see cref="RedisBackendOptions.KeyPrefix"/> + key.</summary>
    public string Key { get; }

    /// <summary>
    /// The Redis key of the store's log stream: <c>{Key}:log</c>, or <c>Key:log</c> when <see cref="Key"/> already
    /// has a cluster hash tag, so a cluster keeps both keys in one slot.
    /// </summary>
    public string LogKey { get; }

    /// <inheritdoc/>
    /// <remarks>The records are entries of the stream at <see cref="LogKey"/>, appended by the same script that checks the version.</remarks>
    public override bool SupportsLog => true;

    /// <inheritdoc/>
    /// <remarks>Yes: every append publishes a change message.</remarks>
    public override bool NotifiesChanges => true;

    /// <inheritdoc/>
    /// <remarks>The append script compares the tokens itself, in the same atomic step as the version check.</remarks>
    public override bool ChecksConflicts => true;

    internal IConnectionMultiplexer Connection => _connection;

    /// <inheritdoc/>
    protected override async ValueTask<StoredState?> ReadCoreAsync(bool async, CancellationToken cancellationToken) =>
        StoredState.FromLog(await ReadLogCoreAsync(null, async, cancellationToken).ConfigureAwait(false));

    /// <inheritdoc/>
    protected override async ValueTask<long?> ReadVersionCoreAsync(bool async, CancellationToken cancellationToken)
    {
        RedisValue[] fields;
        try
        {
            fields = await HashGetAsync(ProbeFields, async, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (Translate(e, "read the version of") is { } failure)
        {
            throw failure;
        }
        var (marker, version) = (fields[0], fields[1]);
        if (marker.IsNull)
            return version.IsNull ? null : throw Foreign(NoMarker);
        if (!IsKnownLayout(marker))
            throw Foreign(OtherLayout((string?)marker));
        return version.IsNull ? null : ParseVersion(version);
    }

    /// <inheritdoc/>
    /// <remarks>
    /// One EVALSHA of <see cref="RedisStoreScript.Write"/>; never retried here. A timed-out call is settled by the core,
    /// which reads back on the same connection: StackExchange.Redis sends the commands of one connection in order, so
    /// the read-back is answered after the lost call ran or was dropped, never before.
    /// </remarks>
    protected override async ValueTask<long?> WriteCoreAsync(ReadOnlyMemory<byte> data, WriteCondition condition, Guid commitId, bool async, CancellationToken cancellationToken)
    {
        var expected = condition.IsUnconditional ? RedisStoreScript.AnyVersion
            : condition.ExpectedVersion is { } v ? v.ToString(CultureInfo.InvariantCulture) : RedisStoreScript.NoVersion;
        RedisValue[] args = [expected, data.ToArray(), commitId.ToString("N"), _publishChannel, _clientId];
        try
        {
            var result = await EvaluateCommitAsync(RedisStoreScript.Write, args, "write", async, cancellationToken).ConfigureAwait(false);
            return result.IsNull ? null : ParseVersion((RedisValue)result);
        }
        catch (Exception e) when (Translate(e, "write") is { } failure)
        {
            throw failure;
        }
    }

    /// <inheritdoc/>
    /// <remarks>
    /// One EVALSHA of <see cref="RedisStoreScript.Append"/>: the version check, the stream entry, the commit history and
    /// the change message in one step; never retried here (the core settles a lost reply by the commit id in the log).
    /// </remarks>
    protected override async ValueTask<Appended?> AppendCoreAsync(ReadOnlyMemory<byte> record, long expectedVersion, Guid commitId, bool async, CancellationToken cancellationToken)
    {
        RedisValue[] args = [expectedVersion.ToString(CultureInfo.InvariantCulture), record.ToArray(), commitId.ToString("N"), _publishChannel, _clientId];
        try
        {
            var result = await EvaluateCommitAsync(RedisStoreScript.Append, args, "append to", async, cancellationToken).ConfigureAwait(false);
            return result.IsNull ? null : ParseAppended((string?)result, placedAfter: []);
        }
        catch (Exception e) when (Translate(e, "append to") is { } failure)
        {
            throw failure;
        }
    }

    /// <inheritdoc/>
    /// <remarks>
    /// The same EVALSHA as a plain append, with the tokens: the script compares them with the write tokens stored in
    /// the stream entries after the expected version (field <c>w</c>), and replies with those entries when it put the
    /// record after them.
    /// </remarks>
    protected override async ValueTask<Appended?> AppendCheckedCoreAsync(ReadOnlyMemory<byte> record, long expectedVersion, Guid commitId, AppendCheck check, bool async, CancellationToken cancellationToken)
    {
        RedisValue[] args =
        [
            expectedVersion.ToString(CultureInfo.InvariantCulture), record.ToArray(), commitId.ToString("N"), _publishChannel, _clientId,
            check.Reads.ToArray(), check.Writes.ToArray(),
        ];
        try
        {
            var result = await EvaluateCommitAsync(RedisStoreScript.Append, args, "append to", async, cancellationToken).ConfigureAwait(false);
            if (result.IsNull)
                return null;
            // [summary, (version, commit id, record)...]; the summary ends in " ?" when the entries are no longer known.
            var reply = result.Resp2Type == ResultType.Array ? (RedisResult[])result! : throw Foreign($"a checked append reply that is not an array ({result.Resp2Type})");
            if (reply.Length == 0 || (reply.Length - 1) % 3 != 0)
                throw Foreign("a checked append reply that is not a summary and (version, commit id, record) triples");
            var summary = (string?)reply[0];
            if (summary?.EndsWith(" ?", StringComparison.Ordinal) == true)
                return ParseAppended(summary[..^2], placedAfter: null);
            return ParseAppended(summary, ParseRecords(reply, 1));
        }
        catch (Exception e) when (Translate(e, "append to") is { } failure)
        {
            throw failure;
        }
    }

    // "<version> <records> <bytes>"
    private Appended ParseAppended(string? summary, IReadOnlyList<LogRecord>? placedAfter)
    {
        if (summary?.Split(' ') is not [var version, var records, var bytes]
            || !int.TryParse(records, NumberStyles.None, CultureInfo.InvariantCulture, out var count)
            || !long.TryParse(bytes, NumberStyles.None, CultureInfo.InvariantCulture, out var size))
            throw Foreign($"an append reply that is not '<version> <records> <bytes>' ('{summary}')");
        return new Appended(ParseVersion(version), count, size) { PlacedAfter = placedAfter };
    }

    /// <inheritdoc/>
    /// <remarks>
    /// One EVALSHA of <see cref="RedisStoreScript.ReadLog"/>: a version the log holds costs one stream lookup and the
    /// entries after it (XRANGE by the version, which is the entry id), not the whole log.
    /// </remarks>
    protected override async ValueTask<LogSlice> ReadLogCoreAsync(long? afterVersion, bool async, CancellationToken cancellationToken)
    {
        // A negative version was never stored; asking for it is asking for the snapshot.
        var after = afterVersion is { } a && a >= 0 ? a.ToString(CultureInfo.InvariantCulture) : RedisStoreScript.NoVersion;
        RedisResult[] reply;
        try
        {
            var confirm = Interlocked.Read(ref _doubts) != 0;
            var result = await EvaluateAsync(RedisStoreScript.ReadLog, [after], "read", async, cancellationToken).ConfigureAwait(false);
            reply = result.Resp2Type == ResultType.Array ? (RedisResult[])result! : throw Foreign($"a read reply that is not an array ({result.Resp2Type})");
            if (confirm)
                await WaitForReplicasAsync("read", async, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (Translate(e, "read") is { } failure)
        {
            throw failure;
        }
        return ParseSlice(reply, afterVersion);
    }

    /// <inheritdoc/>
    /// <remarks>One EVALSHA of <see cref="RedisStoreScript.Compact"/>: the checks, the new snapshot and an exact XTRIM.</remarks>
    protected override async ValueTask<bool> CompactCoreAsync(ReadOnlyMemory<byte> snapshot, long version, bool async, CancellationToken cancellationToken)
    {
        if (version <= 0)
            return false; // never a version of this store
        RedisValue[] args = [snapshot.ToArray(), version.ToString(CultureInfo.InvariantCulture)];
        try
        {
            var result = await EvaluateAsync(RedisStoreScript.Compact, args, "compact", async, cancellationToken).ConfigureAwait(false);
            return !result.IsNull;
        }
        catch (Exception e) when (Translate(e, "compact") is { } failure)
        {
            throw failure;
        }
    }

    /// <inheritdoc/>
    protected override void StartWatching()
    {
        _connection.ConnectionFailed += _onConnectionChange;
        _connection.ConnectionRestored += _onConnectionChange;
        try
        {
            _connection.GetSubscriber().SubscribeAsync(_channel, _onMessage).GetAwaiter().GetResult(); // the Task API: see CallAsync
        }
        catch (Exception e) when (Translate(e, "subscribe to the changes of") is { } failure)
        {
            _connection.ConnectionFailed -= _onConnectionChange;
            _connection.ConnectionRestored -= _onConnectionChange;
            throw failure;
        }
    }

    /// <summary>Stops listening for changes; closes the connection only when this backend opened it.</summary>
    protected override void Dispose(bool disposing)
    {
        if (!disposing)
            return;
        _connection.ConnectionFailed -= _onConnectionChange;
        _connection.ConnectionRestored -= _onConnectionChange;
        if (_ownsConnection)
        {
            // Without waiting for replies: a graceful close can take a whole timeout when the server is away.
            _connection.Close(allowCommandsToComplete: false);
            _connection.Dispose();
            return;
        }
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

    private static RedisBackendOptions Validated(RedisBackendOptions? options) => (options ?? new RedisBackendOptions()).Validated();

    private static ConnectionMultiplexer Connect(string configuration, string key, RedisBackendOptions options)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(configuration);
        ArgumentException.ThrowIfNullOrEmpty(key);
        ConfigurationOptions settings;
        try
        {
            settings = ConfigurationOptions.Parse(configuration);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"The Redis configuration string is not valid: {e.Message}", nameof(configuration), e);
        }
        if (settings.EndPoints.Count == 0)
            throw new ArgumentException("The Redis configuration string names no server; start it with host:port, for example \"127.0.0.1:6379\".", nameof(configuration));
        settings.ConnectTimeout = (int)options.ConnectTimeout.TotalMilliseconds;
        settings.SyncTimeout = settings.AsyncTimeout = (int)options.OperationTimeout.TotalMilliseconds;
        // Fail at construction with a clear error rather than hand out a backend that cannot reach its server.
        settings.AbortOnConnectFail = true;
        // A command must never wait for a reconnect and run long after its caller was told it failed.
        settings.BacklogPolicy = BacklogPolicy.FailFast;
        try
        {
            return ConnectionMultiplexer.Connect(settings);
        }
        catch (RedisConnectionException e)
        {
            var where = $"Redis at {Describe(settings.EndPoints)}";
            if (e.FailureType == ConnectionFailureType.AuthenticationFailure)
                throw Refused(where, e);
            throw new BackendException($"Could not connect to {where} (connect timeout {options.ConnectTimeout.TotalMilliseconds:0} ms): check that the server is running, that host and port in the configuration string are right, and ssl= against the server's TLS setting. ({e.Message})", isTransient: true, e);
        }
    }

    private async ValueTask<RedisValue[]> HashGetAsync(RedisValue[] fields, bool async, CancellationToken cancellationToken)
    {
        var values = await CallAsync(_database.HashGetAsync(_keys[0], fields), async, cancellationToken).ConfigureAwait(false);
        return values?.Length == fields.Length ? values : throw NoReply("read");
    }

    /// <summary>
    /// Waits for a call made through the client's Task API, blocking when the caller is synchronous. The client's
    /// synchronous API is not used: it reuses one result slot per thread, and a call that failed at once (a connection
    /// not ready) can still be completed later into that slot, handing the thread's next call an empty result (seen as
    /// "no reply" from a healthy server in repeated test runs). A Task is never reused. StackExchange.Redis
    /// takes no token, so cancellation stops the wait, not the command.
    /// </summary>
    private static async ValueTask<T> CallAsync<T>(Task<T> call, bool async, CancellationToken cancellationToken)
    {
        try
        {
            return async
                ? await call.WaitAsync(cancellationToken).ConfigureAwait(false)
                : call.WaitAsync(cancellationToken).GetAwaiter().GetResult();
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            // Not the caller's cancellation: the client cancels the commands still in flight when it drops a connection it
            // found dead (a server that stopped answering). Like any lost connection, the outcome is unknown and transient.
            throw new RedisConnectionException(ConnectionFailureType.SocketClosed, "The client dropped the connection with the command in flight.", e);
        }
        catch (InvalidOperationException e) when (e is not ObjectDisposedException)
        {
            // The client's connection reader failed under the command: tearing down a connection to a server that stopped
            // answering, it can fail the commands in flight with "Reading is not allowed after reader was completed". The
            // command may or may not have run, as with any lost connection.
            throw new RedisConnectionException(ConnectionFailureType.InternalFailure, $"The client's connection failed with the command in flight ({e.Message}).", e);
        }
    }

    /// <summary>
    /// Runs a script by its SHA1; when the server lost its script cache (restart, SCRIPT FLUSH, failover) the call did
    /// not run, so sending the script itself (EVAL, which also caches it again) is not a second attempt.
    /// </summary>
    private async ValueTask<RedisResult> EvaluateAsync(RedisScript script, RedisValue[] args, string action, bool async, CancellationToken cancellationToken)
    {
        RedisResult result;
        try
        {
            result = await CallAsync(_database.ScriptEvaluateAsync(script.Sha1, _keys, args), async, cancellationToken).ConfigureAwait(false);
        }
        catch (RedisServerException e) when (e.Message.StartsWith("NOSCRIPT", StringComparison.Ordinal))
        {
            result = await CallAsync(_database.ScriptEvaluateAsync(script.Text, _keys, args), async, cancellationToken).ConfigureAwait(false);
        }
        // The scripts reply with bulk strings, nil and arrays of them, the same under RESP2 and RESP3. No result at
        // all (the client gives none when a connection breaks at the wrong moment) is a lost reply: the core reads back.
        return result ?? throw NoReply(action);
    }

    /// <summary>
    /// Runs a script that may store a commit and, with <see cref="RedisBackendOptions.WaitForReplicas"/>, waits for the
    /// replicas to acknowledge it. A commit stored but not acknowledged, or whose reply was lost, is in doubt: a transient
    /// failure the core settles by reading back, and until a wait succeeds, reads wait for the replicas too.
    /// </summary>
    private async ValueTask<RedisResult> EvaluateCommitAsync(RedisScript script, RedisValue[] args, string action, bool async, CancellationToken cancellationToken)
    {
        RedisResult result;
        try
        {
            result = await EvaluateAsync(script, args, action, async, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (_replicas > 0 && e is not RedisServerException)
        {
            Interlocked.Increment(ref _doubts); // sent, but whether it ran is unknown
            throw;
        }
        if (!result.IsNull) // nil: a conflict, nothing was stored
            await WaitForReplicasAsync(action, async, cancellationToken).ConfigureAwait(false);
        return result;
    }

    /// <summary>
    /// WAIT on the connection to the master of the store's slot: every write sent over it so far (this backend's commit
    /// among them) reached <see cref="RedisBackendOptions.WaitForReplicas"/> replicas, or a transient failure.
    /// </summary>
    private async ValueTask WaitForReplicasAsync(string action, bool async, CancellationToken cancellationToken)
    {
        if (_replicas == 0)
            return;
        var doubts = Interlocked.Read(ref _doubts);
        long acknowledged;
        try
        {
            var master = _connection.GetServer(_keys[0]);
            acknowledged = (long)await CallAsync(master.ExecuteAsync("WAIT", _waitArguments), async, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Interlocked.Increment(ref _doubts);
            throw;
        }
        if (acknowledged < _replicas)
        {
            Interlocked.Increment(ref _doubts);
            throw new BackendException(string.Create(CultureInfo.InvariantCulture,
                $"Could not {action} key '{Key}' safely: only {acknowledged} of the {_replicas} replicas that RedisBackendOptions.WaitForReplicas requires acknowledged the writes sent to its master at {_endpoints} within {_waitArguments[1]} ms, so a failover could still lose a commit stored there. The master may have lost a replica or been promoted just now; the core settles the commit by reading it back."), isTransient: true);
        }
        Interlocked.CompareExchange(ref _doubts, 0, doubts);
    }

    /// <summary>
    /// In a Redis Cluster a script may only touch keys of one slot, and there is only database 0. Today's layout keeps the
    /// hash and its log in one slot for every key but those with a '}' and no hash tag; those are refused here (renaming
    /// their log would strand what an earlier release stored) with the fix named.
    /// </summary>
    private void CheckClusterLayout(IConnectionMultiplexer connection)
    {
        if (!connection.GetServers().Any(server => server.ServerType == ServerType.Cluster))
            return;
        if (_database.Database != 0)
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"Redis Cluster has only database 0, but the backend was given database {_database.Database}: set RedisBackendOptions.Database to -1 or 0 and remove defaultDatabase from the configuration string."), "options");
        if (connection.HashSlot(Key) != connection.HashSlot(LogKey))
            throw new ArgumentException($"The Redis key '{Key}' cannot be used in a Redis Cluster: it has a '}}' but no hash tag, so its log stream '{LogKey}' falls in another slot and no script may touch both. Use a key with a hash tag (for example 'app:{{orders}}', whose log is 'app:{{orders}}:log'), or one without '}}'.", "key");
    }

    /// <summary>Checks at construction that the ACL user may touch the log stream too, not only the hash.</summary>
    private void ProbeLogKey()
    {
        try
        {
            CallAsync(_database.KeyExistsAsync(LogKey), async: false, CancellationToken.None).GetAwaiter().GetResult();
        }
        catch (Exception e) when (Translate(e, "read the log stream of") is { } failure)
        {
            throw failure;
        }
    }

    /// <summary>
    /// <c>{key}:log</c> puts the stream in the hash's cluster slot, since a key without a hash tag hashes whole. A key
    /// with its own tag keeps it: <c>key:log</c> hashes by the same tag.
    /// </summary>
    internal static string LogKeyOf(string key)
    {
        var open = key.IndexOf('{', StringComparison.Ordinal);
        var hasTag = open >= 0 && key.IndexOf('}', open + 1) is var close && close > open + 1;
        // A '}' without a tag would cut a wrapping tag short; such a key keeps the plain suffix (one slot only without a cluster).
        return hasTag || key.Contains('}', StringComparison.Ordinal) ? key + ":log" : "{" + key + "}:log";
    }

    private static bool IsKnownLayout(RedisValue marker) =>
        (string?)marker is RedisStoreScript.WholeStateMarker or RedisStoreScript.LogMarker;

    private LogSlice ParseSlice(RedisResult[] reply, long? afterVersion)
    {
        if (reply.Length == 0)
            return new LogSlice(null, [], afterVersion);
        if (reply.Length < 3)
            throw Foreign("a read reply that is too short");
        var marker = (RedisValue)reply[0];
        if (!IsKnownLayout(marker))
            throw Foreign(OtherLayout((string?)marker));
        StoredState? snapshot = null;
        var next = 3;
        if ((string?)reply[2] == "1")
        {
            if (reply.Length < 6)
                throw Foreign("a read reply that is too short");
            var (version, commit, data) = ((RedisValue)reply[3], (string?)reply[4], (byte[]?)reply[5]);
            if (version.IsNull || data is null || !Guid.TryParseExact(commit, "N", out var commitId))
                throw Foreign("an incomplete Tosc store (a field among version, data, commit is missing or malformed); delete the key if it is stale");
            snapshot = new StoredState(ParseVersion(version), data, commitId);
            next = 6;
        }
        if ((reply.Length - next) % 3 != 0)
            throw Foreign("a read reply whose log entries are not (version, commit id, record) triples");
        return new LogSlice(snapshot, ParseRecords(reply, next), afterVersion);
    }

    /// <summary>The (version, commit id, record) triples of a reply from <paramref name="next"/> on.</summary>
    private LogRecord[] ParseRecords(RedisResult[] reply, int next)
    {
        var records = new LogRecord[(reply.Length - next) / 3];
        for (var i = 0; i < records.Length; i++, next += 3)
        {
            if (!Guid.TryParseExact((string?)reply[next + 1], "N", out var commitId))
                throw Foreign($"a log entry with a malformed commit id ('{reply[next + 1]}')");
            records[i] = new LogRecord(ParseVersion((RedisValue)reply[next]), commitId, (byte[]?)reply[next + 2] ?? []);
        }
        return records;
    }

    private BackendException NoReply(string action) =>
        new($"Could not {action} key '{Key}': Redis at {_endpoints} gave no reply (the connection broke). The call may succeed once the connection is back.", isTransient: true);

    private void OnMessage(RedisChannel channel, RedisValue message)
    {
        // "<version> <commit id> <client id>", or for an append with a small record
        // "<version> <commit id> <previous version> <record> <client id>" (docs/wire-format.md): the record goes to the
        // waiting managers, which then need not read the log. This instance's own records are kept and signalled too:
        // another manager on this instance that woke at the local commit, before its record was here, waits for it
        // (and one that has it already looks and finds nothing newer, without a probe). An own commit without a record
        // was signalled by the base when it was made, and a waiter then probes.
        var bytes = (byte[]?)message ?? [];
        var last = Array.LastIndexOf(bytes, (byte)' ');
        var own = last >= 0 && bytes.AsSpan(last + 1).SequenceEqual(_clientIdBytes);
        var pushed = TryParsePush(bytes, last, out var previous, out var record);
        if (pushed)
            Pushed(previous, record!);
        else
            PushedGap(long.TryParse(bytes.AsSpan(0, Math.Max(0, Array.IndexOf(bytes, (byte)' '))), NumberStyles.None, CultureInfo.InvariantCulture, out var version) ? version : null);
        if (pushed || !own)
            Changes.Notify();
    }

    /// <summary>Reads the record out of an append's change message; false for a message that carries none.</summary>
    private static bool TryParsePush(byte[] message, int last, out long previous, [NotNullWhen(true)] out LogRecord? record)
    {
        previous = 0;
        record = null;
        var first = Array.IndexOf(message, (byte)' ');
        var second = first < 0 ? -1 : Array.IndexOf(message, (byte)' ', first + 1);
        var third = second < 0 ? -1 : Array.IndexOf(message, (byte)' ', second + 1);
        if (third < 0 || third >= last
            || !long.TryParse(message.AsSpan(0, first), NumberStyles.None, CultureInfo.InvariantCulture, out var version)
            || !Guid.TryParseExact(System.Text.Encoding.ASCII.GetString(message, first + 1, second - first - 1), "N", out var commitId)
            || !long.TryParse(message.AsSpan(second + 1, third - second - 1), NumberStyles.None, CultureInfo.InvariantCulture, out previous))
            return false;
        record = new LogRecord(version, commitId, message.AsMemory(third + 1, last - third - 1));
        return true;
    }

    /// <summary>Turns a failure of the client or the server into the exception callers act on; <see langword="null"/> keeps it as is.</summary>
    private Exception? Translate(Exception e, string action)
    {
        var where = $"Redis at {_endpoints}";
        var key = $"key '{Key}'";
        if (IsDisposed)
            return e is ObjectDisposedException ? null : new ObjectDisposedException($"The RedisBackend of key '{Key}' was disposed while the call ran.", e);
        return e switch
        {
            ToscException or OperationCanceledException => null,
            RedisConnectionException { FailureType: ConnectionFailureType.AuthenticationFailure } => Refused(where, e),
            RedisServerException server => TranslateServerError(server, where, key, action),
            RedisConnectionException or IOException or System.Net.Sockets.SocketException => new BackendException(
                $"Could not {action} {key}: the connection to {where} failed ({e.Message}). The server may be down or restarting; the call may succeed once it is back.", isTransient: true, e),
            TimeoutException => new BackendException(
                $"Could not {action} {key}: {where} did not answer in time ({e.Message}). The server may be down, restarting or overloaded.", isTransient: true, e),
            RedisException => new BackendException($"Could not {action} {key} at {where}: {e.Message}", isTransient: false, e),
            _ => null,
        };
    }

    private Exception TranslateServerError(RedisServerException e, string where, string key, string action)
    {
        var message = e.Message;
        var foreign = message.IndexOf(RedisStoreScript.ForeignError + " ", StringComparison.Ordinal);
        if (foreign >= 0)
        {
            var detail = message[(foreign + RedisStoreScript.ForeignError.Length + 1)..].Trim();
            return Foreign(detail switch
            {
                "hash" => NoMarker,
                _ when detail.StartsWith("format ", StringComparison.Ordinal) => OtherLayout(detail["format ".Length..]),
                _ when detail.StartsWith("log ", StringComparison.Ordinal) =>
                    $"a log key '{LogKey}' holding a {detail["log ".Length..]}, not a stream. Delete that key if it is stale",
                _ => NotAHash(detail),
            }, e);
        }
        if (message.StartsWith("WRONGTYPE", StringComparison.Ordinal))
            return Foreign(NotAHash(null), e);
        if (message.StartsWith("NOPERM", StringComparison.Ordinal))
            return new BackendException($"{where} denied the user access to {key} or its log stream '{LogKey}' ({message}): give the ACL user the commands and the key and channel patterns listed in docs/redis-backend.md.", isTransient: false, e);
        if (StartsWithAny(message, "NOAUTH", "WRONGPASS"))
            return Refused(where, e);
        if (StartsWithAny(message, "LOADING", "BUSY", "MASTERDOWN", "READONLY", "TRYAGAIN", "CLUSTERDOWN"))
            return new BackendException($"Could not {action} {key}: {where} is not ready ({message}); the call may succeed shortly.", isTransient: true, e);
        return new BackendException($"Could not {action} {key}: {where} answered with an error: {message}", isTransient: false, e);
    }

    private static BackendException Refused(string where, Exception e) =>
        new($"{where} refused the credentials: check the password (and user) in the configuration string. Server said: {e.Message}", isTransient: false, e);

    private static bool StartsWithAny(string message, params string[] prefixes) =>
        prefixes.Any(p => message.StartsWith(p, StringComparison.Ordinal));

    private const string NoMarker = "a hash that is not a Tosc store (no 'tosc' marker field). Use another key or KeyPrefix, or delete the key if it is stale";

    private static string OtherLayout(string? marker) =>
        $"a Tosc store in a layout this version cannot read (marker '{marker}'); upgrade Tosc.Backends.Redis";

    private static string NotAHash(string? type) =>
        $"a value that is not a Tosc store{(type is null ? "" : $" (a {type})")}; Tosc keeps a hash there. Use another key or KeyPrefix, or delete the key if it is stale";

    private ToscDataException Foreign(string what, Exception? inner = null) =>
        new($"The Redis key '{Key}' at {_endpoints} holds {what}.", inner);

    private long ParseVersion(RedisValue value) =>
        long.TryParse((string?)value, NumberStyles.None, CultureInfo.InvariantCulture, out var version)
            ? version
            : throw Foreign($"a version that is not a number ('{value}')");

    private static string Describe(IEnumerable<EndPoint> endpoints) =>
        string.Join(", ", endpoints.Select(e => e switch
        {
            DnsEndPoint dns => string.Create(CultureInfo.InvariantCulture, $"{dns.Host}:{dns.Port}"),
            _ => e.ToString() ?? "?",
        }));
}
