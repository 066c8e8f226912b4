using StackExchange.Redis;
using Xunit;

namespace Tosc.Tests;

/// <summary>This project runs the Redis tests with StackExchange.Redis 3.x loaded, under a backend built against 2.x.</summary>
public sealed class StackExchangeRedisVersionTests
{
    [Fact]
    public void TheBackendBuiltAgainst2x_RunsOnStackExchangeRedis3x()
    {
        var built = typeof(RedisBackend).Assembly.GetReferencedAssemblies().Single(a => a.Name == "StackExchange.Redis");
        var loaded = typeof(ConnectionMultiplexer).Assembly.GetName();

        Assert.Equal(2, built.Version?.Major);
        Assert.Equal(3, loaded.Version?.Major);
    }
}
