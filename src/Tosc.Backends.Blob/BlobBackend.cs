using System.Globalization;
using Azure;
using Azure.Core;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;

namespace Tosc;

/// <summary>
/// Keeps the value in one Azure Storage block blob: the blob's body is the encoded value, its metadata carries the
/// Tosc version and commit id, and compare-and-swap is a Put Blob conditional on the ETag of the expected version.
/// Works with Azure Storage and with the Azurite emulator. See docs/blob-backend.md.
/// </summary>
/// <remarks>
/// Every request is sent once: transient failures are reported (<see cref="BackendException.IsTransient"/>) and the
/// core retries reads and resolves writes whose reply was lost by reading back the commit id. The clients the backend
/// builds have the SDK's retries off; a <see cref="BlobClient"/> passed in must be built the same way
/// (<see cref="CreateClientOptions"/>). Changes by other processes are found by polling with conditional requests,
/// so an unchanged blob costs a 304 and no download.
/// </remarks>
public sealed partial class BlobBackend : ToscBackend
{
    // Metadata names (the service compares them case-insensitively).
    internal const string MarkerKey = "toscstore";
    internal const string MarkerValue = "1"; // layout 1: the body is the value (the first release's, and whole-state writes')
    internal const string LogMarkerValue = "2"; // layout 2: snapshot blocks, then one block per log record
    internal const string VersionKey = "toscversion";
    internal const string CommitKey = "tosccommit";

    private readonly BlobClient _blob;
    private readonly BlobBackendOptions _options;
    private readonly string _credentialHint;
    private readonly Lock _gate = new();
    private BlobState? _last; // the newest state seen, with its ETag: conditional reads answer 304 against it

    /// <summary>Stores the value in the blob a caller's client points at; the client stays the caller's.</summary>
    /// <param name="blob">
    /// A client built with any credential (connection string, SAS, <see cref="TokenCredential"/> such as
    /// <c>DefaultAzureCredential</c>) and with <see cref="CreateClientOptions"/>, or at least with
    /// <c>Retry.MaxRetries = 0</c>: the SDK would otherwise send a write again after a lost reply, its second attempt
    /// would fail the ETag check, and the commit would be reported as a conflict and applied twice by <c>Run</c>.
    /// </param>
    /// <param name="options">Settings; <see langword="null"/> for the defaults (<see cref="BlobBackendOptions.RequestTimeout"/> does not apply: the client has its own).</param>
    public BlobBackend(BlobClient blob, BlobBackendOptions? options = null)
        : this(Validated(options), _ => blob ?? throw new ArgumentNullException(nameof(blob)),
            "the BlobClient's credentials (the account key, the SAS token's permissions and expiry, or the identity's role on the container)")
    {
    }

    /// <summary>Stores the value in <paramref name="blob"/> of <paramref name="container"/> of the account a connection string names.</summary>
    /// <param name="connectionString">
    /// <c>DefaultEndpointsProtocol=https;AccountName=...;AccountKey=...</c> (optionally with <c>BlobEndpoint=...</c> or
    /// <c>EndpointSuffix=...</c>), <c>BlobEndpoint=...;SharedAccessSignature=...</c>, or <c>UseDevelopmentStorage=true</c>
    /// (the emulator at http://127.0.0.1:10000/devstoreaccount1).
    /// </param>
    /// <param name="container">The container; it must exist unless <see cref="BlobBackendOptions.CreateContainerIfMissing"/> is set.</param>
    /// <param name="blob">The blob that holds the store; it may contain '/'.</param>
    /// <param name="options">Settings; <see langword="null"/> for the defaults.</param>
    public BlobBackend(string connectionString, string container, string blob, BlobBackendOptions? options = null)
        : this(Validated(options), clientOptions => FromConnectionString(connectionString, container, blob, clientOptions),
            connectionString?.Contains("SharedAccessSignature", StringComparison.OrdinalIgnoreCase) == true
                ? "the SAS token in the connection string (its permissions and expiry)"
                : "the AccountKey in the connection string")
    {
    }

    /// <summary>Stores the value in the blob a URL names, authorized by the SAS token in its query.</summary>
    /// <param name="blobUriWithSas">For example <c>https://account.blob.core.windows.net/container/blob?sv=...&amp;sig=...</c>.
    /// The token needs read, write and create permissions (and container create for <see cref="BlobBackendOptions.CreateContainerIfMissing"/>).</param>
    /// <param name="options">Settings; <see langword="null"/> for the defaults.</param>
    public BlobBackend(Uri blobUriWithSas, BlobBackendOptions? options = null)
        : this(Validated(options), clientOptions => new BlobClient(blobUriWithSas ?? throw new ArgumentNullException(nameof(blobUriWithSas)), clientOptions),
            "the SAS token in the URL (it needs the r, c and w permissions, an expiry in the future and an intact signature)")
    {
    }

