using System.Globalization;

namespace Tosc;

/// <summary>Where the Blob service is and how to sign requests to it, read from a storage connection string.</summary>
internal sealed record BlobAccount(Uri BlobEndpoint, SharedKeySigner? Signer, string? SasQuery)
{
    /// <summary>The account of the local emulator (Azurite); its key is published in the emulator's documentation.</summary>
    internal const string DevelopmentAccountName = "devstoreaccount1";

    internal const string DevelopmentAccountKey =
        "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    /// <summary>
    /// Parses <c>UseDevelopmentStorage=true</c>, or <c>DefaultEndpointsProtocol=...;AccountName=...;AccountKey=...</c>
    /// with an optional <c>BlobEndpoint</c> / <c>EndpointSuffix</c>, or <c>BlobEndpoint=...;SharedAccessSignature=...</c>.
    /// </summary>
    public static BlobAccount Parse(string connectionString)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        var settings = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var part in connectionString.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            // Split at the first '=' only: keys and SAS tokens contain '=' themselves.
            var equals = part.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
                throw Bad($"the part '{Redact(part)}' is not of the form Key=Value");
            settings[part[..equals].Trim()] = part[(equals + 1)..].Trim();
        }

        if (settings.TryGetValue("UseDevelopmentStorage", out var development) && bool.TryParse(development, out var useDevelopment) && useDevelopment)
        {
            if (settings.ContainsKey("DevelopmentStorageProxyUri"))
                throw Bad("DevelopmentStorageProxyUri is not supported; give BlobEndpoint, AccountName and AccountKey instead");
            return new BlobAccount(
                new Uri($"http://127.0.0.1:10000/{DevelopmentAccountName}"),
                new SharedKeySigner(DevelopmentAccountName, Convert.FromBase64String(DevelopmentAccountKey)),
                SasQuery: null);
        }

        settings.TryGetValue("AccountName", out var accountName);
        var endpoint = BlobEndpointOf(settings, accountName);

        if (settings.TryGetValue("SharedAccessSignature", out var sas) && sas.Length > 0)
            return new BlobAccount(endpoint, Signer: null, sas.TrimStart('?'));

        if (string.IsNullOrEmpty(accountName))
            throw Bad("AccountName is missing (or give SharedAccessSignature, or use UseDevelopmentStorage=true)");
        if (!settings.TryGetValue("AccountKey", out var key) || key.Length == 0)
            throw Bad("AccountKey is missing (or give SharedAccessSignature instead)");
        byte[] keyBytes;
        try
        {
            keyBytes = Convert.FromBase64String(key);
        }
        catch (FormatException e)
        {
            throw new ArgumentException("The connection string's AccountKey is not valid base64; copy the key from the storage account's access keys.", nameof(connectionString), e);
        }
        return new BlobAccount(endpoint, new SharedKeySigner(accountName, keyBytes), SasQuery: null);
    }

    private static Uri BlobEndpointOf(Dictionary<string, string> settings, string? accountName)
    {
        if (settings.TryGetValue("BlobEndpoint", out var explicitEndpoint) && explicitEndpoint.Length > 0)
        {
            if (!Uri.TryCreate(explicitEndpoint, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
                throw Bad($"BlobEndpoint '{explicitEndpoint}' is not an absolute http or https URL");
            return uri;
        }
        if (string.IsNullOrEmpty(accountName))
            throw Bad("give BlobEndpoint, or AccountName so the endpoint can be derived");
        var protocol = settings.TryGetValue("DefaultEndpointsProtocol", out var p) && p.Length > 0 ? p.ToLowerInvariant() : "https";
        if (protocol != Uri.UriSchemeHttp && protocol != Uri.UriSchemeHttps)
            throw Bad($"DefaultEndpointsProtocol must be http or https, not '{protocol}'");
        var suffix = settings.TryGetValue("EndpointSuffix", out var s) && s.Length > 0 ? s : "core.windows.net";
        return new Uri(string.Create(CultureInfo.InvariantCulture, $"{protocol}://{accountName}.blob.{suffix}"));
    }

    private static ArgumentException Bad(string what) =>
        new($"The storage connection string is not usable: {what}.", "connectionString");

    // Never echo a secret back in an error message.
    private static string Redact(string part) => part.Length > 12 ? part[..12] + "..." : part;
}
