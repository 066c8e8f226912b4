using System.Reflection;
using Xunit;

namespace Tosc.Testing;

/// <summary>
/// The manager-level cases of the contract: what users do with a backend (several managers incrementing one value,
/// watching each other's commits, living through a server restart), with default options.
/// </summary>
public abstract partial class BackendContractTests
{
    /// <summary>
    /// The test assembly whose <c>Main</c> forwards to <see cref="ContractWorker.Run"/>, or <see langword="null"/>
    /// when the backend cannot be shared between processes (then the cross-process case only checks that).
    /// </summary>
    protected virtual Assembly? WorkerAssembly => null;

    /// <summary>How a child process names <paramref name="store"/> to its <see cref="ContractWorker.Run"/> open function.</summary>
    protected virtual string WorkerStore(string store) => store;

    /// <summary>Whether <see cref="RestartServer"/> can restart the server behind the store.</summary>
    protected virtual bool CanRestartServer => false;

    /// <summary>Stops the server behind the store and starts it again with the same data, for the restart case.</summary>
    protected virtual void RestartServer() =>
        throw new NotSupportedException("This backend has no server to restart.");

    [Fact]
    public async Task Managers_OnTheirOwnClients_IncrementConcurrently_AndNoIncrementIsLostOrDoubled()
    {
        const int managers = 3, increments = 15;
        var store = NewStore();

        var workers = Enumerable.Range(0, managers).Select(m => Task.Run(() =>
        {
            using var manager = new Manager(Client(store));
            var counter = manager.ReadOrInitialize(() => new ContractCounter());
            for (var i = 0; i < increments; i++)
            {
                var entry = $"m{m}-{i}";
                manager.Run(() =>
                {
                    counter.Value++;
                    counter.Journal.Add(entry);
                });
            }
        })).ToArray();
        await Eventually.Within(Task.WhenAll(workers).ContinueWith(_ => true, TaskScheduler.Default), "the managers' increments", TimeSpan.FromMinutes(3));
        await Task.WhenAll(workers); // rethrows a worker's failure

        AssertCounted(store, managers * increments, Enumerable.Range(0, managers).Select(m => $"m{m}"), increments);
    }

    [Fact]
    public void Managers_InOtherProcesses_IncrementConcurrently_WhileAWatcherFollows()
    {
        if (WorkerAssembly is null)
        {
            Assert.Null(WorkerAssembly); // an in-process backend: nothing to share between processes
            return;
        }
        const int processes = 2, increments = 15;
        var store = NewStore();
        using var watcher = new Manager(Client(store));
        var followed = watcher.ReadOrInitialize(() => new ContractCounter());

        RunWorkers(store, ContractWorker.IncrementCommand, processes, increments);

        // The watcher never refreshed by hand: its live object follows through the backend's notification or poll.
        Eventually.True(() => followed.Value == processes * increments, $"the watcher's counter reaching {processes * increments} (it shows {followed.Value})", TimeSpan.FromSeconds(60));
        AssertCounted(store, processes * increments, Enumerable.Range(0, processes).Select(p => $"p{p}"), increments);
    }

    /// <summary>
    /// How many increments each of the eight processes makes in the contention case (250: the figure users hit);
    /// a test class running the contract a second time over the same backend may lower it.
    /// </summary>
    protected virtual int ContendedIncrements => 250;

    [Fact]
    public void EightProcesses_IncrementingOneCounter_WithDefaultOptions_AllCommit_EachOnceAndInOrder()
    {
        if (WorkerAssembly is null)
        {
            Assert.Null(WorkerAssembly);
            return;
        }
        const int processes = 8;
        var increments = ContendedIncrements;
        var store = NewStore();
        using (var initializer = new Manager(Client(store)))
            initializer.ReadOrInitialize(() => new ContractCounter());

        // Every body reads and writes the same value: only the lease a Run takes after repeated conflicts lets each
        // worker through within the default retries.
        RunWorkers(store, ContractWorker.IncrementCommand, processes, increments);

        AssertCounted(store, processes * increments, Enumerable.Range(0, processes).Select(p => $"p{p}"), increments);
    }

