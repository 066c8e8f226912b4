using System.Text;
using dotnet_etcd;
using Etcdserverpb;
using Google.Protobuf;
using Grpc.Net.Client;
using Grpc.Net.Client.Balancer;
using Grpc.Net.Client.Configuration;
using Mvccpb;

namespace Tosc;

/// <summary>
/// Keeps one Tosc value in etcd, shared by every process that opens the same key: a head key whose
/// <c>mod_revision</c> is the version, a snapshot key, one key per log record, and chunk keys for snapshots larger than
/// one request. Every commit is one etcd Txn that compares the head's <c>mod_revision</c> and writes the record and the
/// head, so it lands whole or not at all on a majority of the cluster; other processes hear about it through a watch.
/// </summary>
/// <remarks>
/// Commits append log records (<see cref="SupportsLog"/>), so they cost what they change. A second key is an
/// independent store in the same cluster. See docs/etcd-backend.md for the keys, the Txn, the watch, chunking and the
/// failure behaviour.
/// </remarks>
public sealed partial class EtcdBackend : ToscBackend
{
    /// <summary>The longest key, in UTF-8 bytes: it starts every etcd key of the store.</summary>
    public const int MaxKeyBytes = 1024;

    // Room in a request beside a chunk or a record: the keys (each up to MaxKeyBytes long) and the values' headers.
    private const int RequestOverhead = 16 * 1024;

    private readonly EtcdClient _client;
    private readonly bool _ownsClient;
    private readonly EtcdLayout _layout;
    private readonly TimeSpan _timeout;
    private readonly int _maxRequestBytes;
    private readonly int _chunkBytes;
    private readonly string _where;
    private readonly Lock _gate = new();
    private EtcdWatcher? _watcher;
    private volatile KnownHead? _head;

    /// <summary>
    /// Opens the store <paramref name="key"/> on the etcd cluster at <paramref name="endpoints"/>. The backend owns the
    /// client it creates (with gRPC's automatic retries off) and disposes it when disposed.
    /// </summary>
    /// <param name="endpoints">Comma-separated client URLs of the cluster's members, e.g. <c>http://10.0.0.1:2379,http://10.0.0.2:2379</c>.</param>
    /// <param name="key">The store's key (at most <see cref="MaxKeyBytes"/> UTF-8 bytes, no NUL): the start of every etcd key it uses.</param>
    /// <param name="options">Settings; <see langword="null"/> uses the defaults.</param>
    /// <exception cref="ArgumentException">The endpoints, the key or an option is not valid.</exception>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("ApiDesign", "RS0026", Justification = "The same shape as every backend's constructors (issue 14 names this signature); the two overloads differ in their first parameter's type, never in which arguments are left out.")]
    public EtcdBackend(string endpoints, string key, EtcdBackendOptions? options = null)
        : this(Validated(options), key, ownsClient: true, Endpoints(endpoints), null)
    {
    }

    /// <summary>
    /// Opens the store <paramref name="key"/> through a client the caller owns; disposing the backend leaves it open.
    /// Build it with <see cref="ConfigureChannel"/> as its <c>configureChannelOptions</c>: dotnet-etcd's default channel
    /// retries calls that failed with <c>Unavailable</c>, and a retried commit may land twice.
    /// </summary>
    /// <param name="client">The caller's client; it may be shared with other code and other backends.</param>
    /// <param name="key">The store's key (at most <see cref="MaxKeyBytes"/> UTF-8 bytes, no NUL).</param>
    /// <param name="options">Settings; <see langword="null"/> uses the defaults.</param>
    /// <exception cref="ArgumentException">The key or an option is not valid.</exception>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("ApiDesign", "RS0026", Justification = "The same shape as every backend's constructors (issue 14 names this signature); the two overloads differ in their first parameter's type, never in which arguments are left out.")]
    public EtcdBackend(EtcdClient client, string key, EtcdBackendOptions? options = null)
        : this(Validated(options), key, ownsClient: false, null, client ?? throw new ArgumentNullException(nameof(client)))
    {
    }

