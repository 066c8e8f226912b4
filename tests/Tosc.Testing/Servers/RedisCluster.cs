using System.Diagnostics;
using System.Globalization;

namespace Tosc.Testing;

/// <summary>
/// A real Redis Cluster on 127.0.0.1: <c>masters × (1 + replicasPerMaster)</c> <see cref="RedisServer"/>s started with
/// <c>--cluster-enabled yes</c>, each with its own port, cluster bus port and data directory, joined by
/// <c>redis-cli --cluster create</c>. A test can kill the master of a key's slot (SIGKILL), wait for its replica to be
/// promoted, and start the killed node again, which then rejoins as a replica.
/// </summary>
public sealed class RedisCluster : IDisposable
{
    private RedisCluster(IReadOnlyList<RedisServer> nodes) => Nodes = nodes;

    /// <summary>Every node, masters and replicas; which is which changes with failovers.</summary>
    public IReadOnlyList<RedisServer> Nodes { get; }

    /// <summary>A StackExchange.Redis configuration string naming every node.</summary>
    public string Configuration => string.Join(",", Nodes.Select(n => string.Create(CultureInfo.InvariantCulture, $"127.0.0.1:{n.Port}")));

    /// <summary>
    /// Starts the nodes, creates the cluster and waits until every node reports it healthy.
    /// <paramref name="nodeTimeout"/> is <c>cluster-node-timeout</c>: how long a master may stay silent before its
    /// replica takes over (a failover takes about this plus a second).
    /// </summary>
    /// <exception cref="InvalidOperationException">redis-server or redis-cli is missing, or the cluster could not be created.</exception>
    public static RedisCluster Start(int masters = 3, int replicasPerMaster = 1, TimeSpan? nodeTimeout = null)
    {
        var timeout = ((int)(nodeTimeout ?? TimeSpan.FromSeconds(5)).TotalMilliseconds).ToString(CultureInfo.InvariantCulture);
        var nodes = new List<RedisServer>();
        try
        {
            for (var i = 0; i < masters * (1 + replicasPerMaster); i++)
            {
                nodes.Add(RedisServer.Start(extraArguments:
                [
                    "--cluster-enabled", "yes",
                    "--cluster-config-file", "nodes.conf",
                    "--cluster-node-timeout", timeout,
                    // Its own bus port: the default (port + 10000) can fall outside the port range for a high free port.
                    "--cluster-port", Loopback.FreePort().ToString(CultureInfo.InvariantCulture),
                    // A replica always takes over from a dead master, however long ago it last heard from it.
                    "--cluster-replica-validity-factor", "0",
                ]));
            }
            var cluster = new RedisCluster(nodes);
            cluster.Cli(nodes[0], ["--cluster", "create", .. nodes.Select(n => string.Create(CultureInfo.InvariantCulture, $"127.0.0.1:{n.Port}")),
                "--cluster-replicas", replicasPerMaster.ToString(CultureInfo.InvariantCulture), "--cluster-yes"]);
            cluster.WaitUntilHealthy();
            return cluster;
        }
        catch
        {
            nodes.ForEach(n => n.Dispose());
            throw;
        }
    }

    /// <summary>The slot of <paramref name="key"/> (CLUSTER KEYSLOT).</summary>
    public int SlotOf(string key) =>
        int.Parse(Cli(Running().First(), "CLUSTER", "KEYSLOT", key).Trim(), CultureInfo.InvariantCulture);

    /// <summary>The node that a running node's view of the cluster names as master of <paramref name="slot"/>, if any.</summary>
    public RedisServer? MasterOf(int slot)
    {
        foreach (var node in ClusterNodes(Running().First()))
        {
            if (node.Flags.Contains("master") && !node.Flags.Contains("fail") && node.Slots.Any(range => range.First <= slot && slot <= range.Last))
                return Nodes.FirstOrDefault(n => n.Port == node.Port);
        }
        return null;
    }

    /// <summary>The replicas of <paramref name="master"/> in a running node's view.</summary>
    public IReadOnlyList<RedisServer> ReplicasOf(RedisServer master)
    {
        var view = ClusterNodes(Running().First());
        var id = view.FirstOrDefault(n => n.Port == master.Port)?.Id;
        return [.. view.Where(n => n.MasterId == id && n.Flags.Contains("slave")).Select(n => Nodes.First(s => s.Port == n.Port))];
    }

