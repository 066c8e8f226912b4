using System.Globalization;
using System.Text;
using Tosc.Testing;
using Xunit;
using Xunit.Abstractions;

namespace Tosc.Tests.Files;

/// <summary>Real child processes sharing one store file: compare-and-swap, notification, and crashes (SIGKILL).</summary>
public sealed class CrossProcessTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDirectory _directory = new();

    [Fact]
    public async Task Lock_WhenItsHolderIsKilled_IsFreeForOthers()
    {
        var path = _directory.File("s.tosc");
        using var impatient = new FileBackend(path, options: new FileBackendOptions { LockTimeout = TimeSpan.FromMilliseconds(300) });
        using var patient = new FileBackend(path);
        using var holder = ChildProcess.Start(typeof(Program).Assembly, "worker", "hold-lock", impatient.LockPath);
        holder.WaitForLine(line => line == "locked", "'locked'");

        var blocked = Assert.Throws<BackendException>(() => impatient.Write("blocked"u8.ToArray(), Guid.NewGuid()));
        Assert.Contains($"'{impatient.LockPath}'", blocked.Message, StringComparison.Ordinal);
        Assert.Contains("another process", blocked.Message, StringComparison.Ordinal);
        var waiting = patient.WriteAsync("after the crash"u8.ToArray(), Guid.NewGuid()).AsTask();
        holder.Kill();

        Assert.Equal(1, await Eventually.Within(waiting, "a commit after the lock holder was killed"));
        Assert.Equal("after the crash", Encoding.UTF8.GetString(impatient.Read()!.Data.Span));
    }

    [Fact]
    public void Commits_WhenTheWriterIsKilledRepeatedly_LeaveTheLastCommittedStateReadable()
    {
        var path = _directory.File("s.tosc");
        var seed = Environment.TickCount;
        output.WriteLine($"seed {seed}");
        var random = new Random(seed);
        using var survivor = new FileBackend(path);
        long survivorCommits = 0;

        for (var round = 0; round < 6; round++)
        {
            var lastAcknowledged = KillAfterAcknowledgements("commit-loop", path, random.Next(1, 40));

            var state = survivor.Read();
            Assert.NotNull(state);
            // The kill may land after the rename and before the acknowledgement was printed: one more, never fewer.
            Assert.True(state.Version == lastAcknowledged || state.Version == lastAcknowledged + 1,
                $"round {round}: version {state.Version} after the last acknowledged {lastAcknowledged} (seed {seed})");
            Assert.Equal($"v{state.Version}", Encoding.UTF8.GetString(state.Data.Span));
            // The killed writer may have held the lock: the survivor commits at once all the same.
            Assert.Equal(state.Version + 1, survivor.TryWrite(Encoding.UTF8.GetBytes($"v{state.Version + 1}"), state.Version, Guid.NewGuid()));
            survivorCommits++;
        }

        using (new FileBackend(path))
            Assert.Empty(Directory.GetFiles(_directory.Path, "*.tmp"));
        Assert.Equal(6, survivorCommits);
    }

    [Fact]
    public void Appends_WhenTheWriterIsKilledMidStream_LoseNoAcknowledgedRecord()
    {
        var path = _directory.File("log.tosc");
        var seed = Environment.TickCount;
        output.WriteLine($"seed {seed}");
        var random = new Random(seed);
        using var survivor = new FileBackend(path);
        var snapshot = survivor.Write("snapshot"u8.ToArray(), Guid.NewGuid());

        for (var round = 0; round < 6; round++)
        {
            var lastAcknowledged = KillAfterAcknowledgements("append-loop", path, random.Next(1, 60));

            var head = survivor.ReadVersion()!.Value;
            // The kill may land after the fsync and before the acknowledgement was printed: one more, never fewer.
            Assert.True(head == lastAcknowledged || head == lastAcknowledged + 1,
                $"round {round}: version {head} after the last acknowledged {lastAcknowledged} (seed {seed})");
            var state = survivor.Read()!;
            Assert.Equal(head, state.Version);
            Assert.Equal(Enumerable.Range(0, (int)(head - state.SnapshotVersion)).Select(i => $"r{state.SnapshotVersion + 1 + i}"),
                state.Log.Select(r => Encoding.UTF8.GetString(r.Data.Span)));
            // The killed writer may have held the lock: the survivor appends at once all the same.
            Assert.Equal(head + 1, survivor.TryAppend(Encoding.UTF8.GetBytes($"r{head + 1}"), head, Guid.NewGuid())?.Version);
            if (round % 2 == 1)
                Assert.True(survivor.TryCompact(Encoding.UTF8.GetBytes($"snapshot at {head}"), head));
        }

        Assert.True(survivor.ReadVersion() > snapshot + 6);
        using (new FileBackend(path))
            Assert.Empty(Directory.GetFiles(_directory.Path, "*.tmp"));
    }

    [Fact]
    public void CompareAndSwap_FromFourProcesses_LosesNoIncrement()
    {
        var path = _directory.File("counter.tosc");
        var children = Enumerable.Range(0, 4)
            .Select(_ => ChildProcess.Start(typeof(Program).Assembly, "worker", "increment", path, "250"))
            .ToList();
        try
        {
            var conflicts = children
                .Select(child => child.WaitForLine(line => line.StartsWith("done ", StringComparison.Ordinal), "'done'", TimeSpan.FromMinutes(3)))
                .Sum(line => int.Parse(line.AsSpan(5), CultureInfo.InvariantCulture));
            output.WriteLine($"{conflicts} conflicts");
        }
        finally
        {
            foreach (var child in children)
                child.Dispose();
        }

        using var backend = new FileBackend(path);
        var state = backend.Read();
        Assert.Equal("1000", Encoding.UTF8.GetString(state!.Data.Span));
        Assert.Equal(1000, state.Version);
    }

    [Fact]
    public void WaitForChange_InAnotherProcess_SeesACommitPromptly()
    {
        var path = _directory.File("s.tosc");
        using var backend = new FileBackend(path);
        var known = backend.Write("theme=light"u8.ToArray(), Guid.NewGuid());
        using var watcher = ChildProcess.Start(typeof(Program).Assembly, "worker", "wait-change", path);
        watcher.WaitForLine(line => line == $"waiting {known}", $"'waiting {known}'");

        var version = backend.Write("theme=dark"u8.ToArray(), Guid.NewGuid());

        watcher.WaitForLine(line => line == $"changed {version} theme=dark", "the change", TimeSpan.FromSeconds(10));
    }

    public void Dispose() => _directory.Dispose();

    /// <summary>Starts a worker that prints "ack {version}" per commit, SIGKILLs it after that many, and returns the last version it acknowledged.</summary>
    private static long KillAfterAcknowledgements(string worker, string path, int acknowledgements)
    {
        using var writer = ChildProcess.Start(typeof(Program).Assembly, "worker", worker, path);
        writer.WaitForLine(line => line == "ready", "'ready'");
        for (var i = 0; i < acknowledgements; i++)
            writer.WaitForLine(line => line.StartsWith("ack ", StringComparison.Ordinal), $"acknowledgement {i + 1}");
        writer.Kill();
        writer.WaitForExit(); // drains the lines printed before the kill
        return writer.Output.Where(line => line.StartsWith("ack ", StringComparison.Ordinal))
            .Max(line => long.Parse(line.AsSpan(4), CultureInfo.InvariantCulture));
    }
}
