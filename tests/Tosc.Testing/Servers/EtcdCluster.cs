using System.Diagnostics;
using System.Globalization;

namespace Tosc.Testing;

/// <summary>
/// A real etcd cluster of several members on loopback (free client and peer ports, each member with its own data
/// directory), for tests that kill the leader in the middle of a stream of commits.
/// </summary>
public sealed class EtcdCluster : IDisposable
{
    private EtcdCluster(IReadOnlyList<EtcdServer> members, string directory)
    {
        Members = members;
        Directory = directory;
    }

    /// <summary>The members, in the order of <see cref="Endpoints"/>.</summary>
    public IReadOnlyList<EtcdServer> Members { get; }

    /// <summary>The directory holding every member's directory; removed on dispose.</summary>
    public string Directory { get; }

    /// <summary>Every member's client URL, comma-separated (what <c>EtcdBackend</c> takes).</summary>
    public string Endpoints => string.Join(',', Members.Select(m => m.Endpoint));

    /// <summary>Starts <paramref name="size"/> members together and waits until each is healthy (the cluster has a leader).</summary>
    /// <exception cref="InvalidOperationException">etcd is not installed or a member exited at start.</exception>
    /// <exception cref="TimeoutException">The cluster was not healthy within <see cref="EtcdServer.StartDeadline"/>.</exception>
    public static EtcdCluster Start(int size = 3)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        var directory = EtcdServer.NewDirectory();
        var ports = Enumerable.Range(0, size).Select(_ => (Client: Loopback.FreePort(), Peer: Loopback.FreePort())).ToList();
        var initial = string.Join(',', ports.Select((p, i) => string.Create(CultureInfo.InvariantCulture, $"m{i}=http://127.0.0.1:{p.Peer}")));
        var token = "tosc-" + Guid.NewGuid().ToString("N")[..8];
        var members = ports.Select((p, i) => new EtcdServer($"m{i}", p.Client, p.Peer, Path.Combine(directory, $"m{i}"), initial, token, ownsDirectory: false, [])).ToList();
        var cluster = new EtcdCluster(members, directory);
        try
        {
            members.ForEach(m => m.Launch()); // together: a member waits for a quorum before it is healthy
            members.ForEach(m => m.WaitUntilHealthy());
        }
        catch
        {
            cluster.Dispose();
            throw;
        }
        return cluster;
    }

    /// <summary>The member the running members agree is the leader; waits (up to <paramref name="deadline"/>) until they do.</summary>
    /// <exception cref="TimeoutException">No leader was agreed on in time.</exception>
    public EtcdServer Leader(TimeSpan? deadline = null)
    {
        var limit = deadline ?? EtcdServer.StartDeadline;
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < limit)
        {
            var statuses = Members.Select(m => (Member: m, Status: m.Status())).Where(s => s.Status is not null).ToList();
            var leaders = statuses.Select(s => s.Status!.Value.Leader).Distinct().ToList();
            if (statuses.Count > 0 && leaders is [{ } leader]
                && statuses.FirstOrDefault(s => s.Status!.Value.Member == leader).Member is { } found)
            {
                return found;
            }
            Thread.Sleep(50); // polling interval of a deadline wait
        }
        throw new TimeoutException($"The etcd cluster {Endpoints} agreed on no leader within {limit.TotalSeconds:0} s.");
    }

    /// <summary>Kills every member and removes their directories.</summary>
    public void Dispose()
    {
        foreach (var member in Members)
            member.Dispose();
        ServerProcess.DeleteDirectory(Directory);
    }
}