    private EtcdBackend(EtcdBackendOptions options, string key, bool ownsClient, string? endpoints, EtcdClient? client)
        : base(options.PollInterval)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        if (Encoding.UTF8.GetByteCount(key) > MaxKeyBytes || key.Contains('\0', StringComparison.Ordinal))
            throw new ArgumentException($"The key must be at most {MaxKeyBytes} UTF-8 bytes without NUL characters.", nameof(key));
        Key = key;
        _layout = new EtcdLayout(key);
        _timeout = options.OperationTimeout;
        _maxRequestBytes = options.MaxRequestBytes;
        _chunkBytes = options.MaxRequestBytes - RequestOverhead;
        _ownsClient = ownsClient;
        _where = endpoints is null ? "etcd (the EtcdClient passed to EtcdBackend)" : $"etcd at {endpoints}";
        _client = client ?? new EtcdClient(endpoints!, configureChannelOptions: ConfigureChannel);
    }

    /// <summary>The store's key: every etcd key of the store is this key, a NUL byte and a name (docs/etcd-backend.md).</summary>
    public string Key { get; }

    /// <inheritdoc/>
    /// <remarks>The records are etcd keys of their own, written by the same Txn that compares the head's revision.</remarks>
    public override bool SupportsLog => true;

    /// <inheritdoc/>
    /// <remarks>Yes: an etcd watch.</remarks>
    public override bool NotifiesChanges => true;

    /// <summary>
    /// Configures a gRPC channel for Tosc: no automatic retries (a commit whose reply was lost is settled by its commit
    /// id, never sent again), round-robin over the endpoints, no limit on the size of a reply. Pass it as
    /// <c>configureChannelOptions</c> when building an <c>EtcdClient</c> for <see cref="EtcdBackend(EtcdClient, string, EtcdBackendOptions?)"/>.
    /// </summary>
    /// <param name="options">The channel options dotnet-etcd prepared.</param>
    public static void ConfigureChannel(GrpcChannelOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.ServiceConfig = new ServiceConfig { LoadBalancingConfigs = { new RoundRobinConfig() } };
        options.MaxRetryAttempts = 0;
        options.MaxReceiveMessageSize = null;
        options.ThrowOperationCanceledOnCancellation = true;
    }

    /// <inheritdoc/>
    protected override async ValueTask<StoredState?> ReadCoreAsync(bool async, CancellationToken cancellationToken) =>
        StoredState.FromLog(await ReadLogCoreAsync(null, async, cancellationToken).ConfigureAwait(false));

    /// <inheritdoc/>
    /// <remarks>One range read of the head key, keys only: its <c>mod_revision</c> is the version.</remarks>
    protected override async ValueTask<long?> ReadVersionCoreAsync(bool async, CancellationToken cancellationToken)
    {
        var request = new RangeRequest { Key = _layout.Head, KeysOnly = true };
        var response = await RangeAsync(request, "read the version of", async, cancellationToken).ConfigureAwait(false);
        return response.Kvs.Count == 0 ? null : response.Kvs[0].ModRevision;
    }

    /// <inheritdoc/>
    /// <remarks>
    /// One Txn reads the head, the snapshot key and the log at one revision; the chunks of a large snapshot are read at
    /// that same revision, so a reader never mixes two versions.
    /// </remarks>
    protected override async ValueTask<LogSlice> ReadLogCoreAsync(long? afterVersion, bool async, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await ReadLogOnceAsync(afterVersion, async, cancellationToken).ConfigureAwait(false);
            }
            catch (BackendException e) when (attempt < 3 && EtcdErrors.IsCompacted(e))
            {
                // etcd compacted its history past the revision this read started at: start again at the newest.
            }
        }
    }

    /// <inheritdoc/>
    /// <remarks>
    /// One Txn: compare the head's <c>mod_revision</c> with the expected version, put the record and the head; never
    /// retried here (the core settles a lost reply by the commit id in the log).
    /// </remarks>
    protected override async ValueTask<Appended?> AppendCoreAsync(ReadOnlyMemory<byte> record, long expectedVersion, Guid commitId, bool async, CancellationToken cancellationToken)
    {
        if (record.Length > _chunkBytes)
        {
            throw new BackendException(
                $"A log record of {record.Length} bytes does not fit in one etcd request (EtcdBackendOptions.MaxRequestBytes is {_maxRequestBytes}, which must match the server's --max-request-bytes). " +
                "Split the transaction, or raise both limits.", isTransient: false);
        }
        if (await HeadAtAsync(expectedVersion, async, cancellationToken).ConfigureAwait(false) is not { } head)
            return null;
        var seq = head.Seq + 1;
        var bytes = head.Bytes + record.Length;
        var next = new EtcdHead(commitId, seq, bytes);
        var request = new TxnRequest
        {
            Compare = { IsRevision(_layout.Head, expectedVersion) },
            Success =
            {
                Put(_layout.Log(seq), EtcdLayout.EncodeRecord(commitId, bytes, record.Span)),
                Put(_layout.Head, EtcdLayout.EncodeHead(next)),
                Get(_layout.Snapshot),
            },
            Failure = { Get(_layout.Head) },
        };
        var response = await TxnAsync(request, "append to", async, cancellationToken).ConfigureAwait(false);
        if (!response.Succeeded)
        {
            Remember(response.Responses[0].ResponseRange.Kvs);
            return null;
        }
        var version = response.Header.Revision;
        _head = new KnownHead(version, next);
        var snapshot = SnapshotOf(response.Responses[2].ResponseRange.Kvs);
        return new Appended(version, checked((int)(seq - snapshot.Seq)), bytes - snapshot.Bytes);
    }

    /// <inheritdoc/>
    /// <remarks>
    /// One Txn: the condition on the head, the new head and snapshot key, the log and old chunks deleted. A snapshot
    /// larger than one request is first written in chunks of a new generation, which the Txn checks are all there.
    /// </remarks>
    protected override async ValueTask<long?> WriteCoreAsync(ReadOnlyMemory<byte> data, WriteCondition condition, Guid commitId, bool async, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var staged = await StageAsync(data, async, cancellationToken).ConfigureAwait(false);
            var snapshot = new EtcdSnapshot(0, commitId, 0, 0, data.Length, staged.Chunks, staged.Generation, default);
            var request = new TxnRequest
            {
                Success =
                {
                    Put(_layout.Head, EtcdLayout.EncodeHead(new EtcdHead(commitId, 0, 0))),
                    Put(_layout.Snapshot, EtcdLayout.EncodeSnapshot(snapshot, staged.Chunks == 0 ? data.Span : default)),
                    Delete(_layout.LogStart, _layout.LogEnd),
                },
                Failure = { Get(_layout.Head, keysOnly: true) },
            };
            if (!condition.IsUnconditional)
                request.Compare.Add(condition.ExpectedVersion is { } expected ? IsRevision(_layout.Head, expected) : IsAbsent(_layout.Head));
            AddStaged(request, staged);
            var response = await TxnAsync(request, "write", async, cancellationToken).ConfigureAwait(false);
            if (response.Succeeded)
            {
                _head = new KnownHead(response.Header.Revision, new EtcdHead(commitId, 0, 0));
                return response.Header.Revision;
            }
            await DropAsync(staged, async).ConfigureAwait(false);
            var current = response.Responses[0].ResponseRange.Kvs is { Count: > 0 } kvs ? kvs[0].ModRevision : (long?)null;
            // The condition held, so only the staged chunks can have failed the Txn: another writer's clean-up removed
            // them. Nothing landed; stage them again.
            if (staged.Chunks == 0 || !condition.Allows(current))
                return null;
            if (attempt == 3)
                throw new BackendException($"Could not write key '{Key}' in {_where}: other writers removed the snapshot's chunks three times before it was stored.", isTransient: true);
        }
    }

    /// <inheritdoc/>
    /// <remarks>
    /// One Txn (after the chunks of a large snapshot): compare the snapshot key's revision and that the record at
    /// <paramref name="version"/> is still there, put the snapshot key, delete the records it covers and the old chunks.
    /// The head is not touched, so no version changes.
    /// </remarks>
    protected override async ValueTask<bool> CompactCoreAsync(ReadOnlyMemory<byte> snapshot, long version, bool async, CancellationToken cancellationToken)
    {
        var read = new TxnRequest
        {
            Success =
            {
                Get(_layout.Snapshot),
                new RequestOp { RequestRange = new RangeRequest { Key = _layout.LogStart, RangeEnd = _layout.LogEnd, MinModRevision = version, MaxModRevision = version } },
            },
        };
        var found = await TxnAsync(read, "compact", async, cancellationToken).ConfigureAwait(false);
        var snapshotKvs = found.Responses[0].ResponseRange.Kvs;
        var records = found.Responses[1].ResponseRange.Kvs;
        if (snapshotKvs.Count == 0 || records.Count == 0 || SnapshotVersion(snapshotKvs[0]) >= version)
            return false;
        var covered = records[0];
        var seq = _layout.SeqOf(covered.Key);
        var (commitId, bytes, _) = EtcdLayout.DecodeRecord(covered.Value);
        for (var attempt = 1; ; attempt++)
        {
            var staged = await StageAsync(snapshot, async, cancellationToken).ConfigureAwait(false);
            var value = new EtcdSnapshot(version, commitId, seq, bytes, snapshot.Length, staged.Chunks, staged.Generation, default);
            var request = new TxnRequest
            {
                Compare = { IsRevision(_layout.Snapshot, snapshotKvs[0].ModRevision), IsRevision(covered.Key, version) },
                Success =
                {
                    Put(_layout.Snapshot, EtcdLayout.EncodeSnapshot(value, staged.Chunks == 0 ? snapshot.Span : default)),
                    Delete(_layout.LogStart, _layout.Log(seq + 1)),
                },
                Failure = { Get(_layout.Snapshot, keysOnly: true), Get(covered.Key, keysOnly: true) },
            };
            AddStaged(request, staged);
            var response = await TxnAsync(request, "compact", async, cancellationToken).ConfigureAwait(false);
            if (response.Succeeded)
                return true;
            await DropAsync(staged, async).ConfigureAwait(false);
            var unchanged = response.Responses[0].ResponseRange.Kvs is { Count: 1 } s && s[0].ModRevision == snapshotKvs[0].ModRevision
                && response.Responses[1].ResponseRange.Kvs is { Count: 1 } r && r[0].ModRevision == version;
            if (staged.Chunks == 0 || !unchanged || attempt == 3)
                return false; // another compaction or a whole-state write got there first, or writers keep removing our chunks
        }
    }

    /// <inheritdoc/>
    /// <remarks>Reads the current revision, then watches the head key from the next one, so no later commit is missed.</remarks>
    protected override void StartWatching()
    {
        var response = Completed(RangeAsync(new RangeRequest { Key = _layout.Head, KeysOnly = true }, "watch", async: false, CancellationToken.None));
        var watcher = new EtcdWatcher(_client, _layout.Head, Changes);
        watcher.Start(response.Header.Revision + 1);
        lock (_gate)
        {
            if (IsDisposed)
            {
                watcher.Dispose();
                ThrowIfDisposed();
            }
            _watcher = watcher;
        }
    }

    /// <summary>Stops watching; disposes the client only when this backend created it.</summary>
    protected override void Dispose(bool disposing)
    {
        if (!disposing)
            return;
        EtcdWatcher? watcher;
        lock (_gate)
            (watcher, _watcher) = (_watcher, null);
        watcher?.Dispose();
        if (_ownsClient)
            _client.Dispose();
    }

    private static EtcdBackendOptions Validated(EtcdBackendOptions? options) => (options ?? new EtcdBackendOptions()).Validated();

    /// <summary>Checks the endpoint list: plain-HTTP client URLs with a host and a port.</summary>
    private static string Endpoints(string endpoints)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(endpoints);
        var list = endpoints.Split(',', StringSplitOptions.TrimEntries);
        foreach (var endpoint in list)
        {
            if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttp || uri.IsDefaultPort || uri.AbsolutePath != "/")
            {
                throw new ArgumentException(
                    $"'{endpoint}' is not an etcd client URL: the endpoints are comma-separated URLs like http://127.0.0.1:2379 (scheme http, host and port). " +
                    "For TLS or a user and password, build an EtcdClient (with EtcdBackend.ConfigureChannel) and pass it instead.", nameof(endpoints));
            }
        }
        return string.Join(',', list);
    }

    /// <summary>The head at <paramref name="version"/>, from what this instance last saw or from the store; null when the store moved on.</summary>
    private async ValueTask<EtcdHead?> HeadAtAsync(long version, bool async, CancellationToken cancellationToken)
    {
        if (_head is { } known && known.Version == version)
            return known.Head;
        var response = await RangeAsync(new RangeRequest { Key = _layout.Head }, "append to", async, cancellationToken).ConfigureAwait(false);
        Remember(response.Kvs);
        return _head is { } read && read.Version == version ? read.Head : null;
    }

    private void Remember(Google.Protobuf.Collections.RepeatedField<KeyValue> head)
    {
        if (head.Count == 1 && head[0].Value.Length > 0)
            _head = new KnownHead(head[0].ModRevision, EtcdLayout.DecodeHead(head[0].Value));
    }

    private async ValueTask<LogSlice> ReadLogOnceAsync(long? afterVersion, bool async, CancellationToken cancellationToken)
    {
        var request = new TxnRequest
        {
            Success =
            {
                Get(_layout.Head),
                Get(_layout.Snapshot),
                new RequestOp { RequestRange = new RangeRequest { Key = _layout.LogStart, RangeEnd = _layout.LogEnd, MinModRevision = afterVersion ?? 0 } },
            },
        };
        var response = await TxnAsync(request, "read", async, cancellationToken).ConfigureAwait(false);
        var revision = response.Header.Revision;
        var head = response.Responses[0].ResponseRange.Kvs;
        if (head.Count == 0)
            return new LogSlice(null, [], afterVersion);
        Remember(head);
        var snapshotKv = response.Responses[1].ResponseRange.Kvs is { Count: 1 } s
            ? s[0]
            : throw new ToscDataException($"The etcd store '{Key}' has a head key but no snapshot key: it was changed by something other than Tosc.");
        var snapshotVersion = SnapshotVersion(snapshotKv);
        var log = response.Responses[2].ResponseRange.Kvs;
        if (afterVersion is { } after && after <= head[0].ModRevision && (after == snapshotVersion || log.Any(kv => kv.ModRevision == after)))
            return new LogSlice(null, [.. log.Where(kv => kv.ModRevision > after).Select(Record)], afterVersion);
        if (afterVersion is not null)
        {
            var all = new RangeRequest { Key = _layout.LogStart, RangeEnd = _layout.LogEnd, Revision = revision };
            log = (await RangeAsync(all, "read", async, cancellationToken).ConfigureAwait(false)).Kvs;
        }
        var snapshot = EtcdLayout.DecodeSnapshot(snapshotKv.Value);
        var data = snapshot.Chunks == 0 ? snapshot.Inline : await ReadChunksAsync(snapshot, revision, async, cancellationToken).ConfigureAwait(false);
        return new LogSlice(new StoredState(snapshotVersion, data, snapshot.CommitId), [.. log.Select(Record)], afterVersion);
    }

    private static LogRecord Record(KeyValue kv)
    {
        var (commitId, _, record) = EtcdLayout.DecodeRecord(kv.Value);
        return new LogRecord(kv.ModRevision, commitId, record);
    }

    private static long SnapshotVersion(KeyValue snapshotKv)
    {
        var version = EtcdLayout.DecodeSnapshot(snapshotKv.Value).Version;
        return version != 0 ? version : snapshotKv.ModRevision;
    }

    private EtcdSnapshot SnapshotOf(Google.Protobuf.Collections.RepeatedField<KeyValue> kvs) =>
        kvs.Count == 1 ? EtcdLayout.DecodeSnapshot(kvs[0].Value)
            : throw new ToscDataException($"The etcd store '{Key}' has a head key but no snapshot key: it was changed by something other than Tosc.");

    private sealed record KnownHead(long Version, EtcdHead Head);
}