    [Fact]
    public void EightProcesses_WritingKeysOnlyTheyWrite_NeverConflictNorRerun()
    {
        if (WorkerAssembly is null)
        {
            Assert.Null(WorkerAssembly);
            return;
        }
        const int processes = 8, keys = 40;
        var store = NewStore();
        using (var initializer = new Manager(Client(store)))
            initializer.ReadOrInitialize(() => new ContractCounter());

        var outputs = RunWorkers(store, ContractWorker.DisjointCommand, processes, keys);

        foreach (var output in outputs)
            Assert.Contains("conflicts=0 reruns=0", output);
        using var observer = new Manager(Client(store), new ManagerOptions { WatchForChanges = false });
        var stored = observer.Read<ContractCounter>().ByWorker;
        Assert.Equal(processes * keys, stored.Count);
        for (var p = 0; p < processes; p++)
        {
            for (var i = 0; i < keys; i++)
                Assert.Equal(i, stored[$"p{p}-{i}"]);
        }
    }

    [Fact]
    public void AChangeStreamConsumer_KilledAndResumedFromItsLastVersion_SeesEveryCommitOnceInOrder()
    {
        if (WorkerAssembly is not { } assembly)
        {
            Assert.Null(WorkerAssembly);
            return;
        }
        const int committers = 3, increments = 20;
        var store = NewStore();
        long start;
        using (var initializer = new Manager(Client(store)))
        {
            initializer.ReadOrInitialize(() => new ContractCounter());
            start = initializer.Version!.Value;
        }
        var seen = new List<string>();
        var consumer = StartConsumer(assembly, store, start);
        var committing = Enumerable.Range(0, committers)
            .Select(p => ChildProcess.Start(assembly, ContractWorker.Verb, ContractWorker.IncrementCommand, WorkerStore(store), increments.ToString(System.Globalization.CultureInfo.InvariantCulture), $"p{p}"))
            .ToList();
        try
        {
            // Kill the consumer mid-stream, once it has handled a few commits; resume from the last one it printed.
            var first = consumer;
            Eventually.True(() => first.Output.Count(line => line.StartsWith("set ", StringComparison.Ordinal)) >= 5, "five change sets", TimeSpan.FromMinutes(2));
            consumer.Kill();
            seen.AddRange(consumer.Output.Where(line => line.StartsWith("set ", StringComparison.Ordinal)));
            consumer.Dispose();
            consumer = StartConsumer(assembly, store, long.Parse(seen[^1].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture));
            foreach (var child in committing)
                child.Expect("done", TimeSpan.FromMinutes(3));
            // Every increment is in some change set: wait until the resumed consumer has printed the last ones (the
            // newest record may be one that changes nothing, such as a lease, which the stream does not report).
            var before = Entries(seen).Count;
            var resumed = consumer;
            Eventually.True(() => before + Entries(resumed.Output.Where(line => line.StartsWith("set ", StringComparison.Ordinal))).Count >= committers * increments,
                "every increment's change set", TimeSpan.FromMinutes(2));
            seen.AddRange(consumer.Output.Where(line => line.StartsWith("set ", StringComparison.Ordinal)));
        }
        finally
        {
            consumer.Dispose();
            committing.ForEach(child => child.Dispose());
        }

        // Versions rising from the start, no reset, no repeat (records that change nothing, such as leases, are not
        // reported, so a set may follow a version not listed); every increment's journal entry once, each committer's
        // in its order.
        var sets = seen.Select(line => line.Split(' ', 5)).ToList();
        Assert.All(sets, set => Assert.Equal("commit", set[3]));
        var previous = start;
        foreach (var set in sets)
        {
            var (version, follows) = (long.Parse(set[1], System.Globalization.CultureInfo.InvariantCulture), long.Parse(set[2], System.Globalization.CultureInfo.InvariantCulture));
            Assert.True(follows >= previous && version > follows, $"set {version} follows {follows} after {previous}");
            previous = version;
        }
        var entries = Entries(seen);
        Assert.Equal(committers * increments, entries.Count);
        for (var p = 0; p < committers; p++)
            Assert.Equal(Enumerable.Range(0, increments).Select(i => $"p{p}-{i}"), entries.Where(entry => entry.StartsWith($"p{p}-", StringComparison.Ordinal)));
    }