    /// <summary>Stores the value in the blob a URL names, authorized by an Entra ID token credential (such as <c>DefaultAzureCredential</c>).</summary>
    /// <param name="blobUri">For example <c>https://account.blob.core.windows.net/container/blob</c>.</param>
    /// <param name="credential">The credential; the identity needs the Storage Blob Data Contributor role (or equivalent) on the container.</param>
    /// <param name="options">Settings; <see langword="null"/> for the defaults.</param>
    public BlobBackend(Uri blobUri, TokenCredential credential, BlobBackendOptions? options = null)
        : this(Validated(options), clientOptions => new BlobClient(blobUri ?? throw new ArgumentNullException(nameof(blobUri)),
                credential ?? throw new ArgumentNullException(nameof(credential)), clientOptions),
            "the identity's role on the container (Storage Blob Data Contributor) and the credential's tenant")
    {
    }

    private BlobBackend(BlobBackendOptions options, Func<BlobClientOptions, BlobClient> client, string credentialHint)
        : base(options.PollInterval)
    {
        _options = options;
        var clientOptions = CreateClientOptions();
        clientOptions.Retry.NetworkTimeout = options.RequestTimeout;
        _blob = client(clientOptions);
        _credentialHint = credentialHint;
        BlobUri = new Uri(_blob.Uri.GetLeftPart(UriPartial.Path));
        BlobNames.Check(_blob, BlobUri);
    }

    /// <summary>The blob's URL, without any SAS token.</summary>
    public Uri BlobUri { get; }

    /// <summary>
    /// Options for a <see cref="BlobClient"/> to pass to <see cref="BlobBackend(BlobClient, BlobBackendOptions?)"/>: the
    /// SDK's retries off (the core alone decides what may be sent again) and the service version the backend is tested
    /// with (2025-11-05, which Azurite 3.35 accepts). Set a credential-independent <c>Transport</c> or diagnostics as needed.
    /// </summary>
    public static BlobClientOptions CreateClientOptions() =>
        new(BlobClientOptions.ServiceVersion.V2025_11_05) { Retry = { MaxRetries = 0 } };

    /// <inheritdoc/>
    /// <remarks>A conditional Get Blob: when the blob still has the ETag last seen, the service answers 304 and nothing is downloaded.</remarks>
    protected override async ValueTask<StoredState?> ReadCoreAsync(bool async, CancellationToken cancellationToken) =>
        (await RefreshAsync(async, cancellationToken).ConfigureAwait(false))?.Whole;

    /// <inheritdoc/>
    protected override async ValueTask<long?> WriteCoreAsync(ReadOnlyMemory<byte> data, WriteCondition condition, Guid commitId, bool async, CancellationToken cancellationToken)
    {
        var bytes = data.ToArray(); // the caller may reuse its buffer; this copy is also what the cache keeps
        while (true)
        {
            var expected = condition.ExpectedVersion;
            ETag? etag = null;
            var last = Volatile.Read(ref _last);
            if (condition.IsUnconditional || (expected is not null && last?.Version != expected))
            {
                // Compare-and-swap against what is stored now, so versions stay unique and increasing.
                var current = await PropertiesAsync(async, cancellationToken).ConfigureAwait(false);
                if (!condition.Allows(current?.Version))
                    return null;
                (expected, etag) = (current?.Version, current?.ETag);
            }
            else if (expected is not null)
            {
                etag = last!.ETag;
            }
            var version = await PutAsync(bytes, expected, etag, commitId, async, cancellationToken).ConfigureAwait(false);
            // A failed condition wrote nothing: an unconditional write goes round again (the last writer wins).
            if (version is not null || !condition.IsUnconditional)
                return version;
        }
    }

