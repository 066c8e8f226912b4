namespace Tosc;

/// <summary>Settings of a <see cref="BlobBackend"/>. Validated once, when the backend is created.</summary>
public sealed class BlobBackendOptions
{
    /// <summary>How often a waiting manager asks the service whether the blob changed.</summary>
    /// <remarks>
    /// A poll is a conditional Get Blob (<c>If-None-Match</c> on the last ETag seen): when nothing changed the
    /// service answers 304 Not Modified and no data is downloaded. The Blob service has no change notification,
    /// so a commit from another process is seen within one interval.
    /// </remarks>
    /// <value>The default is 2 seconds. Must be at least 10 milliseconds.</value>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How long one request may take before it is abandoned as a transient failure.</summary>
    /// <remarks>
    /// Applies to the clients the backend builds (<c>BlobClientOptions.Retry.NetworkTimeout</c>); a
    /// <see cref="Azure.Storage.Blobs.BlobClient"/> passed in keeps its own setting.
    /// </remarks>
    /// <value>The default is 10 seconds. Must be positive (or <see cref="Timeout.InfiniteTimeSpan"/>).</value>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Whether a write creates the container when it does not exist yet.</summary>
    /// <remarks>Needs credentials that may create containers (the account key, an account SAS, or a data-owner role).</remarks>
    /// <value>The default is <see langword="false"/>: a missing container is reported as an error naming it.</value>
    public bool CreateContainerIfMissing { get; set; }

    internal BlobBackendOptions Validated()
    {
        if (PollInterval < TimeSpan.FromMilliseconds(10))
            throw new ArgumentException($"BlobBackendOptions.PollInterval must be at least 10 ms; it is {PollInterval}.", nameof(PollInterval));
        if (RequestTimeout <= TimeSpan.Zero && RequestTimeout != Timeout.InfiniteTimeSpan)
            throw new ArgumentException($"BlobBackendOptions.RequestTimeout must be positive or Timeout.InfiniteTimeSpan; it is {RequestTimeout}.", nameof(RequestTimeout));

        // A copy, so changing the options object later does not change a running backend.
        return (BlobBackendOptions)MemberwiseClone();
    }
}
