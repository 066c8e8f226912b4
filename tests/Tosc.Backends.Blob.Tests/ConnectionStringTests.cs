using Xunit;

namespace Tosc.Tests.Blob;

/// <summary>Connection strings and SAS URLs: what is accepted, and what a bad one says.</summary>
public sealed class ConnectionStringTests
{
    [Fact]
    public void UseDevelopmentStorage_MeansTheEmulatorOnItsDefaultPortWithTheWellKnownAccount()
    {
        var account = BlobAccount.Parse("UseDevelopmentStorage=true");

        Assert.Equal(new Uri("http://127.0.0.1:10000/devstoreaccount1"), account.BlobEndpoint);
        Assert.Equal("devstoreaccount1", account.Signer?.AccountName);
        Assert.Null(account.SasQuery);
    }

    [Fact]
    public void AccountNameAndKey_WithoutAnEndpoint_DeriveTheAzureEndpoint()
    {
        var account = BlobAccount.Parse($"DefaultEndpointsProtocol=https;AccountName=myacct;AccountKey={AzuriteServer.AccountKey};EndpointSuffix=core.chinacloudapi.cn");

        Assert.Equal(new Uri("https://myacct.blob.core.chinacloudapi.cn"), account.BlobEndpoint);
        Assert.Equal("myacct", account.Signer?.AccountName);
    }

    [Fact]
    public void BlobEndpointAndSharedAccessSignature_UseTheSasAndSignNothing()
    {
        var account = BlobAccount.Parse("BlobEndpoint=https://myacct.blob.core.windows.net/;SharedAccessSignature=?sv=2021-12-02&sig=abc%3D");

        Assert.Null(account.Signer);
        Assert.Equal("sv=2021-12-02&sig=abc%3D", account.SasQuery);
    }

    [Theory]
    [InlineData("AccountName=myacct", "AccountKey")]
    [InlineData("AccountKey=abcd", "AccountName")]
    [InlineData("AccountName=myacct;AccountKey=***not base64***", "AccountKey")]
    [InlineData("AccountName=myacct;AccountKey=abcd;BlobEndpoint=ftp://x", "BlobEndpoint")]
    [InlineData("AccountName=myacct;AccountKey=abcd;DefaultEndpointsProtocol=gopher", "DefaultEndpointsProtocol")]
    [InlineData("just some text", "Key=Value")]
    public void ABadConnectionString_ThrowsNamingWhatIsWrong(string connectionString, string named)
    {
        var error = Assert.Throws<ArgumentException>(() => new BlobBackend(connectionString, "box", "state"));

        Assert.Contains(named, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ABadConnectionString_NeverEchoesTheKey()
    {
        var error = Assert.Throws<ArgumentException>(() => BlobAccount.Parse("AccountName=x;SecretPartWithoutEquals" + AzuriteServer.AccountKey[..20]));

        Assert.DoesNotContain(AzuriteServer.AccountKey[..20], error.Message, StringComparison.Ordinal);
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
    [InlineData("http://127.0.0.1:10000/devstoreaccount1/box/dir/state?sv=1&sig=x", "box", "dir/state", "http://127.0.0.1:10000/devstoreaccount1/box")]
    [InlineData("http://localhost:10000/devstoreaccount1/box/state", "box", "state", "http://localhost:10000/devstoreaccount1/box")]
    [InlineData("https://myacct.blob.core.windows.net/box/a%20b?sig=x", "box", "a b", "https://myacct.blob.core.windows.net/box")]
    public void ASasUrl_IsSplitIntoContainerAndBlob(string url, string container, string blob, string containerUrl)
    {
        var location = BlobLocation.FromBlobUri(new Uri(url));

        Assert.Equal(container, location.ContainerName);
        Assert.Equal(blob, location.BlobName);
        Assert.Equal(new Uri(containerUrl), location.ContainerUri);
        Assert.DoesNotContain("sig", location.BlobUri.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void ASasUrlWithoutABlob_ThrowsShowingTheExpectedShapeWithoutTheSignature()
    {
        var error = Assert.Throws<ArgumentException>(() => new BlobBackend(new Uri("https://myacct.blob.core.windows.net/box?sig=secret")));

        Assert.Contains("container/blob", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", error.Message, StringComparison.Ordinal);
    }
}
