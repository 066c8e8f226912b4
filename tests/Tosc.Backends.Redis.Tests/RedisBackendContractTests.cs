using StackExchange.Redis;
using Tosc.Testing;
using Xunit;

namespace Tosc.Tests;

/// <summary>
/// The shared backend contract, each client with its own connection (the configuration-string constructor), on a
/// durable server (append-only file, fsync always) so the manager-level cases can restart it; child processes open the
/// store through <see cref="Program"/>.
/// </summary>
public sealed class RedisBackendContractTests(DurableRedisServerFixture fixture) : BackendContractTests, IClassFixture<DurableRedisServerFixture>
{
    protected override IBackend Open(string store) => new RedisBackend(fixture.Server.Configuration, store);

    protected override bool DeduplicatesCommits => true;

    protected override System.Reflection.Assembly WorkerAssembly => typeof(RedisBackendContractTests).Assembly;

    protected override string WorkerStore(string store) => $"{fixture.Server.Configuration}|{store}";

    protected override bool CanRestartServer => true;

    protected override void RestartServer() => fixture.Server.Restart();

    /// <summary>Opens what <see cref="WorkerStore"/> names, in a child process.</summary>
    internal static IBackend OpenWorkerStore(string store)
    {
        var split = store.LastIndexOf('|');
        return new RedisBackend(store[..split], store[(split + 1)..]);
    }
}

/// <summary>A redis-server whose acknowledged writes survive a restart.</summary>
public sealed class DurableRedisServerFixture : IDisposable
{
    public RedisServer Server { get; } = RedisServer.Start(durable: true);

    public void Dispose() => Server.Dispose();
}

/// <summary>The shared backend contract over RESP3 (HELLO 3): the script's replies are scalars, the same as under RESP2.</summary>
public sealed class RedisBackendResp3ContractTests(RedisServerFixture fixture) : BackendContractTests, IClassFixture<RedisServerFixture>
{
    protected override IBackend Open(string store)
    {
        var backend = new RedisBackend(fixture.Server.Configuration + ",protocol=resp3", store);
        Assert.Equal(RedisProtocol.Resp3, backend.Connection.GetServer(backend.Connection.GetEndPoints()[0]).Protocol);
        return backend;
    }

    protected override bool DeduplicatesCommits => true;
}

/// <summary>
/// The shared backend contract with every client on one caller-owned connection: several backends share one
/// subscription channel and must still hear each other's writes.
/// </summary>
public sealed class RedisBackendSharedConnectionContractTests : BackendContractTests, IClassFixture<RedisServerFixture>
{
    private readonly ConnectionMultiplexer _connection;

    public RedisBackendSharedConnectionContractTests(RedisServerFixture fixture) =>
        _connection = ConnectionMultiplexer.Connect(ConfigurationOptions.Parse(fixture.Server.Configuration).Apply(o => o.BacklogPolicy = BacklogPolicy.FailFast));

    protected override IBackend Open(string store) => new RedisBackend(_connection, store);

    protected override bool DeduplicatesCommits => true;

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
            _connection.Dispose();
    }
}
