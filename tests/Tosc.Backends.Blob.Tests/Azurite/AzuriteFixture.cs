using Xunit;

namespace Tosc.Tests.Blob;

/// <summary>One Azurite for every test class in the "Azurite" collection, started once and stopped at the end.</summary>
public sealed class AzuriteFixture : IDisposable
{
    private int _containers;

    /// <summary>Starts the emulator.</summary>
    public AzuriteFixture() => Server = AzuriteServer.Start();

    /// <summary>The running emulator.</summary>
    public AzuriteServer Server { get; }

    /// <summary>A connection string for the emulator's account.</summary>
    public string ConnectionString => Server.ConnectionString;

    /// <summary>Creates a container no other test uses and returns its name.</summary>
    public string NewContainer()
    {
        var name = $"c{Interlocked.Increment(ref _containers)}-{Guid.NewGuid():N}";
        using var client = RestClient(name, "unused");
        var reply = client.CreateContainerAsync(async: false, CancellationToken.None).AsTask().GetAwaiter().GetResult();
        if (reply.Status != System.Net.HttpStatusCode.Created)
            throw new InvalidOperationException($"Creating container {name} answered {reply.Status} {reply.ErrorCode}.");
        return name;
    }

    /// <summary>A raw REST client for one blob, signed with the account key (to set up what the backend must cope with).</summary>
    internal BlobRestClient RestClient(string container, string blobName) =>
        new(BlobLocation.From(Server.BlobEndpoint, container, blobName),
            new SharedKeySigner(AzuriteServer.AccountName, Convert.FromBase64String(AzuriteServer.AccountKey)),
            sasQuery: null, http: null, TimeSpan.FromSeconds(30));

    /// <inheritdoc/>
    public void Dispose() => Server.Dispose();
}

/// <summary>The test classes that share one <see cref="AzuriteFixture"/> (they run one after another).</summary>
[CollectionDefinition(Name)]
public sealed class AzuriteCollection : ICollectionFixture<AzuriteFixture>
{
    /// <summary>The collection's name.</summary>
    public const string Name = "Azurite";
}
