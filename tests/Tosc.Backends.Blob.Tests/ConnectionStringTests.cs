using Tosc.Testing;
using Xunit;

namespace Tosc.Tests.Blob;

/// <summary>Connection strings and SAS URLs: what is accepted, and what a bad one says (nothing here talks to a server).</summary>
public sealed class ConnectionStringTests
{
    [Fact]
    public void UseDevelopmentStorage_MeansTheEmulatorOnItsDefaultPortWithTheWellKnownAccount()
    {
        using var backend = new BlobBackend("UseDevelopmentStorage=true", "box", "state");

        Assert.Equal(new Uri("http://127.0.0.1:10000/devstoreaccount1/box/state"), backend.BlobUri);
    }

    [Fact]
    public void AccountNameAndKey_WithoutAnEndpoint_DeriveTheAzureEndpoint()
    {
        using var backend = new BlobBackend($"DefaultEndpointsProtocol=https;AccountName=myacct;AccountKey={AzuriteServer.AccountKey};EndpointSuffix=core.chinacloudapi.cn", "box", "dir/state");

        Assert.Equal(new Uri("https://myacct.blob.core.chinacloudapi.cn/box/dir/state"), backend.BlobUri);
    }

    [Fact]
    public void BlobEndpointAndSharedAccessSignature_KeepTheSasOutOfTheUrl()
    {
        using var backend = new BlobBackend("BlobEndpoint=https://myacct.blob.core.windows.net/;SharedAccessSignature=sv=2021-12-02&sig=abc%3D", "box", "state");

        Assert.Equal(new Uri("https://myacct.blob.core.windows.net/box/state"), backend.BlobUri);
    }

    [Theory]
    [InlineData("AccountName=myacct")]
    [InlineData("just some text")]
    [InlineData("AccountName=myacct;AccountKey=abcd;BlobEndpoint=not a url")]
    public void ABadConnectionString_ThrowsAnArgumentExceptionSayingWhatIsAccepted(string connectionString)
    {
        var error = Assert.Throws<ArgumentException>(() => new BlobBackend(connectionString, "box", "state"));

        Assert.Contains("connection string", error.Message, StringComparison.Ordinal);
        Assert.Contains("UseDevelopmentStorage=true", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ABadConnectionString_NeverEchoesTheKey()
    {
        var secret = AzuriteServer.AccountKey[..20];

        var error = Assert.Throws<ArgumentException>(() => new BlobBackend("AccountName=x;SecretPartWithoutEquals" + secret, "box", "state"));

        Assert.DoesNotContain(secret, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Upper")]
    [InlineData("ab")]
    [InlineData("two--hyphens")]
    [InlineData("-leading")]
    [InlineData("under_score")]
    public void AnInvalidContainerName_ThrowsExplainingTheRule(string container)
    {
        var error = Assert.Throws<ArgumentException>(() => new BlobBackend("UseDevelopmentStorage=true", container, "state"));

        Assert.Contains($"'{container}'", error.Message, StringComparison.Ordinal);
        Assert.Contains("lowercase letters, digits and single hyphens", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://127.0.0.1:10000/devstoreaccount1/box/dir/state?sv=1&sig=x", "http://127.0.0.1:10000/devstoreaccount1/box/dir/state")]
    [InlineData("https://myacct.blob.core.windows.net/box/a%20b?sig=x", "https://myacct.blob.core.windows.net/box/a%20b")]
    public void ASasUrl_IsTheBlobsUrlWithoutTheToken(string url, string blobUrl)
    {
        using var backend = new BlobBackend(new Uri(url));

        Assert.Equal(blobUrl, backend.BlobUri.AbsoluteUri);
    }

    [Fact]
    public void ASasUrlWithoutABlob_ThrowsShowingTheExpectedShapeWithoutTheSignature()
    {
        var error = Assert.Throws<ArgumentException>(() => new BlobBackend(new Uri("https://myacct.blob.core.windows.net/box?sig=secret")));

        Assert.Contains("container/blob", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", error.Message, StringComparison.Ordinal);
    }
}
