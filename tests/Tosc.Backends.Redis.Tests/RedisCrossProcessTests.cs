using System.Diagnostics;
using System.Globalization;
using System.Text;
using Tosc.Testing;
using Xunit;
using Xunit.Abstractions;

namespace Tosc.Tests;

/// <summary>Several real processes on one key through one real server.</summary>
public sealed class RedisCrossProcessTests(RedisServerFixture fixture, ITestOutputHelper output) : IClassFixture<RedisServerFixture>
{
    private static readonly TimeSpan Long = TimeSpan.FromMinutes(3);

    [Fact]
    public void CompareAndSwap_FourProcessesIncrementing250TimesEach_CountExactly1000()
    {
        var key = $"cas-count-{Guid.NewGuid():N}";
        var workers = Enumerable.Range(0, 4)
            .Select(_ => ChildProcess.Start(typeof(Program).Assembly, "worker", "cas-increment", fixture.Server.Configuration, key, "250"))
            .ToList();
        try
        {
            foreach (var worker in workers)
                worker.WaitForLine(line => line.StartsWith("done 250", StringComparison.Ordinal), "done 250", Long);
            foreach (var worker in workers)
                Assert.Equal(0, worker.WaitForExit());
        }
        finally
        {
            workers.ForEach(w => w.Dispose());
        }

        using var backend = new RedisBackend(fixture.Server.Configuration, key);
        Assert.Equal("1000", Encoding.UTF8.GetString(backend.Read()!.Data.Span));
    }

    [Fact]
    public void Notification_FromOneProcessToAnother_ArrivesThroughPubSub()
    {
        var key = $"notify-{Guid.NewGuid():N}";
        using var backend = new RedisBackend(fixture.Server.Configuration, key);
        backend.Write(Encoding.UTF8.GetBytes("before"), Guid.NewGuid());
        using var waiter = ChildProcess.Start(typeof(Program).Assembly, "worker", "wait", fixture.Server.Configuration, key);
        waiter.WaitForLine(line => line.StartsWith("ready ", StringComparison.Ordinal), "ready", Long);

        var written = backend.Write(Encoding.UTF8.GetBytes("after"), Guid.NewGuid());

        // The child polls only once an hour, so only the published message can wake it in time.
        var line = waiter.WaitForLine(l => l.StartsWith("changed ", StringComparison.Ordinal), "changed", TimeSpan.FromSeconds(20));
        Assert.Equal(written.ToString(CultureInfo.InvariantCulture), line["changed ".Length..]);
        Assert.Equal(0, waiter.WaitForExit());
    }

    [Fact]
    public void Run_FourManagerProcessesIncrementing250TimesEach_CountExactly1000()
    {
        var key = $"manager-count-{Guid.NewGuid():N}";
        var workers = Enumerable.Range(0, 4)
            .Select(_ => ChildProcess.Start(typeof(Program).Assembly, "worker", "manager-increment", fixture.Server.Configuration, key, "250"))
            .ToList();
        try
        {
            foreach (var worker in workers)
                worker.WaitForLine(line => line == "done 250", "done 250", Long);
            foreach (var worker in workers)
                Assert.Equal(0, worker.WaitForExit());
        }
        finally
        {
            workers.ForEach(w => w.Dispose());
        }

        using var backend = new RedisBackend(fixture.Server.Configuration, key);
        using var manager = new Manager(backend);
        Assert.Equal(1000, manager.Read<SharedCounter>().Value);
    }

