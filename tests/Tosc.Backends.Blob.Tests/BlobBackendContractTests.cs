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

    protected override System.Reflection.Assembly WorkerAssembly => typeof(BlobBackendContractTests).Assembly;

    protected override string WorkerStore(string store) => $"{azurite.ConnectionString}|{_container}|{store}";

    protected override bool CanRestartServer => true;

    protected override void RestartServer()
    {
        azurite.Server.Stop();
        azurite.Server.StartAgain();
    }

    /// <summary>Opens what <see cref="WorkerStore"/> names, in a child process.</summary>
    internal static IBackend OpenWorkerStore(string store)
    {
        var parts = store.Split('|');
        return new BlobBackend(parts[0], parts[1], parts[2]);
    }
}
