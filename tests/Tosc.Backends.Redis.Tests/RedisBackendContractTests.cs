using StackExchange.Redis;
using Tosc.Testing;
using Xunit;

namespace Tosc.Tests;

/// <summary>The shared backend contract, each client with its own connection (the configuration-string constructor).</summary>
public sealed class RedisBackendContractTests(RedisServerFixture fixture) : BackendContractTests, IClassFixture<RedisServerFixture>
{
    protected override IBackend Open(string store) => new RedisBackend(fixture.Server.Configuration, store);
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

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
            _connection.Dispose();
    }
}
