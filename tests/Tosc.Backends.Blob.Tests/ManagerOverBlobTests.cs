using System.Globalization;
using Tosc.Testing;
using Xunit;

namespace Tosc.Tests.Blob;

/// <summary>Managers in several processes sharing one blob through Azurite.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class ManagerOverBlobTests(AzuriteFixture azurite)
{
    private readonly string _container = azurite.NewContainer();

    [Fact]
    public void Run_FromFourProcessesWith250IncrementsEach_CountsExactly1000()
    {
        const int processes = 4;
        const int increments = 250;
        var children = Enumerable.Range(0, processes)
            .Select(_ => ChildProcess.Start(typeof(Program).Assembly, "worker", "increment", azurite.ConnectionString, _container, "counter",
                increments.ToString(CultureInfo.InvariantCulture)))
            .ToArray();
        try
        {
            foreach (var child in children)
                child.WaitForLine(line => line == "ready", "ready", TimeSpan.FromMinutes(1));
            foreach (var child in children)
                child.Send("go");

            foreach (var child in children)
            {
                var exit = child.WaitForExit(TimeSpan.FromMinutes(5));
                Assert.True(exit == 0, $"a worker exited with {exit}: {string.Join(Environment.NewLine, child.Errors)}");
            }

            var attempts = children.Sum(c => int.Parse(c.Output.Single(l => l.StartsWith("done ", StringComparison.Ordinal))[5..], CultureInfo.InvariantCulture));
            using var backend = new BlobBackend(azurite.ConnectionString, _container, "counter");
            using var manager = new Manager(backend);
            Assert.Equal(processes * increments, manager.Read<Counter>().Value);
            Assert.True(attempts >= processes * increments, $"{attempts} attempts for {processes * increments} increments");
        }
        finally
        {
            foreach (var child in children)
                child.Dispose();
        }
    }

    [Fact]
    public async Task Changed_WhenAnotherManagerCommits_FiresAndUpdatesTheLiveObjectWithinADeadline()
    {
        // Two backend instances, as in two processes: the only way the second learns of the commit is by polling the blob.
        using var writerBackend = new BlobBackend(azurite.ConnectionString, _container, "shared");
        using var watcherBackend = new BlobBackend(azurite.ConnectionString, _container, "shared");
        using var writer = new Manager(writerBackend);
        using var watcher = new Manager(watcherBackend);
        var written = writer.ReadOrInitialize(() => new Counter());
        var watched = watcher.Read<Counter>();
        var changed = new TaskCompletionSource<ChangedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        watcher.Changed += (_, e) =>
        {
            if (watched.Value == 42)
                changed.TrySetResult(e);
        };

        writer.Run(() => written.Value = 42);

        var args = await Eventually.Within(changed.Task, "the second manager to see the first one's commit", TimeSpan.FromSeconds(20));
        Assert.Equal(writer.Version, args.NewVersion);
        Assert.Equal(42, watched.Value);
        Assert.Equal(writer.Version, watcher.Version);
    }
}
