using Tosc.Testing;
using Xunit;

namespace Tosc.Tests.Blob;

/// <summary>The shared backend contract, run against Azurite: each store is one blob in a container of this class's own.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class BlobBackendContractTests(AzuriteFixture azurite) : BackendContractTests
{
    private readonly string _container = azurite.NewContainer();

    /// <summary>Every HTTP round trip costs a few milliseconds here, so the race runs fewer rounds.</summary>
    protected override int RaceRounds => 25;

    protected override IBackend Open(string store) => new BlobBackend(azurite.ConnectionString, _container, store);
}
