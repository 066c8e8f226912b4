using Azure.Storage.Blobs;

namespace Tosc;

/// <summary>Checks the container and blob names at construction, so a typo fails there rather than at the first request.</summary>
internal static class BlobNames
{
    public static void Check(BlobClient blob, Uri blobUri)
    {
        if (string.IsNullOrEmpty(blob.Name) || string.IsNullOrEmpty(blob.BlobContainerName))
            throw new ArgumentException($"The URL {blobUri} does not name a blob; expected https://account.blob.core.windows.net/container/blob (plus the SAS query).", nameof(blob));
        CheckContainer(blob.BlobContainerName);
    }

    public static void CheckContainer(string container)
    {
        ArgumentException.ThrowIfNullOrEmpty(container);
        if (container is "$root" or "$web")
            return;
        var valid = container.Length is >= 3 and <= 63
            && container.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-')
            && container[0] != '-' && container[^1] != '-'
            && !container.Contains("--", StringComparison.Ordinal);
        if (!valid)
            throw new ArgumentException(
                $"The container name '{container}' is not valid: use 3 to 63 lowercase letters, digits and single hyphens, starting and ending with a letter or digit.",
                nameof(container));
    }
}
