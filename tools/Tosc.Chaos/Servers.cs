using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Tosc.Chaos;

/// <summary>A server the run depends on, which the runner can kill and start again on the same port and data.</summary>
internal interface IServer : IDisposable
{
    string Description { get; }

    /// <summary>Takes the server down the way the fault requires and brings it back after <paramref name="downtime"/>.</summary>
    void Restart(TimeSpan downtime);

    /// <summary>Starts the server when it is not running (after a failed restart).</summary>
    void EnsureRunning();
}

/// <summary>
/// A test-kit server whose fault is a crash: a restart SIGKILLs it and starts it again on the same port and data after
/// the downtime. redis-server runs with an append-only file synced on every write; PostgreSQL acknowledges a commit
/// once its WAL is written and runs crash recovery at the next start (its <c>fsync=off</c> loses data only when the OS
/// crashes, not the server). So an acknowledged commit survives: the fault is the crash and the dropped connections.
/// </summary>
internal sealed class CrashingServer(Testing.IRestartableServer server, string description, Func<bool> isRunning) : IServer
{
    public string Description => description;

    public void Restart(TimeSpan downtime)
    {
        server.Crash();
        Thread.Sleep(downtime); // the outage itself
        server.StartAgain();
    }

    public void EnsureRunning()
    {
        if (!isRunning())
            server.StartAgain();
    }

    public void Dispose() => server.Dispose();
}

/// <summary>
/// A three-member etcd cluster (the test kit's launcher); a restart SIGKILLs the current leader and starts it again
/// after the downtime, so the fault is a leader election with commits in flight. etcd fsyncs before it acknowledges,
/// and the two other members keep a quorum, so an acknowledged commit is never lost.
/// </summary>
internal sealed class EtcdChaosCluster : IServer
{
    private readonly Testing.EtcdCluster _cluster = Testing.EtcdCluster.Start(3);

    public string Endpoints => _cluster.Endpoints;

    public string Description => $"etcd cluster {_cluster.Endpoints}";

    public void Restart(TimeSpan downtime)
    {
        var leader = _cluster.Leader();
        leader.Crash();
        Thread.Sleep(downtime); // the outage itself
        leader.StartAgain();
    }

    public void EnsureRunning()
    {
        foreach (var member in _cluster.Members.Where(m => !m.IsRunning))
            member.StartAgain();
    }

    public void Dispose() => _cluster.Dispose();
}

/// <summary>
/// A Redis Cluster of three masters with a replica each (the test kit's launcher). A restart SIGKILLs the master holding
/// the store's slot, waits until its replica is promoted (the outage is the failover itself, about 2-3 s, not the given
/// downtime), then starts the killed node again, which rejoins as the new master's replica. Workers commit with
/// <see cref="RedisBackendOptions.WaitForReplicas"/> = 1, so an acknowledged commit was on the promoted replica.
/// </summary>
internal sealed class RedisChaosCluster(string key) : IServer
{
    private static readonly TimeSpan Deadline = TimeSpan.FromMinutes(1);

    private readonly Testing.RedisCluster _cluster = Testing.RedisCluster.Start(nodeTimeout: TimeSpan.FromSeconds(2));

    public string Configuration => _cluster.Configuration;

    public string Description => $"redis cluster {_cluster.Configuration}";

    public void Restart(TimeSpan downtime)
    {
        var slot = _cluster.SlotOf(key);
        var master = _cluster.MasterOf(slot) ?? throw new InvalidOperationException($"No master serves slot {slot}.");
        var replica = _cluster.ReplicasOf(master).Single();
        master.Crash();
        Testing.Eventually.True(() => _cluster.MasterOf(slot) == replica, $"the replica on port {replica.Port} serving slot {slot}", Deadline);
        // Only now: a node started again before the failover would come back as an empty master of its slots.
        master.StartAgain();
        _cluster.WaitUntilHealthy(Deadline);
    }

    public void EnsureRunning()
    {
        foreach (var node in _cluster.Nodes.Where(n => !n.IsRunning))
            node.StartAgain();
    }

    public void Dispose() => _cluster.Dispose();
}

/// <summary>
/// The test kit's Azurite as a server the runner restarts. A restart stops it with SIGTERM (it saves its index on the
/// way out; a SIGKILL would lose recent writes by design of the emulator, not of Tosc).
/// </summary>
internal sealed class RestartableAzurite(string directory) : IServer
{
    private readonly Testing.AzuriteServer _server = Testing.AzuriteServer.Start(directory);

    public string ConnectionString => _server.ConnectionString;

    public string Description => _server.Description;

    public void Restart(TimeSpan downtime)
    {
        _server.Stop();
        Thread.Sleep(downtime); // the outage itself
        _server.StartAgain();
    }

    public void EnsureRunning()
    {
        if (!_server.IsRunning)
            _server.StartAgain();
    }

    public void Dispose() => _server.Dispose();
}
