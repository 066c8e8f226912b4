using System.Globalization;
using Tosc.Testing;
using Xunit;
using Xunit.Abstractions;

namespace Tosc.Tests.Files;

/// <summary>Managers in separate processes sharing one store file: the end-to-end promise of the file backend.</summary>
public sealed class ManagerCrossProcessTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDirectory _directory = new();

    [Fact]
    public void Run_InFourProcesses_250IncrementsEach_CountsExactly1000WithNoLostUpdate()
    {
        var path = _directory.File("counter.tosc");
        var children = Enumerable.Range(0, 4)
            .Select(_ => ChildProcess.Start(typeof(Program).Assembly, "worker", "manager-increment", path, "250"))
            .ToList();
        try
        {
            foreach (var child in children)
                child.WaitForLine(line => line == "done", "'done'", TimeSpan.FromMinutes(4));
            foreach (var child in children)
                Assert.Equal(0, child.WaitForExit());

            // Each committed run saw its own predecessor: the values committed are 1..1000, each exactly once.
            var committed = children.SelectMany(Commits).ToList();
            Assert.Equal(1000, committed.Count);
            Assert.Equal(Enumerable.Range(1, 1000), committed.Order());
        }
        finally
        {
            foreach (var child in children)
                child.Dispose();
        }

        using var backend = new FileBackend(path);
        using var manager = new Manager(backend, new ManagerOptions { WatchForChanges = false });
        Assert.Equal(1000, manager.Read<SharedCounter>().Value);
    }

    [Fact]
    public void Changed_InAnotherProcess_FiresAndItsLiveObjectShowsTheNewValue()
    {
        var path = _directory.File("settings.tosc");
        using var backend = new FileBackend(path);
        using var manager = new Manager(backend);
        var settings = manager.ReadOrInitialize(() => new SharedSettings());
        using var other = ChildProcess.Start(typeof(Program).Assembly, "worker", "manager-watch", path);
        other.WaitForLine(line => line == $"ready {manager.Version}", $"'ready {manager.Version}'");

        settings.Theme = "dark";

        var version = manager.Version;
        other.WaitForLine(line => line == $"changed {version} theme=dark", "the Changed event with the new theme", TimeSpan.FromSeconds(15));
    }

    /// <summary>Issue 16: a local time is stored as an instant, so another time zone sees the same moment on its own clock.</summary>
    [Fact]
    public void LocalDateTime_WrittenInNewYork_ReadsInTokyoAsTheSameInstantOnTokyosClock()
    {
        var path = _directory.File("times.tosc");
        var newYorkClock = new DateTime(2024, 7, 1, 9, 30, 0);
        var instant = new DateTime(2024, 7, 1, 13, 30, 0, DateTimeKind.Utc); // New York is UTC-4 in July
        var tokyoClock = new DateTime(2024, 7, 1, 22, 30, 0); // Tokyo is UTC+9

        string wrote, read;
        using (var writer = ChildProcess.Start(typeof(Program).Assembly, ["worker", "write-local-time", path, Invariant(newYorkClock.Ticks)], InZone("America/New_York")))
        {
            wrote = writer.Expect("wrote ");
            Assert.Equal(0, writer.WaitForExit());
        }
        using (var reader = ChildProcess.Start(typeof(Program).Assembly, ["worker", "read-local-time", path], InZone("Asia/Tokyo")))
        {
            read = reader.Expect("read ");
            Assert.Equal(0, reader.WaitForExit());
        }

        // The zones were in force: the writer's clock time was the New York one, the reader's is Tokyo's.
        Assert.Equal($"wrote {Invariant(instant.Ticks)} America/New_York", wrote);
        Assert.Equal($"read Local {Invariant(tokyoClock.Ticks)} {Invariant(instant.Ticks)} Asia/Tokyo", read);
    }

    private static Dictionary<string, string?> InZone(string zone) => new() { ["TZ"] = zone };

    private static string Invariant(long value) => value.ToString(CultureInfo.InvariantCulture);

    [Fact]
    public void Run_WhenAWriterIsKilledRepeatedly_SurvivorsFinishAndTheCounterMatchesTheAcknowledgedCommits()
    {
        var path = _directory.File("counter.tosc");
        var seed = Environment.TickCount;
        output.WriteLine($"seed {seed}");
        var random = new Random(seed);
        var survivors = Enumerable.Range(0, 2)
            .Select(_ => ChildProcess.Start(typeof(Program).Assembly, "worker", "manager-increment", path, "150"))
            .ToList();
        var victims = new List<ChildProcess>();
        try
        {
            const int kills = 4;
            for (var round = 0; round < kills; round++)
            {
                var victim = ChildProcess.Start(typeof(Program).Assembly, "worker", "manager-increment", path, "1000000");
                victims.Add(victim);
                var commits = random.Next(1, 25);
                for (var i = 0; i < commits; i++)
                    victim.WaitForLine(line => line.StartsWith("commit ", StringComparison.Ordinal), $"commit {i + 1} of the victim", TimeSpan.FromMinutes(2));
                victim.Kill();
                victim.WaitForExit(); // drains what it printed before the kill
            }
            foreach (var survivor in survivors)
                survivor.WaitForLine(line => line == "done", "a survivor's 'done'", TimeSpan.FromMinutes(4));

            var acknowledged = survivors.Concat(victims).SelectMany(Commits).ToList();
            using var backend = new FileBackend(path);
            using var manager = new Manager(backend, new ManagerOptions { WatchForChanges = false });
            var final = manager.Read<SharedCounter>().Value;

            // Every acknowledged commit is in the count, once. A commit whose acknowledgement a kill swallowed
            // (after the rename, before the print) is in the count too: at most one per kill, never a lost one.
            Assert.Equal(acknowledged.Count, acknowledged.Distinct().Count());
            Assert.All(acknowledged, value => Assert.InRange(value, 1, final));
            var unacknowledged = Enumerable.Range(1, final).Except(acknowledged).ToList();
            output.WriteLine($"final {final}, acknowledged {acknowledged.Count}, committed without acknowledgement: {string.Join(", ", unacknowledged)}");
            Assert.True(unacknowledged.Count <= kills, $"{unacknowledged.Count} commits without acknowledgement after {kills} kills (seed {seed})");
            Assert.Equal(300, survivors.SelectMany(Commits).Count());
        }
        finally
        {
            foreach (var child in survivors.Concat(victims))
                child.Dispose();
        }
    }

    public void Dispose() => _directory.Dispose();

    private static IEnumerable<int> Commits(ChildProcess child) =>
        child.Output.Where(line => line.StartsWith("commit ", StringComparison.Ordinal))
            .Select(line => int.Parse(line.AsSpan(7), CultureInfo.InvariantCulture));
}
