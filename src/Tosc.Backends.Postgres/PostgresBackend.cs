using System.Net.Sockets;
using System.Text;
using Npgsql;
using NpgsqlTypes;

namespace Tosc;

/// <summary>
/// Keeps one Tosc value in PostgreSQL, shared by every process that opens the same key: a row of the state table holding
/// the version, the newest commit id and the snapshot, and rows of the log table holding the records of the commits since
/// the snapshot. Every commit is one statement that checks the version, writes the rows and calls <c>pg_notify</c>, so
/// it lands whole or not at all, and other processes hear about it at once through LISTEN.
/// </summary>
/// <remarks>
/// The server, the database, the user, the password and TLS go in the Npgsql connection string, for example
/// <c>"Host=db.example.com;Database=app;Username=app;Password=...;SSL Mode=VerifyFull"</c>. A second key is an
/// independent store in the same tables. Commits append log records (<see cref="SupportsLog"/>), so they cost what they
/// change. See docs/postgres-backend.md for the tables (and their DDL), the notification and the failure behaviour.
/// </remarks>
public sealed class PostgresBackend : ToscBackend
{
    /// <summary>The longest key, in UTF-8 bytes: it is a primary-key column and part of every notification's payload.</summary>
    public const int MaxKeyBytes = 1000;

    private readonly NpgsqlDataSource _dataSource;
    private readonly bool _ownsDataSource;
    private readonly PostgresStoreSql _sql;
    private readonly int _timeoutSeconds;
    private readonly bool _createTables;
    private readonly string _where;
    private readonly Lock _gate = new();
    private PostgresListener? _listener;
    private volatile bool _tablesReady;

    /// <summary>
    /// Opens the store <paramref name="key"/> in the database <paramref name="connectionString"/> names. The backend owns
    /// the connection pool it creates and closes it when disposed.
    /// </summary>
    /// <param name="connectionString">An Npgsql connection string: <c>Host</c>, <c>Port</c>, <c>Database</c>, <c>Username</c>, <c>Password</c>, <c>SSL Mode</c>, ...</param>
    /// <param name="key">The store's key (at most <see cref="MaxKeyBytes"/> UTF-8 bytes).</param>
    /// <param name="options">Settings; <see langword="null"/> uses the defaults.</param>
    /// <exception cref="ArgumentException">The connection string, the key or an option is not valid.</exception>
    public PostgresBackend(string connectionString, string key, PostgresBackendOptions? options = null)
        : this(Create(connectionString), ownsDataSource: true, key, Validated(options))
    {
    }

    /// <summary>
    /// Opens the store <paramref name="key"/> through a data source the caller owns; disposing the backend leaves it
    /// open. Build it without <c>Enlist=true</c> if the application uses <c>TransactionScope</c>: a commit must never
    /// join (and wait for) the caller's ambient transaction.
    /// </summary>
    /// <param name="dataSource">The caller's data source; it may be shared with other code and other backends.</param>
    /// <param name="key">The store's key (at most <see cref="MaxKeyBytes"/> UTF-8 bytes).</param>
    /// <param name="options">Settings; <see langword="null"/> uses the defaults.</param>
    /// <exception cref="ArgumentException">The key or an option is not valid.</exception>
    public PostgresBackend(NpgsqlDataSource dataSource, string key, PostgresBackendOptions? options = null)
        : this(dataSource ?? throw new ArgumentNullException(nameof(dataSource)), ownsDataSource: false, key, Validated(options))
    {
    }

    private PostgresBackend(NpgsqlDataSource dataSource, bool ownsDataSource, string key, PostgresBackendOptions options)
        : base(options.PollInterval)
    {
        _dataSource = dataSource;
        _ownsDataSource = ownsDataSource;
        try
        {
            ArgumentException.ThrowIfNullOrEmpty(key);
            if (Encoding.UTF8.GetByteCount(key) > MaxKeyBytes || key.Contains('\0', StringComparison.Ordinal))
                throw new ArgumentException($"The key must be at most {MaxKeyBytes} UTF-8 bytes without NUL characters.", nameof(key));
            Key = key;
            _sql = new PostgresStoreSql(options.Schema, options.TablePrefix);
            _timeoutSeconds = options.CommandTimeoutSeconds;
            _createTables = options.CreateTables;
            var settings = new NpgsqlConnectionStringBuilder(dataSource.ConnectionString);
            _where = $"PostgreSQL at {settings.Host}:{settings.Port}/{settings.Database}";
        }
        catch when (ownsDataSource)
        {
            dataSource.Dispose();
            throw;
        }
    }