    /// <summary>The journal entries named by consumer lines <c>set VERSION PREVIOUS KIND ENTRY,ENTRY...</c>.</summary>
    private static List<string> Entries(IEnumerable<string> lines) =>
        [.. lines.Select(line => line.Split(' ', 5)).SelectMany(set => set.Length > 4 && set[4].Length > 0 ? set[4].Split(',') : [])];

    private ChildProcess StartConsumer(System.Reflection.Assembly assembly, string store, long after)
    {
        var consumer = ChildProcess.Start(assembly, ContractWorker.Verb, ContractWorker.WatchCommand, WorkerStore(store), after.ToString(System.Globalization.CultureInfo.InvariantCulture), "consumer");
        consumer.Expect("ready", TimeSpan.FromMinutes(1));
        return consumer;
    }

    /// <summary>Runs <paramref name="processes"/> contract workers on the store at once; returns each one's output.</summary>
    private List<IReadOnlyCollection<string>> RunWorkers(string store, string command, int processes, int count)
    {
        var children = Enumerable.Range(0, processes)
            .Select(p => ChildProcess.Start(WorkerAssembly!, ContractWorker.Verb, command, WorkerStore(store), count.ToString(System.Globalization.CultureInfo.InvariantCulture), $"p{p}"))
            .ToList();
        try
        {
            foreach (var child in children)
                child.Expect("done", TimeSpan.FromMinutes(5));
            foreach (var child in children)
                Assert.Equal(0, child.WaitForExit());
            return children.Select(child => child.Output).ToList();
        }
        finally
        {
            foreach (var child in children)
                child.Dispose();
        }
    }

    [Fact]
    public void Manager_SeesAnotherManagersCommit_InItsLiveObjects_WithoutRefreshing()
    {
        var store = NewStore();
        using var writer = new Manager(Client(store));
        using var reader = new Manager(Client(store));
        writer.Write(new ContractCounter());
        var live = reader.Read<ContractCounter>();
        var changed = 0;
        reader.Changed += (_, _) => Interlocked.Increment(ref changed);

        writer.Run(() => writer.Read<ContractCounter>().Value = 42);

        Eventually.True(() => live.Value == 42, "the reader's live counter showing 42");
        Eventually.True(() => Volatile.Read(ref changed) > 0, "the reader's Changed event");
    }

    [Fact]
    public void Managers_KeepWorking_AcrossAServerRestart()
    {
        if (!CanRestartServer)
        {
            Assert.Throws<NotSupportedException>(RestartServer);
            return;
        }
        var store = NewStore();
        using var writer = new Manager(Client(store));
        using var reader = new Manager(Client(store));
        var counter = writer.ReadOrInitialize(() => new ContractCounter());
        writer.Run(() => counter.Value = 1);
        var live = reader.Read<ContractCounter>();

        RestartServer();

        // The first calls may meet a connection still coming back; a user's retry loop looks like this. An unknown
        // outcome may be retried here because the change is an assignment: doing it twice stores the same.
        Eventually.True(() =>
        {
            try
            {
                writer.Run(() => counter.Value = 2);
                return true;
            }
            catch (BackendException e) when (e.IsTransient || e is CommitOutcomeUnknownException)
            {
                return false;
            }
        }, "a commit after the restart", TimeSpan.FromSeconds(60));
        Eventually.True(() => live.Value == 2, "the reader's live counter showing the commit made after the restart", TimeSpan.FromSeconds(60));
    }

    private void AssertCounted(string store, int total, IEnumerable<string> names, int each)
    {
        using var observer = new Manager(Client(store), new ManagerOptions { WatchForChanges = false });
        var counter = observer.Read<ContractCounter>();
        Assert.Equal(total, counter.Value);
        var expected = names.SelectMany(name => Enumerable.Range(0, each).Select(i => $"{name}-{i}")).Order(StringComparer.Ordinal);
        Assert.Equal(expected, counter.Journal.Order(StringComparer.Ordinal));
        foreach (var name in names) // each worker's entries in the order it made them
            Assert.Equal(Enumerable.Range(0, each).Select(i => $"{name}-{i}"), counter.Journal.Where(entry => entry.StartsWith(name + "-", StringComparison.Ordinal)));
    }
}
