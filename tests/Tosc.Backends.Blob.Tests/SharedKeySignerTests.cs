using System.Net.Http.Headers;
using Xunit;

namespace Tosc.Tests.Blob;

/// <summary>The Shared Key signature, checked against a string to sign written out by hand from the spec.</summary>
public sealed class SharedKeySignerTests
{
    private static HttpRequestMessage SamplePut()
    {
        var request = new HttpRequestMessage(HttpMethod.Put, "http://127.0.0.1:10000/devstoreaccount1/tosc/state?timeout=30");
        request.Content = new ByteArrayContent("hello"u8.ToArray());
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        // Deliberately out of order and mixed case: the canonical form sorts and lowercases the names.
        request.Headers.TryAddWithoutValidation("x-ms-version", "2021-12-02");
        request.Headers.TryAddWithoutValidation("X-MS-Meta-ToscVersion", "8");
        request.Headers.TryAddWithoutValidation("x-ms-date", "Sun, 22 Nov 2026 01:53:03 GMT");
        request.Headers.TryAddWithoutValidation("x-ms-meta-toscstore", "1");
        request.Headers.TryAddWithoutValidation("x-ms-blob-type", "BlockBlob");
        request.Headers.TryAddWithoutValidation("x-ms-meta-tosccommit", "0f8fad5bd9cb469fa16570867728950e");
        request.Headers.TryAddWithoutValidation("If-Match", "\"0x1\"");
        return request;
    }

    [Fact]
    public void StringToSign_ForAPathStylePut_FollowsTheSpecLineByLine()
    {
        using var request = SamplePut();
        var signer = new SharedKeySigner("devstoreaccount1", Convert.FromBase64String(AzuriteServer.AccountKey));

        var expected = string.Join('\n',
            "PUT",
            "",                          // Content-Encoding
            "",                          // Content-Language
            "5",                         // Content-Length
            "",                          // Content-MD5
            "application/octet-stream",  // Content-Type
            "",                          // Date (x-ms-date is used)
            "",                          // If-Modified-Since
            "\"0x1\"",                   // If-Match
            "",                          // If-None-Match
            "",                          // If-Unmodified-Since
            "",                          // Range
            "x-ms-blob-type:BlockBlob",
            "x-ms-date:Sun, 22 Nov 2026 01:53:03 GMT",
            "x-ms-meta-tosccommit:0f8fad5bd9cb469fa16570867728950e",
            "x-ms-meta-toscstore:1",
            "x-ms-meta-toscversion:8",
            "x-ms-version:2021-12-02",
            // Path-style URL: the account appears once as the prefix and once in the path.
            "/devstoreaccount1/devstoreaccount1/tosc/state",
            "timeout:30");
        Assert.Equal(expected, signer.StringToSign(request));
    }

    [Fact]
    public void Sign_ForTheSampleRequest_GivesTheKnownSignature()
    {
        using var request = SamplePut();
        var signer = new SharedKeySigner("devstoreaccount1", Convert.FromBase64String(AzuriteServer.AccountKey));

        signer.Sign(request);

        // Computed independently: openssl dgst -sha256 -mac HMAC -macopt hexkey:<key as hex> over the expected string.
        Assert.Equal("SharedKey devstoreaccount1:Q7yoqrFKlpDdygIrbcoovCkLaDmRfKVXZYk2UbZiFTc=", request.Headers.Authorization?.ToString());
    }

    [Fact]
    public void StringToSign_WithZeroLengthAndSeveralQueryParameters_LeavesLengthEmptyAndSortsParameters()
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, "https://acct.blob.core.windows.net/box?restype=container&Comp=list&comp=a%20b");
        request.Content = new ByteArrayContent([]);
        request.Headers.TryAddWithoutValidation("x-ms-date", "Sun, 22 Nov 2026 01:53:03 GMT");
        var signer = new SharedKeySigner("acct", [1, 2, 3]);

        var lines = signer.StringToSign(request).Split('\n');

        Assert.Equal("", lines[3]); // Content-Length 0 is signed as an empty line
        Assert.Equal(["/acct/box", "comp:a b,list", "restype:container"], lines[^3..]);
    }
}
