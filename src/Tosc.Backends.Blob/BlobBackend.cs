using System.Diagnostics;
using System.Globalization;
using System.Net;
using Polly;
using Polly.Retry;

namespace Tosc;

/// <summary>
/// Keeps the value in one Azure Storage block blob: the blob's body is the encoded value, its metadata carries the
/// Tosc version and commit id, and compare-and-swap is a Put Blob conditional on the ETag of the expected version.
/// Talks to the Blob service REST API directly (Shared Key or SAS); works with Azure and with the Azurite emulator.
/// </summary>
/// <remarks>
/// Change detection polls with conditional requests (<c>If-None-Match</c>), so an unchanged blob costs a 304 and no
/// download. Reads are retried on transient failures; writes are not (the core resolves them by their commit id).
/// </remarks>
public sealed class BlobBackend : IBackend
{
    // Metadata names (the service compares them case-insensitively).
    internal const string MarkerKey = "toscstore";
    internal const string MarkerValue = "1";
    internal const string VersionKey = "toscversion";
    internal const string CommitKey = "tosccommit";

    private readonly BlobRestClient _client;
    private readonly BlobBackendOptions _options;
    private readonly ResiliencePipeline _retryReads;
    private readonly Func<bool, CancellationToken, ValueTask<StoredState?>> _getOnce;
    private readonly Func<bool, CancellationToken, ValueTask<(long Version, string ETag)?>> _headOnce;
    private readonly Func<bool, CancellationToken, ValueTask<bool>> _createContainerOnce;
    private readonly Lock _gate = new();
    private Cached? _last;          // the newest state seen, with its ETag: conditional reads answer 304 against it
    private TaskCompletionSource _localChange = NewSignal();
    private Seen? _lastSeen;        // the stored version the last request saw, and when (drives the poll schedule)
    private volatile bool _disposed;

    /// <summary>Stores the value in <paramref name="blobName"/> of <paramref name="container"/> of the account a connection string names.</summary>
    /// <param name="connectionString">
    /// <c>DefaultEndpointsProtocol=https;AccountName=...;AccountKey=...</c> (optionally with <c>BlobEndpoint=...</c> or
    /// <c>EndpointSuffix=...</c>), <c>BlobEndpoint=...;SharedAccessSignature=...</c>, or <c>UseDevelopmentStorage=true</c>
    /// (the emulator at http://127.0.0.1:10000/devstoreaccount1).
    /// </param>
    /// <param name="container">The container; it must exist unless <see cref="BlobBackendOptions.CreateContainerIfMissing"/> is set.</param>
    /// <param name="blobName">The blob that holds the store; it may contain '/'.</param>
    /// <param name="options">Settings; <see langword="null"/> for the defaults.</param>
    public BlobBackend(string connectionString, string container, string blobName, BlobBackendOptions? options = null)
    {
        var account = BlobAccount.Parse(connectionString);
        _options = (options ?? new BlobBackendOptions()).Validated();
        _client = new BlobRestClient(BlobLocation.From(account.BlobEndpoint, container, blobName), account.Signer, account.SasQuery, _options.HttpClient, _options.RequestTimeout);
        _retryReads = BuildRetry(_options);
        (_getOnce, _headOnce, _createContainerOnce) = (GetOnce, HeadOnce, CreateContainerOnce);
    }

    /// <summary>Stores the value in the blob a URL names, authorized by the SAS token in its query (sent as is, never signed here).</summary>
    /// <param name="blobUriWithSas">For example <c>https://account.blob.core.windows.net/container/blob?sv=...&amp;sig=...</c>.
    /// The token needs read, write and create permissions (and container create for <see cref="BlobBackendOptions.CreateContainerIfMissing"/>).</param>
    /// <param name="options">Settings; <see langword="null"/> for the defaults.</param>
    public BlobBackend(Uri blobUriWithSas, BlobBackendOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(blobUriWithSas);
        _options = (options ?? new BlobBackendOptions()).Validated();
        var location = BlobLocation.FromBlobUri(blobUriWithSas);
        _client = new BlobRestClient(location, signer: null, blobUriWithSas.Query, _options.HttpClient, _options.RequestTimeout);
        _retryReads = BuildRetry(_options);
        (_getOnce, _headOnce, _createContainerOnce) = (GetOnce, HeadOnce, CreateContainerOnce);
    }

