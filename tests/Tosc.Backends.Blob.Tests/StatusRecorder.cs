using System.Collections.Concurrent;
using System.Net;

namespace Tosc.Tests.Blob;

/// <summary>Passes requests on and records what came back, so a test can see which requests downloaded data.</summary>
internal sealed class StatusRecorder() : DelegatingHandler(new SocketsHttpHandler())
{
    private readonly ConcurrentQueue<(HttpMethod Method, HttpStatusCode Status, long BodyBytes)> _seen = new();

    /// <summary>When set, answers the next requests with this status instead of sending them (a fault that cannot be made for real).</summary>
    public Func<HttpRequestMessage, HttpStatusCode?>? Fault { get; set; }

    public IReadOnlyList<(HttpMethod Method, HttpStatusCode Status, long BodyBytes)> Seen => [.. _seen];

    public void Clear() => _seen.Clear();

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
        Record(request, Fault?.Invoke(request) is { } status ? new HttpResponseMessage(status) : await base.SendAsync(request, cancellationToken));

    protected override HttpResponseMessage Send(HttpRequestMessage request, CancellationToken cancellationToken) =>
        Record(request, Fault?.Invoke(request) is { } status ? new HttpResponseMessage(status) : base.Send(request, cancellationToken));

    private HttpResponseMessage Record(HttpRequestMessage request, HttpResponseMessage response)
    {
        _seen.Enqueue((request.Method, response.StatusCode, response.Content.Headers.ContentLength ?? 0));
        return response;
    }
}