    private async ValueTask<long?> PutAsync(byte[] bytes, long? expected, ETag? etag, Guid commitId, bool async, CancellationToken cancellationToken)
    {
        var version = (expected ?? 0) + 1;
        var upload = new BlobUploadOptions
        {
            Metadata = new Dictionary<string, string>
            {
                [MarkerKey] = MarkerValue,
                [VersionKey] = version.ToString(CultureInfo.InvariantCulture),
                [CommitKey] = commitId.ToString("N"),
            },
            Conditions = expected is null ? new BlobRequestConditions { IfNoneMatch = ETag.All } : new BlobRequestConditions { IfMatch = etag },
        };
        for (var createdContainer = false; ; createdContainer = true)
        {
            try
            {
                // Sent once: after a lost reply only reading back the commit id (the core does) tells whether it landed.
                var response = async
                    ? await _blob.UploadAsync(BinaryData.FromBytes(bytes), upload, cancellationToken).ConfigureAwait(false)
                    : _blob.Upload(BinaryData.FromBytes(bytes), upload, cancellationToken);
                Remember(new BlobState(response.Value.ETag, 1, new StoredState(version, bytes, commitId), null, 0, []));
                return version;
            }
            catch (RequestFailedException e) when (e.Status is 412 or 409)
            {
                return null; // 412: the ETag moved on; 409 BlobAlreadyExists: "only if empty" found a blob
            }
            catch (RequestFailedException e) when (!createdContainer && _options.CreateContainerIfMissing && BlobErrors.IsContainerMissing(e))
            {
                // A 404 wrote nothing, so sending the same request again once the container exists is safe.
                await CreateContainerAsync(async, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (Failure(e, "Put Blob", cancellationToken) is { } failure)
            {
                throw failure;
            }
        }
    }

    /// <summary>Get Blob Properties: the stored version and its ETag, or <see langword="null"/> when nothing is stored.</summary>
    private async ValueTask<(long Version, ETag ETag)?> PropertiesAsync(bool async, CancellationToken cancellationToken)
    {
        try
        {
            var properties = async
                ? (await _blob.GetPropertiesAsync(cancellationToken: cancellationToken).ConfigureAwait(false)).Value
                : _blob.GetProperties(cancellationToken: cancellationToken).Value;
            return (Describe(properties.Metadata).Version, properties.ETag);
        }
        catch (RequestFailedException e) when (IsNothingStored(e))
        {
            return null;
        }
        catch (Exception e) when (Failure(e, "Get Blob Properties", cancellationToken) is { } failure)
        {
            throw failure;
        }
    }

    private async ValueTask CreateContainerAsync(bool async, CancellationToken cancellationToken)
    {
        var container = _blob.GetParentBlobContainerClient();
        try
        {
            if (async)
                await container.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            else
                container.CreateIfNotExists(cancellationToken: cancellationToken);
        }
        catch (Exception e) when (Failure(e, "Create Container", cancellationToken) is { } failure)
        {
            throw failure;
        }
    }

    private bool IsNothingStored(RequestFailedException e) =>
        e.Status == 404 && (!BlobErrors.IsContainerMissing(e) || _options.CreateContainerIfMissing);

    private BackendException? Failure(Exception e, string operation, CancellationToken cancellationToken) =>
        BlobErrors.Map(e, operation, _blob, BlobUri, _credentialHint, cancellationToken);

    private (long Version, Guid CommitId) Describe(IDictionary<string, string> metadata)
    {
        if (!metadata.TryGetValue(MarkerKey, out var marker))
            throw new ToscDataException($"The blob {BlobUri} is not a Tosc store (it has no {MarkerKey} metadata); point the backend at another blob or delete this one.");
        if (marker is not (MarkerValue or LogMarkerValue))
            throw new ToscDataException($"The blob {BlobUri} has Tosc store layout {marker}, which this version does not know (it knows {MarkerValue} and {LogMarkerValue}); upgrade Tosc.");
        if (!metadata.TryGetValue(VersionKey, out var versionText)
            || !long.TryParse(versionText, NumberStyles.None, CultureInfo.InvariantCulture, out var version))
            throw new ToscDataException($"The blob {BlobUri} is marked as a Tosc store but its {VersionKey} metadata ('{versionText}') is not a version number.");
        var commitId = metadata.TryGetValue(CommitKey, out var commitText) && Guid.TryParse(commitText, out var parsed) ? parsed : Guid.Empty;
        return (version, commitId);
    }

    private void Remember(BlobState state)
    {
        lock (_gate)
        {
            // Keep the newest: a slow reply about an older version must not replace a newer one.
            if (_last is null || _last.Version <= state.Version)
                _last = state;
        }
    }

    private void Forget()
    {
        lock (_gate)
            _last = null;
    }

    private static BlobBackendOptions Validated(BlobBackendOptions? options) => (options ?? new BlobBackendOptions()).Validated();

    private static BlobClient FromConnectionString(string connectionString, string container, string blob, BlobClientOptions options)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        BlobNames.CheckContainer(container);
        ArgumentException.ThrowIfNullOrEmpty(blob);
        try
        {
            return new BlobClient(connectionString, container, blob, options);
        }
        catch (Exception e) when (e is FormatException or ArgumentException or InvalidOperationException)
        {
            // The SDK's message names the part that is wrong; the connection string itself is never echoed (it holds the key).
            throw new ArgumentException(
                $"The connection string is not valid: {e.Message} Expected AccountName=...;AccountKey=... (with DefaultEndpointsProtocol, " +
                "EndpointSuffix or BlobEndpoint), BlobEndpoint=...;SharedAccessSignature=..., or UseDevelopmentStorage=true.", nameof(connectionString));
        }
    }
}