    /// <summary>The store's key: its row in <see cref="StateTable"/> and its rows in <see cref="LogTable"/>.</summary>
    public string Key { get; }

    /// <summary>The state table as the statements name it (quoted, with the schema when one is set).</summary>
    public string StateTable => _sql.StateTable;

    /// <summary>The log table as the statements name it (quoted, with the schema when one is set).</summary>
    public string LogTable => _sql.LogTable;

    /// <summary>The channel every commit notifies (<c>pg_notify</c>) with the payload <c>key:version</c>.</summary>
    public string Channel => _sql.Channel;

    /// <inheritdoc/>
    /// <remarks>The records are rows of <see cref="LogTable"/>, inserted by the same statement that checks the version.</remarks>
    public override bool SupportsLog => true;

    /// <inheritdoc/>
    /// <remarks>Yes: LISTEN/NOTIFY.</remarks>
    public override bool NotifiesChanges => true;

    /// <inheritdoc/>
    protected override async ValueTask<StoredState?> ReadCoreAsync(bool async, CancellationToken cancellationToken) =>
        StoredState.FromLog(await ReadLogCoreAsync(null, async, cancellationToken).ConfigureAwait(false));

    /// <inheritdoc/>
    protected override async ValueTask<long?> ReadVersionCoreAsync(bool async, CancellationToken cancellationToken)
    {
        var rows = await QueryAsync(_sql.ReadVersion, [Text(Key)], r => r.GetInt64(0), "read the version of", async, cancellationToken).ConfigureAwait(false);
        return rows.Count == 0 ? null : rows[0];
    }

    /// <inheritdoc/>
    /// <remarks>One statement (see docs/postgres-backend.md); never retried here: the core settles a lost reply by commit id.</remarks>
    protected override async ValueTask<long?> WriteCoreAsync(ReadOnlyMemory<byte> data, WriteCondition condition, Guid commitId, bool async, CancellationToken cancellationToken)
    {
        var (sql, parameters) = condition.IsUnconditional ? (_sql.WriteAny, Common(data, commitId))
            : condition.ExpectedVersion is { } expected ? (_sql.WriteIfVersion, [.. Common(data, commitId), Int64(expected)])
            : (_sql.WriteIfEmpty, Common(data, commitId));
        var rows = await QueryAsync(sql, parameters, r => r.GetInt64(0), "write", async, cancellationToken).ConfigureAwait(false);
        return rows.Count == 0 ? null : rows[0];
    }

    /// <inheritdoc/>
    /// <remarks>
    /// One statement: the version check on the state row, the log row and the notification; never retried here (the core
    /// settles a lost reply by the commit id in the log).
    /// </remarks>
    protected override async ValueTask<Appended?> AppendCoreAsync(ReadOnlyMemory<byte> record, long expectedVersion, Guid commitId, bool async, CancellationToken cancellationToken)
    {
        var rows = await QueryAsync(_sql.Append, [.. Common(record, commitId), Int64(expectedVersion)],
            r => new Appended(r.GetInt64(0), r.GetInt32(1), r.GetInt64(2)), "append to", async, cancellationToken).ConfigureAwait(false);
        return rows.Count == 0 ? null : rows[0];
    }

    /// <inheritdoc/>
    /// <remarks>One statement: a read of the state row, the log rows after the version (by primary key), nothing else.</remarks>
    protected override async ValueTask<LogSlice> ReadLogCoreAsync(long? afterVersion, bool async, CancellationToken cancellationToken)
    {
        var rows = await QueryAsync(_sql.ReadLog, [Text(Key), Int64(afterVersion)], ReadRow, "read", async, cancellationToken).ConfigureAwait(false);
        if (rows.Count == 0)
            return new LogSlice(null, [], afterVersion);
        var header = rows[0];
        var snapshot = header.Data is { } data ? new StoredState(header.Version, data, header.CommitId) : null;
        var records = new LogRecord[rows.Count - 1];
        for (var i = 1; i < rows.Count; i++)
            records[i - 1] = new LogRecord(rows[i].Version, rows[i].CommitId, rows[i].Data ?? []);
        return new LogSlice(snapshot, records, afterVersion);

        static (long Version, Guid CommitId, byte[]? Data) ReadRow(NpgsqlDataReader r) =>
            (r.GetInt64(2), r.GetGuid(3), r.IsDBNull(4) ? null : r.GetFieldValue<byte[]>(4));
    }

