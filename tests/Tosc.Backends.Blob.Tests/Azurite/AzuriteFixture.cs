using Azure.Storage.Blobs;
using Tosc.Testing;
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
        new BlobContainerClient(ConnectionString, name, BlobBackend.CreateClientOptions()).Create();
        return name;
    }

    /// <summary>A plain SDK client for one blob, with the account key (to set up what the backend must cope with).</summary>
    public BlobClient Client(string container, string blob) => new(ConnectionString, container, blob, BlobBackend.CreateClientOptions());

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
