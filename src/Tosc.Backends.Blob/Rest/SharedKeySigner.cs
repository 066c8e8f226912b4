using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;

namespace Tosc;

/// <summary>
/// Signs a request with the storage account key ("Shared Key" authorization of the Blob service):
/// an HMAC-SHA256 over the verb, the standard headers, the <c>x-ms-</c> headers and the resource.
/// </summary>
internal sealed class SharedKeySigner(string accountName, byte[] key)
{
    public string AccountName { get; } = accountName;

    /// <summary>Sets the Authorization header; the request must already carry its x-ms-date and x-ms-version.</summary>
    public void Sign(HttpRequestMessage request)
    {
        var signature = Convert.ToBase64String(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(StringToSign(request))));
        request.Headers.Authorization = new AuthenticationHeaderValue("SharedKey", $"{AccountName}:{signature}");
    }

    /// <summary>The text the signature covers, built from the request exactly as it will be sent.</summary>
    public string StringToSign(HttpRequestMessage request)
    {
        var builder = new StringBuilder(256);
        builder.Append(request.Method.Method.ToUpperInvariant()).Append('\n');
        builder.Append(ContentHeader(request, "Content-Encoding")).Append('\n');
        builder.Append(ContentHeader(request, "Content-Language")).Append('\n');
        // Since service version 2015-02-21 a zero length is signed as an empty line.
        var length = request.Content?.Headers.ContentLength;
        builder.Append(length is > 0 ? length.Value.ToString(CultureInfo.InvariantCulture) : "").Append('\n');
        builder.Append(ContentHeader(request, "Content-MD5")).Append('\n');
        builder.Append(ContentHeader(request, "Content-Type")).Append('\n');
        builder.Append("").Append('\n'); // Date: x-ms-date is always sent instead, and it is signed below.
        builder.Append(Header(request, "If-Modified-Since")).Append('\n');
        builder.Append(Header(request, "If-Match")).Append('\n');
        builder.Append(Header(request, "If-None-Match")).Append('\n');
        builder.Append(Header(request, "If-Unmodified-Since")).Append('\n');
        builder.Append(Header(request, "Range")).Append('\n');
        AppendCanonicalizedHeaders(builder, request);
        AppendCanonicalizedResource(builder, request.RequestUri!);
        return builder.ToString();
    }

    private static void AppendCanonicalizedHeaders(StringBuilder builder, HttpRequestMessage request)
    {
        var headers = new List<KeyValuePair<string, string>>();
        foreach (var header in request.Headers.NonValidated)
        {
            if (header.Key.StartsWith("x-ms-", StringComparison.OrdinalIgnoreCase))
                headers.Add(new(header.Key.ToLowerInvariant(), string.Join(',', header.Value)));
        }
        headers.Sort(static (a, b) => string.CompareOrdinal(a.Key, b.Key));
        foreach (var (name, value) in headers)
            builder.Append(name).Append(':').Append(value.Trim()).Append('\n');
    }

    private void AppendCanonicalizedResource(StringBuilder builder, Uri uri)
    {
        // "/account" + the path as sent. With a path-style URL (the emulator, an IP address) the path starts with the
        // account name again, so it appears twice: /devstoreaccount1/devstoreaccount1/container/blob.
        builder.Append('/').Append(AccountName).Append(uri.AbsolutePath);
        if (uri.Query.Length <= 1)
            return;
        var parameters = new SortedDictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var pair in uri.Query[1..].Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            var name = Uri.UnescapeDataString(equals < 0 ? pair : pair[..equals]).ToLowerInvariant();
            var value = equals < 0 ? "" : Uri.UnescapeDataString(pair[(equals + 1)..].Replace('+', ' '));
            if (!parameters.TryGetValue(name, out var values))
                parameters[name] = values = [];
            values.Add(value);
        }
        foreach (var (name, values) in parameters)
        {
            values.Sort(StringComparer.Ordinal);
            builder.Append('\n').Append(name).Append(':').Append(string.Join(',', values));
        }
    }

    private static string Header(HttpRequestMessage request, string name) =>
        request.Headers.NonValidated.TryGetValues(name, out var values) ? string.Join(',', values) : "";

    private static string ContentHeader(HttpRequestMessage request, string name) =>
        request.Content is not null && request.Content.Headers.NonValidated.TryGetValues(name, out var values) ? string.Join(',', values) : "";
}