    /// <inheritdoc/>
    /// <remarks>One statement: the new snapshot on the state row and the DELETE of the records it covers; no version changes.</remarks>
    protected override async ValueTask<bool> CompactCoreAsync(ReadOnlyMemory<byte> snapshot, long version, bool async, CancellationToken cancellationToken)
    {
        var rows = await QueryAsync(_sql.Compact, [Text(Key), Bytes(snapshot), Int64(version)], r => r.GetInt64(0), "compact", async, cancellationToken).ConfigureAwait(false);
        return rows.Count == 1 && rows[0] == 1;
    }

    /// <inheritdoc/>
    /// <remarks>Opens the listening connection before returning (so the first wait hears every later commit).</remarks>
    protected override void StartWatching()
    {
        var listener = new PostgresListener(_dataSource, _sql.Listen, Key, _timeoutSeconds, Changes);
        try
        {
            listener.Start();
        }
        catch (Exception e) when (Translate(e, "listen for the changes of") is { } failure)
        {
            listener.Dispose();
            throw failure;
        }
        lock (_gate)
        {
            if (IsDisposed)
            {
                listener.Dispose();
                ThrowIfDisposed();
            }
            _listener = listener;
        }
    }

    /// <summary>Stops listening; disposes the data source only when this backend created it.</summary>
    protected override void Dispose(bool disposing)
    {
        if (!disposing)
            return;
        PostgresListener? listener;
        lock (_gate)
            (listener, _listener) = (_listener, null);
        listener?.Dispose();
        if (_ownsDataSource)
            _dataSource.Dispose();
    }

    private static PostgresBackendOptions Validated(PostgresBackendOptions? options) => (options ?? new PostgresBackendOptions()).Validated();

