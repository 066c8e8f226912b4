using Azure;
using Azure.Storage.Blobs;

namespace Tosc;

/// <summary>Turns the SDK's failures into <see cref="BackendException"/>s that say whether trying again may help and what to fix.</summary>
internal static class BlobErrors
{
    public static bool IsContainerMissing(RequestFailedException e) =>
        e.Status == 404 && string.Equals(e.ErrorCode, "ContainerNotFound", StringComparison.OrdinalIgnoreCase);

    /// <summary>The exception to throw for <paramref name="e"/>, or <see langword="null"/> to let it through (the caller's cancellation, a bug).</summary>
    public static BackendException? Map(Exception e, string operation, BlobClient blob, Uri blobUri, string credentialHint, CancellationToken cancellationToken)
    {
        switch (e)
        {
            case OperationCanceledException when cancellationToken.IsCancellationRequested:
                return null;
            case OperationCanceledException:
                // The SDK's per-request network timeout (Retry.NetworkTimeout), not the caller's token.
                return new BackendException(
                    $"{operation} on {blobUri} did not answer in time (BlobBackendOptions.RequestTimeout, or Retry.NetworkTimeout of a BlobClient passed in).",
                    isTransient: true, e);
            case AggregateException { InnerExceptions: [.., var last] }:
                // Only a client that retries throws these (one exception per attempt): the last one describes the state now.
                return Map(last, operation, blob, blobUri, credentialHint, cancellationToken);
            case RequestFailedException { Status: 0 }:
                return new BackendException($"{operation} on {blobUri} failed before the service answered: {e.Message}", isTransient: true, e);
            case RequestFailedException { Status: 408 or 429 or >= 500 } failed:
                return new BackendException($"The Blob service answered {operation} on {blobUri} with {failed.Status} {failed.ErrorCode}; trying again may succeed.", isTransient: true, e);
            case RequestFailedException { Status: 401 or 403 } failed:
                return new BackendException($"The Blob service refused {operation} on {blobUri} with {failed.Status} {failed.ErrorCode}: check {credentialHint}.", isTransient: false, e);
            case RequestFailedException failed when IsContainerMissing(failed):
                return new BackendException(
                    $"The container '{blob.BlobContainerName}' does not exist at {blobUri.GetLeftPart(UriPartial.Authority)}; create it, " +
                    "or set BlobBackendOptions.CreateContainerIfMissing = true to create it on the first write.", isTransient: false, e);
            case RequestFailedException failed:
                return new BackendException($"The Blob service answered {operation} on {blobUri} with an unexpected {failed.Status} {failed.ErrorCode}.", isTransient: false, e);
            default:
                return null;
        }
    }
}