    /// <summary>The blob's URL, without any SAS token.</summary>
    public Uri BlobUri => _client.Location.BlobUri;

    internal BlobRestClient Client => _client;

    /// <inheritdoc/>
    public StoredState? Read(CancellationToken cancellationToken = default) => Sync(ReadCore(async: false, cancellationToken));

    /// <inheritdoc/>
    public ValueTask<StoredState?> ReadAsync(CancellationToken cancellationToken = default) => ReadCore(async: true, cancellationToken);

    /// <inheritdoc/>
    public long Write(ReadOnlyMemory<byte> data, Guid commitId, CancellationToken cancellationToken = default) =>
        Sync(WriteCore(async: false, data, commitId, cancellationToken));

    /// <inheritdoc/>
    public ValueTask<long> WriteAsync(ReadOnlyMemory<byte> data, Guid commitId, CancellationToken cancellationToken = default) =>
        WriteCore(async: true, data, commitId, cancellationToken);

    /// <inheritdoc/>
    public long? TryWrite(ReadOnlyMemory<byte> data, long? expectedVersion, Guid commitId, CancellationToken cancellationToken = default) =>
        Sync(TryWriteCore(async: false, data.ToArray(), expectedVersion, commitId, cancellationToken));

    /// <inheritdoc/>
    public ValueTask<long?> TryWriteAsync(ReadOnlyMemory<byte> data, long? expectedVersion, Guid commitId, CancellationToken cancellationToken = default) =>
        TryWriteCore(async: true, data.ToArray(), expectedVersion, commitId, cancellationToken);

    /// <inheritdoc/>
    /// <remarks>
    /// Polls with a conditional Get Blob every <see cref="BlobBackendOptions.PollInterval"/> (with jitter), counted from
    /// this instance's last request that saw the stored version; a write through this same instance wakes the wait at once.
    /// On timeout it returns the version the last poll saw.
    /// </remarks>
    public async ValueTask<long?> WaitForChangeAsync(long? knownVersion, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        var started = Environment.TickCount64;
        var localChange = Volatile.Read(ref _localChange).Task;
        // When this instance saw the known version a moment ago, the next poll is not due yet.
        var seen = Volatile.Read(ref _lastSeen);
        var nextPoll = seen is not null && seen.Version == knownVersion ? seen.AtTicks + JitteredPollMilliseconds() : started;
        while (true)
        {
            if (Environment.TickCount64 >= nextPoll)
            {
                var current = (await ReadCore(async: true, cancellationToken).ConfigureAwait(false))?.Version;
                if (current != knownVersion)
                    return current;
                nextPoll = Environment.TickCount64 + JitteredPollMilliseconds();
            }
            var now = Environment.TickCount64;
            var pause = nextPoll - now;
            if (timeout != Timeout.InfiniteTimeSpan)
            {
                var left = (long)timeout.TotalMilliseconds - (now - started);
                if (left <= 0)
                    return knownVersion; // the last poll (or the last request) saw it
                pause = Math.Min(pause, left);
            }
            try
            {
                await localChange.WaitAsync(TimeSpan.FromMilliseconds(Math.Max(pause, 0)), cancellationToken).ConfigureAwait(false);
                // A write through this instance: look at once (take the next signal first, so none is missed).
                localChange = Volatile.Read(ref _localChange).Task;
                ThrowIfDisposed();
                nextPoll = Environment.TickCount64;
            }
            catch (TimeoutException)
            {
                // The next poll is due, or the timeout passed.
            }
        }
    }

