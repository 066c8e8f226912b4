using System.Collections.Concurrent;
using System.Net;
using Azure.Core.Pipeline;
using Azure.Storage.Blobs;

namespace Tosc.Tests.Blob;

/// <summary>
/// The HTTP handler under a test's <see cref="BlobClient"/>: passes requests on to Azurite, records what came back,
/// and injects the faults that cannot be made for real (a status the emulator never sends, a reply lost after the
/// request did its work).
/// </summary>
internal sealed class StatusRecorder() : DelegatingHandler(new SocketsHttpHandler())
{
    private readonly ConcurrentQueue<(HttpMethod Method, HttpStatusCode Status, long BodyBytes)> _seen = new();

    /// <summary>When it returns a status, the request is answered with it instead of being sent.</summary>
    public Func<HttpRequestMessage, HttpStatusCode?>? Fault { get; set; }

    /// <summary>When it returns <see langword="true"/>, the request is sent and done, and then its reply is lost (an <see cref="HttpRequestException"/>).</summary>
    public Func<HttpRequestMessage, bool>? LoseReply { get; set; }

    public IReadOnlyList<(HttpMethod Method, HttpStatusCode Status, long BodyBytes)> Seen => [.. _seen];

    public void Clear() => _seen.Clear();

    /// <summary>A client for one blob of the emulator whose requests go through this handler, with the backend's client options.</summary>
    public BlobClient Client(AzuriteFixture azurite, string container, string blob)
    {
        var options = BlobBackend.CreateClientOptions();
        options.Transport = new HttpClientTransport(new HttpClient(this, disposeHandler: false));
        return new BlobClient(azurite.ConnectionString, container, blob, options);
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
        Record(request, Fault?.Invoke(request) is { } status ? new HttpResponseMessage(status) : await base.SendAsync(request, cancellationToken));

    protected override HttpResponseMessage Send(HttpRequestMessage request, CancellationToken cancellationToken) =>
        Record(request, Fault?.Invoke(request) is { } status ? new HttpResponseMessage(status) : base.Send(request, cancellationToken));

    private HttpResponseMessage Record(HttpRequestMessage request, HttpResponseMessage response)
    {
        _seen.Enqueue((request.Method, response.StatusCode, response.Content.Headers.ContentLength ?? 0));
        if (LoseReply?.Invoke(request) != true)
            return response;
        response.Dispose();
        throw new HttpRequestException("The connection dropped after the request was sent (a lost reply, injected by the test).");
    }
}
