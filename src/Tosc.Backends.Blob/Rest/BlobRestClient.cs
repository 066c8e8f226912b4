using System.Globalization;
using System.Net;
using System.Net.Http.Headers;

namespace Tosc;

/// <summary>
/// The four Blob service calls the backend needs (Get Blob, Get Blob Properties, Put Blob, Create Container),
/// signed with the account key or authorized by a SAS query. Expected answers (200, 201, 304, 404, 409, 412)
/// come back as a <see cref="BlobReply"/>; everything else becomes a <see cref="BackendException"/> that names the URL.
/// </summary>
internal sealed class BlobRestClient : IDisposable
{
    /// <summary>The REST API version requests ask for.</summary>
    internal const string ServiceVersion = "2021-12-02";

    internal const string MetadataPrefix = "x-ms-meta-";

    private readonly HttpClient _http;
    private readonly bool _ownsHttp;
    private readonly SharedKeySigner? _signer;
    private readonly string? _sasQuery;
    private readonly TimeSpan _requestTimeout;

    public BlobRestClient(BlobLocation location, SharedKeySigner? signer, string? sasQuery, HttpClient? http, TimeSpan requestTimeout)
    {
        Location = location;
        _signer = signer;
        _sasQuery = string.IsNullOrEmpty(sasQuery) ? null : sasQuery.TrimStart('?');
        _requestTimeout = requestTimeout;
        _ownsHttp = http is null;
        // Our own client has no overall timeout: each request gets RequestTimeout through its token instead,
        // which also works for a caller's client.
        _http = http ?? new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) }) { Timeout = Timeout.InfiniteTimeSpan };
    }

    public BlobLocation Location { get; }

    /// <summary>The client requests go through; disposed with this object only when it was created here.</summary>
    internal HttpClient Http => _http;

    public bool UsesSharedKey => _signer is not null;

    /// <summary>Get Blob, or Get Blob Properties when <paramref name="headOnly"/>; 304 when the ETag still matches.</summary>
    public async ValueTask<BlobReply> GetAsync(bool async, bool headOnly, string? ifNoneMatch, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(headOnly ? HttpMethod.Head : HttpMethod.Get, WithSas(Location.BlobUri, null));
        if (ifNoneMatch is not null)
            request.Headers.TryAddWithoutValidation("If-None-Match", ifNoneMatch);
        return await SendAsync(async, request, headOnly ? "Get Blob Properties" : "Get Blob", readBody: !headOnly, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Put Blob (a block blob) with its metadata, conditional on an ETag or on the blob not existing.</summary>
    public async ValueTask<BlobReply> PutAsync(
        bool async, byte[] body, IEnumerable<KeyValuePair<string, string>> metadata, string? ifMatch, bool ifNoneMatchAny, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, WithSas(Location.BlobUri, null));
        request.Content = new ByteArrayContent(body);
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        request.Headers.TryAddWithoutValidation("x-ms-blob-type", "BlockBlob");
        foreach (var (name, value) in metadata)
            request.Headers.TryAddWithoutValidation(MetadataPrefix + name, value);
        if (ifMatch is not null)
            request.Headers.TryAddWithoutValidation("If-Match", ifMatch);
        if (ifNoneMatchAny)
            request.Headers.TryAddWithoutValidation("If-None-Match", "*");
        return await SendAsync(async, request, "Put Blob", readBody: false, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Create Container; 201 when created, 409 when it already existed.</summary>
    public async ValueTask<BlobReply> CreateContainerAsync(bool async, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, WithSas(Location.ContainerUri, "restype=container"));
        return await SendAsync(async, request, "Create Container", readBody: false, cancellationToken).ConfigureAwait(false);
    }

    public void Dispose()
    {
        if (_ownsHttp)
            _http.Dispose();
    }

    private Uri WithSas(Uri uri, string? query)
    {
        var parts = string.Join('&', new[] { query, _sasQuery }.Where(q => !string.IsNullOrEmpty(q)));
        return parts.Length == 0 ? uri : new Uri(uri.AbsoluteUri + "?" + parts);
    }

    private async ValueTask<BlobReply> SendAsync(bool async, HttpRequestMessage request, string operation, bool readBody, CancellationToken cancellationToken)
    {
        request.Headers.TryAddWithoutValidation("x-ms-version", ServiceVersion);
        request.Headers.TryAddWithoutValidation("x-ms-date", DateTimeOffset.UtcNow.ToString("R", CultureInfo.InvariantCulture));
        _signer?.Sign(request);

        var url = BlobLocation.Display(request.RequestUri!);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (_requestTimeout != Timeout.InfiniteTimeSpan)
            timeout.CancelAfter(_requestTimeout);
        try
        {
            using var response = async
                ? await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, timeout.Token).ConfigureAwait(false)
                : _http.Send(request, HttpCompletionOption.ResponseContentRead, timeout.Token);
            var status = response.StatusCode;
            var errorCode = First(response.Headers, "x-ms-error-code");
            switch (status)
            {
                case HttpStatusCode.OK or HttpStatusCode.Created or HttpStatusCode.NotModified
                    or HttpStatusCode.NotFound or HttpStatusCode.Conflict or HttpStatusCode.PreconditionFailed:
                    byte[]? body = null;
                    if (readBody && status == HttpStatusCode.OK)
                        body = async ? await response.Content.ReadAsByteArrayAsync(timeout.Token).ConfigureAwait(false) : ReadAll(response.Content, timeout.Token);
                    return new BlobReply(status, errorCode, First(response.Headers, "ETag"), Metadata(response.Headers), body);
                case HttpStatusCode.Forbidden or HttpStatusCode.Unauthorized:
                    throw new BackendException(
                        $"The Blob service refused {operation} on {url} ({(int)status} {errorCode}): " +
                        (_signer is not null
                            ? $"check AccountName ({_signer.AccountName}) and AccountKey in the connection string."
                            : "the SAS token is wrong, has expired, or lacks the permission this operation needs; issue a new one."),
                        isTransient: false);
                case HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests or >= HttpStatusCode.InternalServerError:
                    throw new BackendException($"The Blob service answered {operation} on {url} with {(int)status} {errorCode}; it may succeed if tried again.", isTransient: true);
                default:
                    throw new BackendException($"The Blob service answered {operation} on {url} with an unexpected {(int)status} {errorCode}.", isTransient: false);
            }
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            // Our RequestTimeout, or the caller's HttpClient.Timeout: either way the request may succeed later.
            throw new BackendException($"{operation} on {url} did not complete within {_requestTimeout.TotalSeconds:0.###} s (BlobBackendOptions.RequestTimeout).", isTransient: true, e);
        }
        catch (HttpRequestException e)
        {
            throw new BackendException($"{operation} on {url} failed: {e.Message} Is the Blob service running and reachable?", isTransient: true, e);
        }
        catch (IOException e)
        {
            throw new BackendException($"{operation} on {url} failed while transferring data: {e.Message}", isTransient: true, e);
        }
    }

    private static byte[] ReadAll(HttpContent content, CancellationToken cancellationToken)
    {
        using var stream = content.ReadAsStream(cancellationToken);
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return buffer.ToArray();
    }

    private static string? First(HttpResponseHeaders headers, string name) =>
        headers.NonValidated.TryGetValues(name, out var values) ? values.FirstOrDefault() : null;

    private static Dictionary<string, string> Metadata(HttpResponseHeaders headers)
    {
        var metadata = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var header in headers.NonValidated)
        {
            if (header.Key.StartsWith(MetadataPrefix, StringComparison.OrdinalIgnoreCase))
                metadata[header.Key[MetadataPrefix.Length..]] = header.Value.FirstOrDefault() ?? "";
        }
        return metadata;
    }
}

/// <summary>One answer of the Blob service that the backend interprets itself.</summary>
/// <param name="Status">200, 201, 304, 404, 409 or 412.</param>
/// <param name="ErrorCode">The x-ms-error-code header (BlobNotFound, ContainerNotFound, ConditionNotMet, BlobAlreadyExists...).</param>
/// <param name="ETag">The blob's (or container's) ETag, quoted as the service sent it.</param>
/// <param name="Metadata">The x-ms-meta-* headers without their prefix.</param>
/// <param name="Body">The downloaded bytes (Get Blob with 200 only).</param>
internal sealed record BlobReply(HttpStatusCode Status, string? ErrorCode, string? ETag, IReadOnlyDictionary<string, string> Metadata, byte[]? Body)
{
    public bool IsContainerNotFound => Status == HttpStatusCode.NotFound && ErrorCode == "ContainerNotFound";
}