    /// <summary>Stops waits in progress and releases the HTTP client when the backend created it (a caller's client is left alone).</summary>
    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        NotifyLocalChange();
        _client.Dispose();
    }

    private async ValueTask<StoredState?> ReadCore(bool async, CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        return await Retried(async, _getOnce, cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask<StoredState?> GetOnce(bool async, CancellationToken cancellationToken)
    {
        var last = Volatile.Read(ref _last);
        var reply = await _client.GetAsync(async, headOnly: false, last?.ETag, cancellationToken).ConfigureAwait(false);
        switch (reply.Status)
        {
            case HttpStatusCode.NotModified when last is not null:
                Saw(last.State.Version);
                return last.State;
            case HttpStatusCode.OK:
                var (version, commitId) = Describe(reply);
                var state = new StoredState(version, reply.Body ?? [], commitId);
                Remember(reply.ETag, state);
                Saw(version);
                return state;
            case HttpStatusCode.NotFound when !reply.IsContainerNotFound || _options.CreateContainerIfMissing:
                Forget();
                Saw(null);
                return null;
            case HttpStatusCode.NotFound:
                throw ContainerMissing();
            default:
                throw Unexpected(reply, "Get Blob");
        }
    }

    /// <summary>Get Blob Properties: the stored version and its ETag, or <see langword="null"/> when the blob does not exist.</summary>
    private async ValueTask<(long Version, string ETag)?> HeadOnce(bool async, CancellationToken cancellationToken)
    {
        var reply = await _client.GetAsync(async, headOnly: true, ifNoneMatch: null, cancellationToken).ConfigureAwait(false);
        switch (reply.Status)
        {
            case HttpStatusCode.OK:
                return (Describe(reply).Version, reply.ETag ?? throw Unexpected(reply, "Get Blob Properties"));
            case HttpStatusCode.NotFound when !reply.IsContainerNotFound || _options.CreateContainerIfMissing:
                return null;
            case HttpStatusCode.NotFound:
                throw ContainerMissing();
            default:
                throw Unexpected(reply, "Get Blob Properties");
        }
    }

    private async ValueTask<long?> TryWriteCore(bool async, byte[] data, long? expectedVersion, Guid commitId, CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        string? ifMatch = null;
        if (expectedVersion is not null)
        {
            var last = Volatile.Read(ref _last);
            if (last?.State.Version == expectedVersion)
            {
                ifMatch = last.ETag;
            }
            else
            {
                // We have not seen the expected version: learn what is stored now (and its ETag) first.
                var current = await Retried(async, _headOnce, cancellationToken).ConfigureAwait(false);
                if (current?.Version != expectedVersion)
                    return null;
                ifMatch = current.Value.ETag;
            }
        }

        var version = (expectedVersion ?? 0) + 1;
        var metadata = new KeyValuePair<string, string>[]
        {
            new(MarkerKey, MarkerValue),
            new(VersionKey, version.ToString(CultureInfo.InvariantCulture)),
            new(CommitKey, commitId.ToString("N")),
        };
        // Not retried: a lost reply must be resolved by reading back the commit id (the core does that).
        var reply = await _client.PutAsync(async, data, metadata, ifMatch, ifNoneMatchAny: expectedVersion is null, cancellationToken).ConfigureAwait(false);
        if (reply.IsContainerNotFound && _options.CreateContainerIfMissing)
        {
            // A 404 means nothing was written, so sending the same request again is safe.
            await Retried(async, _createContainerOnce, cancellationToken).ConfigureAwait(false);
            reply = await _client.PutAsync(async, data, metadata, ifMatch, ifNoneMatchAny: expectedVersion is null, cancellationToken).ConfigureAwait(false);
        }
        switch (reply.Status)
        {
            case HttpStatusCode.Created:
                Remember(reply.ETag, new StoredState(version, data, commitId));
                NotifyLocalChange();
                return version;
            case HttpStatusCode.PreconditionFailed or HttpStatusCode.Conflict:
                // 412: the ETag moved on; 409 BlobAlreadyExists: "only if empty" found a blob. A conflict, not an error.
                return null;
            case HttpStatusCode.NotFound when reply.IsContainerNotFound:
                throw ContainerMissing();
            default:
                throw Unexpected(reply, "Put Blob");
        }
    }

    private async ValueTask<long> WriteCore(bool async, ReadOnlyMemory<byte> data, Guid commitId, CancellationToken cancellationToken)
    {
        var bytes = data.ToArray();
        while (true)
        {
            // Compare-and-swap against what is stored now, so versions stay unique and increasing; a 412 means
            // nothing was written (someone else was faster), so going round again is safe. The last writer wins.
            ThrowIfDisposed();
            var current = await Retried(async, _headOnce, cancellationToken).ConfigureAwait(false);
            var version = await TryWriteCore(async, bytes, current?.Version, commitId, cancellationToken).ConfigureAwait(false);
            if (version is not null)
                return version.Value;
        }
    }

    private async ValueTask<bool> CreateContainerOnce(bool async, CancellationToken cancellationToken)
    {
        var reply = await _client.CreateContainerAsync(async, cancellationToken).ConfigureAwait(false);
        return reply.Status switch
        {
            HttpStatusCode.Created => true,
            HttpStatusCode.Conflict => false, // ContainerAlreadyExists: someone else created it first
            _ => throw Unexpected(reply, "Create Container"),
        };
    }

    private (long Version, Guid CommitId) Describe(BlobReply reply)
    {
        var url = BlobUri;
        if (!reply.Metadata.TryGetValue(MarkerKey, out var marker))
            throw new ToscDataException($"The blob {url} is not a Tosc store (it has no x-ms-meta-{MarkerKey} metadata); point the backend at another blob or delete this one.");
        if (marker != MarkerValue)
            throw new ToscDataException($"The blob {url} has Tosc store layout {marker}, which this version does not know (it knows {MarkerValue}); upgrade Tosc.");
        if (!reply.Metadata.TryGetValue(VersionKey, out var versionText)
            || !long.TryParse(versionText, NumberStyles.None, CultureInfo.InvariantCulture, out var version))
            throw new ToscDataException($"The blob {url} is marked as a Tosc store but its x-ms-meta-{VersionKey} metadata ('{versionText}') is not a version number.");
        var commitId = reply.Metadata.TryGetValue(CommitKey, out var commitText) && Guid.TryParse(commitText, out var parsed) ? parsed : Guid.Empty;
        return (version, commitId);
    }

    private void Remember(string? etag, StoredState state)
    {
        if (etag is null)
            return;
        lock (_gate)
        {
            // Keep the newest: a slow reply about an older version must not replace a newer one.
            if (_last is null || _last.State.Version <= state.Version)
                _last = new Cached(etag, state);
        }
    }

    private void Forget()
    {
        lock (_gate)
            _last = null;
    }

    private void NotifyLocalChange() => Interlocked.Exchange(ref _localChange, NewSignal()).TrySetResult();

    private BackendException ContainerMissing() =>
        new($"The container '{_client.Location.ContainerName}' does not exist at {BlobLocation.Display(_client.Location.ContainerUri)}; " +
            "create it, or set BlobBackendOptions.CreateContainerIfMissing = true to create it on the first write.",
            isTransient: false);

    private BackendException Unexpected(BlobReply reply, string operation) =>
        new($"The Blob service answered {operation} on {BlobUri} with an unexpected {(int)reply.Status} {reply.ErrorCode}.", isTransient: false);

    private ValueTask<T> Retried<T>(bool async, Func<bool, CancellationToken, ValueTask<T>> operation, CancellationToken cancellationToken)
    {
        if (async)
            return _retryReads.ExecuteAsync(static (op, token) => op(true, token), operation, cancellationToken);
        return new ValueTask<T>(_retryReads.Execute(static (op, token) => Sync(op(false, token)), operation, cancellationToken));
    }

    private static ResiliencePipeline BuildRetry(BlobBackendOptions options)
    {
        if (options.MaxRetries == 0)
            return ResiliencePipeline.Empty;
        return new ResiliencePipelineBuilder()
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<BackendException>(e => e.IsTransient),
                MaxRetryAttempts = options.MaxRetries,
                Delay = options.RetryDelay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
            })
            .Build();
    }

    /// <summary>Completes a call made with async: false; it never awaited anything that was not already done.</summary>
    private static T Sync<T>(ValueTask<T> task)
    {
        Debug.Assert(task.IsCompleted, "a synchronous call went asynchronous");
        return task.GetAwaiter().GetResult();
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    private long JitteredPollMilliseconds() => (long)(_options.PollInterval.TotalMilliseconds * (0.8 + (0.4 * Random.Shared.NextDouble())));

    private void Saw(long? version) => Volatile.Write(ref _lastSeen, new Seen(version, Environment.TickCount64));

    private sealed record Cached(string ETag, StoredState State);

    private sealed record Seen(long? Version, long AtTicks);
}
