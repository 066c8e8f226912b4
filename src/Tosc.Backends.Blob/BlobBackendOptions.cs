namespace Tosc;

/// <summary>Settings of a <see cref="BlobBackend"/>. Validated once, when the backend is created.</summary>
public sealed class BlobBackendOptions
{
    /// <summary>How often <see cref="BlobBackend.WaitForChangeAsync"/> asks the service whether the blob changed.</summary>
    /// <remarks>
    /// Each wait is the interval scaled by a random factor between 0.8 and 1.2, so processes started together
    /// do not poll in step. A poll is a conditional request: when nothing changed the service answers
    /// 304 Not Modified and no data is downloaded.
    /// </remarks>
    /// <value>The default is 2 seconds. Must be at least 10 milliseconds.</value>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How long one HTTP request may take before it is abandoned as a transient failure.</summary>
    /// <value>The default is 10 seconds. Must be positive (or <see cref="Timeout.InfiniteTimeSpan"/>).</value>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Whether a write creates the container when it does not exist yet.</summary>
    /// <remarks>Needs credentials that may create containers (the account key, or an account SAS).</remarks>
    /// <value>The default is <see langword="false"/>: a missing container is reported as an error naming it.</value>
    public bool CreateContainerIfMissing { get; set; }

    /// <summary>
    /// How many times a read (and container creation) is tried again after a transient failure
    /// (5xx, 408, 429, a timeout, a refused or dropped connection). Writes are never retried here:
    /// their outcome is resolved by the core, which reads back the commit id.
    /// </summary>
    /// <value>The default is 3. Zero turns retries off.</value>
    public int MaxRetries { get; set; } = 3;

    /// <summary>The delay before the first retry; later retries back off exponentially, with jitter.</summary>
    /// <value>The default is 100 milliseconds.</value>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// An <see cref="System.Net.Http.HttpClient"/> of the caller's to send requests with; the backend never disposes it.
    /// When <see langword="null"/>, the backend creates its own and disposes it with itself.
    /// </summary>
    /// <remarks>
    /// The synchronous methods of the backend use <see cref="HttpClient.Send(HttpRequestMessage, CancellationToken)"/>,
    /// so the client's handler must support synchronous sends (<see cref="SocketsHttpHandler"/> does).
    /// </remarks>
    /// <value>The default is <see langword="null"/>.</value>
    public HttpClient? HttpClient { get; set; }

    internal BlobBackendOptions Validated()
    {
        if (PollInterval < TimeSpan.FromMilliseconds(10))
            throw new ArgumentException($"BlobBackendOptions.PollInterval must be at least 10 ms; it is {PollInterval}.", nameof(PollInterval));
        if (RequestTimeout <= TimeSpan.Zero && RequestTimeout != Timeout.InfiniteTimeSpan)
            throw new ArgumentException($"BlobBackendOptions.RequestTimeout must be positive or Timeout.InfiniteTimeSpan; it is {RequestTimeout}.", nameof(RequestTimeout));
        if (MaxRetries < 0)
            throw new ArgumentException($"BlobBackendOptions.MaxRetries must be zero or more; it is {MaxRetries}.", nameof(MaxRetries));
        if (RetryDelay < TimeSpan.Zero)
            throw new ArgumentException($"BlobBackendOptions.RetryDelay must not be negative; it is {RetryDelay}.", nameof(RetryDelay));

        // A copy, so changing the options object later does not change a running backend.
        return (BlobBackendOptions)MemberwiseClone();
    }
}
