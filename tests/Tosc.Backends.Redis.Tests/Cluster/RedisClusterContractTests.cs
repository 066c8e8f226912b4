using Tosc.Testing;
using Xunit;

namespace Tosc.Tests;

/// <summary>
/// The shared backend contract on a real Redis Cluster (3 masters, 3 replicas on loopback): the store's hash and its log
/// stream share a slot, the scripts are routed to that slot's master, and change messages published there reach
/// subscribers connected to other nodes. Child processes open the store through <see cref="Program"/>.
/// </summary>
public sealed class RedisClusterContractTests(RedisClusterFixture fixture) : BackendContractTests, IClassFixture<RedisClusterFixture>
{
    protected override IBackend Open(string store) => new RedisBackend(fixture.Cluster.Configuration, store);

    protected override System.Reflection.Assembly WorkerAssembly => typeof(RedisClusterContractTests).Assembly;

    protected override string WorkerStore(string store) => $"{fixture.Cluster.Configuration}|{store}";

    // The single-server classes run the 8 × 250 case already; here it shows the same progress on a cluster, faster.
    protected override int ContendedIncrements => 60;
}
