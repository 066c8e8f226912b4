namespace Tosc;

/// <summary>The URLs of one blob and its container, without any SAS query (safe to show in messages).</summary>
internal sealed record BlobLocation(Uri BlobUri, Uri ContainerUri, string ContainerName, string BlobName)
{
    public static BlobLocation From(Uri blobEndpoint, string container, string blobName)
    {
        ValidateContainerName(container);
        ArgumentException.ThrowIfNullOrEmpty(blobName);
        if (blobName.Length > 1024)
            throw new ArgumentException($"The blob name is {blobName.Length} characters long; the Blob service allows at most 1024.", nameof(blobName));

        var root = blobEndpoint.GetLeftPart(UriPartial.Path).TrimEnd('/');
        var escapedBlob = string.Join('/', blobName.Split('/').Select(Uri.EscapeDataString));
        return new BlobLocation(new Uri($"{root}/{container}/{escapedBlob}"), new Uri($"{root}/{container}"), container, blobName);
    }

    /// <summary>Splits a blob URL into container and blob; the account is the first path segment when the host is an IP address or localhost.</summary>
    public static BlobLocation FromBlobUri(Uri blobUri)
    {
        ArgumentNullException.ThrowIfNull(blobUri);
        if (!blobUri.IsAbsoluteUri || (blobUri.Scheme != Uri.UriSchemeHttp && blobUri.Scheme != Uri.UriSchemeHttps))
            throw new ArgumentException($"'{Display(blobUri)}' is not an absolute http or https blob URL.", nameof(blobUri));
        var pathStyle = IsPathStyle(blobUri);
        var segments = blobUri.AbsolutePath.Split('/', StringSplitOptions.RemoveEmptyEntries);
        var containerIndex = pathStyle ? 1 : 0;
        if (segments.Length < containerIndex + 2)
        {
            var shape = pathStyle ? "http://host:port/account/container/blob" : "https://account.blob.core.windows.net/container/blob";
            throw new ArgumentException($"'{Display(blobUri)}' does not name a container and a blob; expected {shape}?<sas>.", nameof(blobUri));
        }
        var container = Uri.UnescapeDataString(segments[containerIndex]);
        var blobName = Uri.UnescapeDataString(string.Join('/', segments[(containerIndex + 1)..]));
        var endpoint = new UriBuilder(blobUri) { Query = "", Fragment = "", Path = pathStyle ? "/" + segments[0] : "/" }.Uri;
        return From(endpoint, container, blobName);
    }

    /// <summary>The URL without its query, so a SAS signature never ends up in a message or a log.</summary>
    public static string Display(Uri uri) => uri.IsAbsoluteUri ? uri.GetLeftPart(UriPartial.Path) : uri.OriginalString.Split('?')[0];

    private static bool IsPathStyle(Uri uri) =>
        uri.HostNameType is UriHostNameType.IPv4 or UriHostNameType.IPv6
        || string.Equals(uri.Host, "localhost", StringComparison.OrdinalIgnoreCase);

    private static void ValidateContainerName(string container)
    {
        ArgumentException.ThrowIfNullOrEmpty(container);
        var valid = container.Length is >= 3 and <= 63
            && container.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-')
            && container[0] != '-' && container[^1] != '-'
            && !container.Contains("--", StringComparison.Ordinal);
        if (!valid)
            throw new ArgumentException(
                $"'{container}' is not a valid container name: use 3 to 63 lowercase letters, digits and single hyphens, starting and ending with a letter or digit.",
                nameof(container));
    }
}
