using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Tosc.Tests.Blob;

/// <summary>
/// Makes a service SAS for one blob, signed with the account key, as the SAS spec (version 2020-12-06 and later)
/// describes: an HMAC-SHA256 over the permissions, times, canonical resource and the signed fields, one per line.
/// </summary>
internal static class ServiceSas
{
    public const string Version = "2021-12-02";

    /// <summary>The query string (without '?') that grants <paramref name="permissions"/> on one blob until <paramref name="expiry"/>.</summary>
    public static string ForBlob(string account, string accountKey, string container, string blob, string permissions, DateTimeOffset expiry)
    {
        var expiryText = expiry.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
        string[] fields =
        [
            permissions,                          // sp
            "",                                   // st
            expiryText,                           // se
            $"/blob/{account}/{container}/{blob}", // canonicalized resource
            "",                                   // si
            "",                                   // sip
            "",                                   // spr
            Version,                              // sv
            "b",                                  // sr: one blob
            "",                                   // snapshot time
            "",                                   // ses
            "", "", "", "", "",                   // rscc, rscd, rsce, rscl, rsct
        ];
        var signature = Convert.ToBase64String(HMACSHA256.HashData(Convert.FromBase64String(accountKey), Encoding.UTF8.GetBytes(string.Join('\n', fields))));
        return $"sv={Version}&sr=b&sp={permissions}&se={Uri.EscapeDataString(expiryText)}&sig={Uri.EscapeDataString(signature)}";
    }
}
