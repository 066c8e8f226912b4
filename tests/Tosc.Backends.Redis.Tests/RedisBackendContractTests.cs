using StackExchange.Redis;
using Tosc.Testing;
using Xunit;

namespace Tosc.Tests;

/// <summary>The shared backend contract, each client with its own connection (the configuration-string constructor).</summary>
public sealed class RedisBackendContractTests(RedisServerFixture fixture) : BackendContractTests, IClassFixture<RedisServerFixture>
{
    protected override IBackend Open(string store) => new RedisBackend(fixture.Server.Configuration, store);
}

/// <summary>
/// The shared backend contract with every client on one caller-owned connection: several backends share one
/// subscription channel and must still hear each other's writes.
/// </summary>
public sealed class RedisBackendSharedConnectionContractTests : BackendContractTests, IClassFixture<RedisServerFixture>
{
    private readonly ConnectionMultiplexer _connection;

    public RedisBackendSharedConnectionContractTests(RedisServerFixture fixture) =>
        _connection = ConnectionMultiplexer.Connect(fixture.Server.Configuration);

    protected override IBackend Open(string store) => new RedisBackend(_connection, store);

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
            _connection.Dispose();
    }
}
