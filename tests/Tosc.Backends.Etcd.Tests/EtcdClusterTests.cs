using Tosc.Testing;
using Xunit;
using Xunit.Abstractions;

namespace Tosc.Tests;

/// <summary>A three-member etcd cluster on loopback whose leader is killed (SIGKILL) in the middle of a stream of commits.</summary>
public sealed class EtcdClusterTests(ITestOutputHelper output)
{
    [Fact]
    public void LeaderKilled_InTheMiddleOfCommitsFromSeveralProcesses_LosesNoAcknowledgedCommit_AppliesNoneTwice_AndManagersGoOn()
    {
        const int processes = 4, increments = 50;
        using var cluster = EtcdCluster.Start(3);
        var key = $"leader-kill-{Guid.NewGuid():N}";
        using (var backend = new EtcdBackend(cluster.Endpoints, key))
        using (var initializer = new Manager(backend))
            initializer.ReadOrInitialize(() => new ContractCounter());
        var assembly = typeof(EtcdClusterTests).Assembly;
        var workers = Enumerable.Range(0, processes)
            .Select(p => ChildProcess.Start(assembly, ClusterWorker.Verb, cluster.Endpoints, key, increments.ToString(System.Globalization.CultureInfo.InvariantCulture), $"p{p}"))
            .ToList();
        try
        {
            int Acks() => workers.Sum(w => w.Output.Count(line => line.StartsWith("ack ", StringComparison.Ordinal)));
            Eventually.True(() => Acks() >= 30, "30 acknowledged commits before the leader is killed", TimeSpan.FromMinutes(2));

            var leader = cluster.Leader();
            leader.Crash();
            var ackedBeforeKill = Acks();
            var next = cluster.Leader();

            Assert.NotSame(leader, next);
            foreach (var worker in workers)
                worker.Expect("done", TimeSpan.FromMinutes(3));
            foreach (var worker in workers)
                Assert.Equal(0, worker.WaitForExit());
            Assert.True(ackedBeforeKill < processes * increments, $"all {ackedBeforeKill} commits were acknowledged before the kill: it did not hit a stream of commits");

            var lines = workers.SelectMany(w => w.Output).ToList();
            output.WriteLine($"acknowledged before the kill: {ackedBeforeKill}; calls retried through the election: {lines.Count(l => l.StartsWith("retry ", StringComparison.Ordinal))}; " +
                $"outcomes settled by reading back: {lines.Count(l => l.StartsWith("settled ", StringComparison.Ordinal))}");
            var acknowledged = workers.SelectMany(w => w.Output).Where(line => line.StartsWith("ack ", StringComparison.Ordinal)).Select(line => line[4..]).ToList();
            using var reader = new EtcdBackend(cluster.Endpoints, key);
            using var observer = new Manager(reader, new ManagerOptions { WatchForChanges = false });
            var journal = observer.Read<ContractCounter>().Journal.ToList();
            Assert.Equal(journal.Count, journal.Distinct().Count()); // none applied twice
            Assert.Equal(processes * increments, acknowledged.Count);
            Assert.Equal(acknowledged.Order(StringComparer.Ordinal), journal.Order(StringComparer.Ordinal)); // none lost, none extra
            Assert.Equal(journal.Count, observer.Read<ContractCounter>().Value);
            for (var p = 0; p < processes; p++)
                Assert.Equal(Enumerable.Range(0, increments).Select(i => $"p{p}-{i}"), journal.Where(entry => entry.StartsWith($"p{p}-", StringComparison.Ordinal)));

            // The killed member comes back and catches up: a manager on it alone reads the same state.
            leader.StartAgain();
            using var rejoined = new EtcdBackend(leader.Endpoint, key);
            using var late = new Manager(rejoined, new ManagerOptions { WatchForChanges = false });
            Assert.Equal(journal.Count, late.Read<ContractCounter>().Value);
        }
        finally
        {
            workers.ForEach(w => w.Dispose());
        }
    }
}
