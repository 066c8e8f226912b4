using dotnet_etcd;
using Tosc.Testing;
using Xunit;

namespace Tosc.Tests;

/// <summary>
/// The shared backend contract, each client with its own gRPC channel (the endpoints constructor), on a real one-member
/// etcd that the manager-level cases restart; child processes open the store through <see cref="Program"/>.
/// </summary>
public sealed class EtcdBackendContractTests(EtcdServerFixture fixture) : BackendContractTests, IClassFixture<EtcdServerFixture>
{
    protected override IBackend Open(string store) => new EtcdBackend(fixture.Server.Endpoint, store);

    protected override System.Reflection.Assembly WorkerAssembly => typeof(EtcdBackendContractTests).Assembly;

    protected override string WorkerStore(string store) => $"{fixture.Server.Endpoint}|{store}";

    protected override bool CanRestartServer => true;

    protected override void RestartServer()
    {
        fixture.Server.Shutdown();
        fixture.Server.StartAgain();
    }

    /// <summary>Opens what <see cref="WorkerStore"/> names, in a child process.</summary>
    internal static IBackend OpenWorkerStore(string store)
    {
        var split = store.LastIndexOf('|');
        return new EtcdBackend(store[..split], store[(split + 1)..]);
    }
}

/// <summary>
/// The shared backend contract with every client on one caller-owned <see cref="EtcdClient"/>, against a member that
/// accepts requests of 64 KiB only: every snapshot over about 48 KiB (the 1 MiB case among them) is written in chunks.
/// </summary>
public sealed class EtcdBackendSharedClientContractTests : BackendContractTests, IClassFixture<EtcdSmallRequestsFixture>
{
    private readonly EtcdClient _client;

    public EtcdBackendSharedClientContractTests(EtcdSmallRequestsFixture fixture) =>
        _client = new EtcdClient(fixture.Server.Endpoint, configureChannelOptions: EtcdBackend.ConfigureChannel);

    protected override IBackend Open(string store) =>
        new EtcdBackend(_client, store, new EtcdBackendOptions { MaxRequestBytes = EtcdSmallRequestsFixture.MaxRequestBytes });

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
            _client.Dispose();
    }
}

/// <summary>A one-member etcd whose request limit is 64 KiB (<c>--max-request-bytes</c>), so chunking is cheap to exercise.</summary>
public sealed class EtcdSmallRequestsFixture : IDisposable
{
    /// <summary>The member's request limit.</summary>
    public const int MaxRequestBytes = 64 * 1024;

    /// <summary>The running member.</summary>
    public EtcdServer Server { get; } = EtcdServer.Start($"--max-request-bytes={MaxRequestBytes}");

    /// <inheritdoc/>
    public void Dispose() => Server.Dispose();
}
