using System.Globalization;
using Tosc.Testing;
using Xunit;
using Xunit.Abstractions;

namespace Tosc.Tests;

/// <summary>
/// The master holding a store's slot is killed (SIGKILL) in the middle of a stream of commits from several processes;
/// its replica is promoted and the killed node comes back as the new master's replica. With
/// <see cref="RedisBackendOptions.WaitForReplicas"/> every commit reported as a success was on the replica, so none is lost
/// by the failover, none is applied twice, and the managers go on committing.
/// </summary>
public sealed class RedisClusterFailoverTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Long = TimeSpan.FromMinutes(2);

    // A short node timeout: the replica takes over about 2-3 s after the master died.
    private readonly RedisCluster _cluster = RedisCluster.Start(nodeTimeout: TimeSpan.FromSeconds(2));

    public void Dispose() => _cluster.Dispose();

    [Fact]
    public void MasterKilled_DuringCommitsFromSeveralProcesses_WithWaitForReplicas_LosesNoAcknowledgedCommit()
    {
        var lost = KillTheMasterDuringCommits(waitForReplicas: 1);

        Assert.Empty(lost);
    }

    /// <summary>Runs the scenario; returns the acknowledged commits the final state does not hold (asserting everything else).</summary>
    private List<string> KillTheMasterDuringCommits(int waitForReplicas)
    {
        const int processes = 3, before = 20, after = 20;
        var key = $"failover-{Guid.NewGuid():N}";
        var slot = _cluster.SlotOf("tosc:" + key);
        var master = _cluster.MasterOf(slot) ?? throw new InvalidOperationException($"no master serves slot {slot}");
        var replica = Assert.Single(_cluster.ReplicasOf(master));
        var acknowledged = new int[processes];
        var workers = Enumerable.Range(0, processes).Select(p => ChildProcess.Start(typeof(Program).Assembly,
            ["worker", "manager-append", _cluster.Configuration, key, $"p{p}", "0", waitForReplicas.ToString(CultureInfo.InvariantCulture)],
            onOutput: line =>
            {
                if (line.StartsWith("acknowledged ", StringComparison.Ordinal))
                    Interlocked.Increment(ref acknowledged[p]);
            }, errorLog: null)).ToList();
        var done = new int[processes];
        try
        {
            Eventually.True(() => acknowledged.All(a => Volatile.Read(ref a) >= before) || workers.Any(w => w.HasExited), $"{before} commits by every worker", Long);
            Assert.DoesNotContain(workers, w => w.HasExited);
            var atKill = acknowledged.Sum();

            master.Crash();
            Eventually.True(() => _cluster.MasterOf(slot) == replica, $"the replica on port {replica.Port} serving slot {slot}", Long);
            // Only now: a node started again before the failover would come back as an empty master of its slots.
            master.StartAgain();
            _cluster.WaitUntilHealthy(Long);
            var atRecovery = acknowledged.ToArray();

            Eventually.True(() => Enumerable.Range(0, processes).All(p => Volatile.Read(ref acknowledged[p]) >= atRecovery[p] + after) || workers.Any(w => w.HasExited),
                $"{after} more commits by every worker after the failover", Long);
            Assert.DoesNotContain(workers, w => w.HasExited);
            output.WriteLine($"{atKill} commits acknowledged when the master was killed, {atRecovery.Sum()} when the cluster was whole again");

            for (var p = 0; p < processes; p++)
            {
                workers[p].Stop(TimeSpan.FromMinutes(1)); // closes its input: it finishes the commit in hand and prints "done N"
                var line = workers[p].Output.LastOrDefault(l => l.StartsWith("done ", StringComparison.Ordinal))
                    ?? throw new InvalidOperationException($"worker p{p} ended without 'done'. stderr: {workers[p].Errors}");
                done[p] = int.Parse(line["done ".Length..], CultureInfo.InvariantCulture);
            }
        }
        finally
        {
            workers.ForEach(w => w.Dispose());
        }
        var inDoubt = workers.Select(w => w.Output.Where(l => l.StartsWith("in-doubt ", StringComparison.Ordinal)).ToList()).ToArray();

        using var backend = new RedisBackend(_cluster.Configuration, key);
        using var manager = new Manager(backend, new ManagerOptions { WatchForChanges = false });
        var final = manager.Read<SharedCounter>();
        var tokens = final.Tokens.ToList();
        Assert.Equal(tokens.Count, tokens.Distinct().Count()); // nothing applied twice
        Assert.Equal(tokens.Count, final.Value);
        var lost = new List<string>();
        for (var p = 0; p < processes; p++)
        {
            var expected = Enumerable.Range(0, done[p]).Select(i => $"p{p}-{i}").ToList();
            var stored = tokens.Where(t => t.StartsWith($"p{p}-", StringComparison.Ordinal)).ToList();
            lost.AddRange(expected.Except(stored));
            Assert.Empty(stored.Except(expected)); // nothing that was not acknowledged
        }
        output.WriteLine($"{tokens.Count} commits stored, {lost.Count} acknowledged ones lost: {string.Join(", ", lost)}; " +
            $"commits in doubt, settled by reading back: {string.Join(", ", inDoubt.Select(d => $"{d.Count(l => l.EndsWith("stored", StringComparison.Ordinal))} stored / {d.Count} in p{Array.IndexOf(inDoubt, d)}"))}");
        return lost;
    }
}
