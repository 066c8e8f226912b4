using Tosc.Testing;

namespace Tosc.Tests;

/// <summary>
/// The shared restart cases on a durable redis-server (append-only file, <c>appendfsync always</c>): Redis acknowledges
/// a write only after it reached the disk, so "nothing acknowledged is lost" is a property the server can keep.
/// </summary>
public sealed class RedisRestartTests : ServerRestartTests<RedisServer>
{
    protected override RedisServer StartServer() => RedisServer.Start(durable: true);

    protected override ToscBackend Open(RedisServer server, string key, bool shortTimeout) =>
        new RedisBackend(server.Configuration, key, shortTimeout ? new RedisBackendOptions { OperationTimeout = TimeSpan.FromSeconds(2) } : null);
}