    /// <summary>
    /// Waits until every running node reports <c>cluster_state:ok</c>, every slot is served by a running master, and
    /// every running replica is in sync with its master.
    /// </summary>
    public void WaitUntilHealthy(TimeSpan? deadline = null) =>
        Eventually.True(IsHealthy, "a healthy cluster (every node cluster_state:ok, every slot served by a running master, replicas in sync)", deadline ?? TimeSpan.FromSeconds(60));

    /// <summary>Runs <c>redis-cli -p PORT args...</c> against <paramref name="node"/> and returns what it printed.</summary>
    public string Cli(RedisServer node, params string[] args)
    {
        ArgumentNullException.ThrowIfNull(node);
        var info = new ProcessStartInfo("redis-cli") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add("-h");
        info.ArgumentList.Add("127.0.0.1");
        info.ArgumentList.Add("-p");
        info.ArgumentList.Add(node.Port.ToString(CultureInfo.InvariantCulture));
        foreach (var arg in args)
            info.ArgumentList.Add(arg);
        Process process;
        try
        {
            process = Process.Start(info)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException("redis-cli is not installed; install it with `apt-get install redis-server` (.ci/run does this).", e);
        }
        using (process)
        {
            ExitGuard.Track(process);
            var error = process.StandardError.ReadToEndAsync();
            var output = process.StandardOutput.ReadToEnd();
            if (!process.WaitForExit(RedisServer.StartDeadline))
                throw new TimeoutException($"redis-cli {string.Join(' ', args)} did not finish within {RedisServer.StartDeadline.TotalSeconds:0} s.");
            ExitGuard.Forget(process);
            if (process.ExitCode != 0)
                throw new InvalidOperationException($"redis-cli {string.Join(' ', args)} failed with exit code {process.ExitCode}: {output} {error.Result}");
            return output;
        }
    }

    /// <summary>Kills every node and removes their directories.</summary>
    public void Dispose()
    {
        foreach (var node in Nodes)
            node.Dispose();
    }

    private IEnumerable<RedisServer> Running() => Nodes.Where(n => n.IsRunning);

    private bool IsHealthy()
    {
        try
        {
            foreach (var node in Running())
            {
                if (!Cli(node, "CLUSTER", "INFO").Contains("cluster_state:ok", StringComparison.Ordinal))
                    return false;
                var view = ClusterNodes(node);
                var served = view.Where(n => n.Flags.Contains("master") && !n.Flags.Contains("fail") && Nodes.Any(s => s.Port == n.Port && s.IsRunning))
                    .SelectMany(n => n.Slots).Sum(range => range.Last - range.First + 1);
                if (served != 16384)
                    return false;
                if (view.Any(n => n.Port == node.Port && n.Flags.Contains("slave"))
                    && !Cli(node, "INFO", "replication").Contains("master_link_status:up", StringComparison.Ordinal))
                    return false;
            }
            return true;
        }
        catch (InvalidOperationException)
        {
            return false; // a node that is going away or not ready yet
        }
    }

    private List<NodeLine> ClusterNodes(RedisServer node) =>
        [.. Cli(node, "CLUSTER", "NODES").Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(NodeLine.Parse)];

    /// <summary>One line of CLUSTER NODES: id, address, flags, master id, ..., slot ranges.</summary>
    private sealed record NodeLine(string Id, int Port, string[] Flags, string MasterId, (int First, int Last)[] Slots)
    {
        public static NodeLine Parse(string line)
        {
            var parts = line.Split(' ');
            // "127.0.0.1:7000@17000" (Redis 7 may add ",hostname")
            var address = parts[1].Split('@')[0];
            var port = int.Parse(address[(address.LastIndexOf(':') + 1)..], CultureInfo.InvariantCulture);
            var slots = parts.Skip(8).Where(p => !p.StartsWith('[')).Select(p =>
            {
                var range = p.Split('-');
                var first = int.Parse(range[0], CultureInfo.InvariantCulture);
                return (first, range.Length > 1 ? int.Parse(range[1], CultureInfo.InvariantCulture) : first);
            }).ToArray();
            return new NodeLine(parts[0], port, parts[2].Split(','), parts[3], slots);
        }
    }
}

/// <summary>One <see cref="RedisCluster"/> (3 masters, 3 replicas) shared by the tests of a class (xunit class fixture).</summary>
public sealed class RedisClusterFixture : IDisposable
{
    /// <summary>The running cluster.</summary>
    public RedisCluster Cluster { get; } = RedisCluster.Start();

    /// <inheritdoc/>
    public void Dispose() => Cluster.Dispose();
}