    private static NpgsqlDataSource Create(string connectionString)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        NpgsqlDataSourceBuilder builder;
        try
        {
            builder = new NpgsqlDataSourceBuilder(connectionString);
        }
        catch (Exception e) when (e is ArgumentException or FormatException or KeyNotFoundException)
        {
            throw new ArgumentException($"The PostgreSQL connection string is not valid: {e.Message}", nameof(connectionString), e);
        }
        // A commit must never join an ambient TransactionScope: it would wait for, and roll back with, the caller's work.
        builder.ConnectionStringBuilder.Enlist = false;
        builder.ConnectionStringBuilder.ApplicationName ??= "Tosc";
        return builder.Build();
    }

    /// <summary>Runs one statement on a pooled connection and reads every row; with <paramref name="async"/> false, synchronously.</summary>
    private async ValueTask<List<T>> QueryAsync<T>(string sql, NpgsqlParameter[] parameters, Func<NpgsqlDataReader, T> read, string action, bool async, CancellationToken cancellationToken)
    {
        try
        {
            if (!_tablesReady && _createTables)
                await CreateTablesAsync(async, cancellationToken).ConfigureAwait(false);
            var command = _dataSource.CreateCommand(sql);
            await using (command.ConfigureAwait(false))
            {
                command.CommandTimeout = _timeoutSeconds;
                command.Parameters.AddRange(parameters);
                var reader = async ? await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false) : command.ExecuteReader();
                try
                {
                    var rows = new List<T>();
                    while (async ? await reader.ReadAsync(cancellationToken).ConfigureAwait(false) : reader.Read())
                        rows.Add(read(reader));
                    return rows;
                }
                finally
                {
                    if (async)
                        await reader.DisposeAsync().ConfigureAwait(false);
                    else
                        reader.Dispose();
                }
            }
        }
        catch (Exception e) when (Translate(e, action) is { } failure)
        {
            throw failure;
        }
    }

    private async ValueTask CreateTablesAsync(bool async, CancellationToken cancellationToken)
    {
        var command = _dataSource.CreateCommand(_sql.CreateTables);
        await using (command.ConfigureAwait(false))
        {
            command.CommandTimeout = _timeoutSeconds;
            if (async)
                await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            else
                command.ExecuteNonQuery();
        }
        _tablesReady = true;
    }

    private NpgsqlParameter[] Common(ReadOnlyMemory<byte> data, Guid commitId) =>
        [Text(Key), Bytes(data), new NpgsqlParameter<Guid> { TypedValue = commitId }, Text(_sql.Channel)];

    private static NpgsqlParameter Text(string value) => new NpgsqlParameter<string> { TypedValue = value, NpgsqlDbType = NpgsqlDbType.Text };

    // Not copied: Npgsql sends the bytes during the call, and the caller may reuse its buffer only once the call returned.
    private static NpgsqlParameter Bytes(ReadOnlyMemory<byte> value) => new NpgsqlParameter<ReadOnlyMemory<byte>> { TypedValue = value, NpgsqlDbType = NpgsqlDbType.Bytea };

    private static NpgsqlParameter Int64(long? value) =>
        new() { NpgsqlDbType = NpgsqlDbType.Bigint, Value = value is { } v ? v : DBNull.Value };

    /// <summary>Turns a failure of Npgsql or the server into the exception callers act on; <see langword="null"/> keeps it as is.</summary>
    private Exception? Translate(Exception e, string action)
    {
        if (IsDisposed)
            return e is ObjectDisposedException ? null : new ObjectDisposedException($"The PostgresBackend of key '{Key}' was disposed while the call ran.", e);
        var what = $"Could not {action} key '{Key}' in {_sql.StateTable}";
        switch (e)
        {
            case ToscException or OperationCanceledException:
                return null;
            case PostgresException server:
                return TranslateServerError(server, what);
            case NpgsqlException { InnerException: TimeoutException }:
            case TimeoutException:
                return new BackendException($"{what}: {_where} did not answer within the command timeout ({e.Message}). The server may be down, restarting or overloaded.", isTransient: true, e);
            case NpgsqlException { InnerException: IOException or SocketException }:
            case IOException or SocketException:
                ForgetConnections();
                return new BackendException($"{what}: the connection to {_where} failed ({e.Message}). The server may be down or restarting; the call may succeed once it is back.", isTransient: true, e);
            case NpgsqlException client:
                return new BackendException($"{what}: {_where} failed ({e.Message}).", client.IsTransient, e);
            default:
                return null;
        }
    }

    private BackendException TranslateServerError(PostgresException e, string what)
    {
        var state = e.SqlState;
        var detail = $"{e.SqlState}: {e.MessageText}";
        switch (state)
        {
            case PostgresErrorCodes.UndefinedTable:
                return new BackendException($"{what}: {_where} has no table {_sql.StateTable} or {_sql.LogTable} ({detail}). Create them with the DDL in docs/postgres-backend.md, or let the backend create them (PostgresBackendOptions.CreateTables).", isTransient: false, e);
            case PostgresErrorCodes.UndefinedColumn or PostgresErrorCodes.DatatypeMismatch or PostgresErrorCodes.UndefinedFunction:
                return new BackendException($"{what}: the table {_sql.StateTable} or {_sql.LogTable} at {_where} does not have Tosc's layout ({detail}). Use another TablePrefix or Schema, or recreate the tables with the DDL in docs/postgres-backend.md.", isTransient: false, e);
            case PostgresErrorCodes.InsufficientPrivilege:
                return new BackendException($"{what}: {_where} denied the user access ({detail}). Grant SELECT, INSERT, UPDATE and DELETE on {_sql.StateTable} and {_sql.LogTable} (and CREATE on the schema while CreateTables is on), as docs/postgres-backend.md lists.", isTransient: false, e);
            case PostgresErrorCodes.InvalidSchemaName:
                return new BackendException($"{what}: {_where} has no such schema ({detail}). Create it, or change PostgresBackendOptions.Schema.", isTransient: false, e);
        }
        if (state.StartsWith("28", StringComparison.Ordinal))
            return new BackendException($"{_where} refused the credentials: check the user and password in the connection string ({detail}).", isTransient: false, e);
        // 57P01/57P02: the server is shutting down (a restart), which Npgsql does not count as transient.
        if (e.IsTransient || state is PostgresErrorCodes.AdminShutdown or PostgresErrorCodes.CrashShutdown or PostgresErrorCodes.CannotConnectNow or PostgresErrorCodes.QueryCanceled)
        {
            if (state is PostgresErrorCodes.AdminShutdown or PostgresErrorCodes.CrashShutdown or PostgresErrorCodes.CannotConnectNow)
                ForgetConnections();
            return new BackendException($"{what}: {_where} is not available ({detail}); the call may succeed shortly.", isTransient: true, e);
        }
        return new BackendException($"{what}: {_where} answered with an error ({detail}).", isTransient: false, e);
    }

    /// <summary>
    /// After a connection failure the pool's idle connections are most likely dead too (a restart closes them all): drop
    /// them, so the core's retries open fresh connections instead of failing once per idle connection.
    /// </summary>
    private void ForgetConnections() => _dataSource.Clear();
}