    [Fact]
    public void Changed_CommittedInOneProcess_ReachesAManagerInAnotherWithinADeadline()
    {
        var key = $"manager-notify-{Guid.NewGuid():N}";
        using var backend = new RedisBackend(fixture.Server.Configuration, key);
        using var manager = new Manager(backend);
        var counter = manager.ReadOrInitialize(() => new SharedCounter());
        using var watcher = ChildProcess.Start(typeof(Program).Assembly, "worker", "manager-watch", fixture.Server.Configuration, key);
        watcher.WaitForLine(line => line.StartsWith("ready", StringComparison.Ordinal), "ready", Long);
        var delays = new List<double>();

        for (var i = 1; i <= 10; i++)
        {
            var started = Stopwatch.GetTimestamp();
            manager.Run(() => counter.Value = i);
            var expected = $" {i} ";
            // The watcher polls once an hour: only pub/sub can bring the change within the deadline.
            var line = watcher.WaitForLine(l => l.StartsWith("changed ", StringComparison.Ordinal) && l.Contains(expected, StringComparison.Ordinal), $"changed to {i}", TimeSpan.FromSeconds(20));
            var arrived = long.Parse(line.Split(' ')[3], CultureInfo.InvariantCulture);
            delays.Add(Stopwatch.GetElapsedTime(started, arrived).TotalMilliseconds);
            Assert.Equal(manager.Version.ToString(), line.Split(' ')[1]);
        }

        watcher.Send("exit");
        Assert.Equal(0, watcher.WaitForExit());
        delays.Sort();
        output.WriteLine($"commit-to-Changed delays (ms): median {delays[delays.Count / 2]:0.0}, max {delays[^1]:0.0}");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ServerRestart_DuringCommitsFromSeveralManagerProcesses_KeepsExactlyTheAcknowledgedCommits(bool crash)
    {
        // Durable server (appendfsync always): see RedisRestartTests for why a restart test needs one.
        using var server = RedisServer.Start(durable: true);
        var key = $"manager-restart-{Guid.NewGuid():N}";
        // Workers commit until their input closes ("0"), so the server always goes down in the middle of the stream, however
        // fast or slow the machine, and each goes on committing after the restart.
        var workers = Enumerable.Range(0, 3)
            .Select(i => ChildProcess.Start(typeof(Program).Assembly, "worker", "manager-append", server.Configuration, key, $"w{i}", "0"))
            .ToList();
        var done = new int[workers.Count];
        try
        {
            // Every worker past its first read-or-initialize: a crash during its first write is an outcome it cannot settle.
            Eventually.True(() => workers.All(w => w.Output.Contains("ready")) || workers.Any(w => w.HasExited), "every worker ready", Long);
            Eventually.True(() => Acknowledged(workers) >= 30 || workers.Any(w => w.HasExited), "30 acknowledged commits before the restart", Long);
            if (crash)
                server.Crash();
            else
                server.Shutdown();
            var before = Acknowledged(workers);
            server.StartAgain();
            Eventually.True(() => workers.All(w => w.Output.Count(l => l.StartsWith("acknowledged", StringComparison.Ordinal)) >= 10 + (before / 3))
                || workers.Any(w => w.HasExited), "every worker committing again after the restart", Long);
            for (var w = 0; w < workers.Count; w++)
            {
                workers[w].Stop(Long); // closes its input: it finishes the commit in hand and prints "done N"
                var line = workers[w].Output.LastOrDefault(l => l.StartsWith("done ", StringComparison.Ordinal))
                    ?? throw new InvalidOperationException($"worker w{w} ended without 'done'. stderr: {workers[w].Errors}");
                done[w] = int.Parse(line["done ".Length..], CultureInfo.InvariantCulture);
            }
            output.WriteLine($"{before} commits acknowledged when the server went down, {done.Sum() - before} after");
            Assert.True(done.Sum() > before, "no commit was acknowledged after the restart");
        }
        finally
        {
            workers.ForEach(w => w.Dispose());
        }

        using var backend = new RedisBackend(server.Configuration, key);
        using var manager = new Manager(backend);
        var final = manager.Read<SharedCounter>();
        var tokens = final.Tokens.ToList();
        var acknowledged = Enumerable.Range(0, workers.Count).SelectMany(w => Enumerable.Range(0, done[w]).Select(i => $"w{w}-{i}")).ToList();
        Assert.Equal(tokens.Count, tokens.Distinct().Count()); // nothing applied twice
        Assert.Equal(acknowledged.Order(), tokens.Order()); // nothing acknowledged lost, nothing unacknowledged kept
        Assert.Equal(done.Sum(), final.Value);
    }

    private static int Acknowledged(IEnumerable<ChildProcess> workers) =>
        workers.Sum(w => w.Output.Count(l => l.StartsWith("acknowledged", StringComparison.Ordinal)));
}
