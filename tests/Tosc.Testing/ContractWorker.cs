using System.Globalization;

namespace Tosc.Testing;

/// <summary>
/// The child-process side of the manager-level contract cases. A backend's test assembly forwards its
/// <c>Main</c> to <see cref="Run"/>: <c>dotnet TheTests.dll contract-worker increment STORE COUNT NAME</c>.
/// </summary>
public static class ContractWorker
{
    /// <summary>The first argument that selects this entry point.</summary>
    public const string Verb = "contract-worker";

    /// <summary>The second argument: add one to the shared counter COUNT times, journalling each.</summary>
    public const string IncrementCommand = "increment";

    /// <summary>The second argument: write COUNT keys of the shared dictionary that only this worker writes.</summary>
    public const string DisjointCommand = "disjoint";

    /// <summary>
    /// The second argument: consume <see cref="Manager.WatchAsync(long?, CancellationToken)"/> after version COUNT ("-"
    /// for now), printing each change set as <c>set VERSION PREVIOUS RESET ENTRY,ENTRY...</c> (the journal entries it
    /// added) once handled, until killed. The last line printed is the version a restart resumes from.
    /// </summary>
    public const string WatchCommand = "watch";

    /// <summary>
    /// Runs a worker when <paramref name="args"/> start with <see cref="Verb"/>; returns <see langword="null"/> otherwise,
    /// so the caller can dispatch its own workers. <paramref name="open"/> opens a client of a store from the string
    /// the test passed (what the test class's <c>WorkerStore</c> returned).
    /// </summary>
    public static int? Run(string[] args, Func<string, IBackend> open)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(open);
        if (args.Length == 0 || args[0] != Verb)
            return null;
        if (args.Length != 5 || args[1] is not (IncrementCommand or DisjointCommand or WatchCommand))
        {
            Console.Error.WriteLine($"usage: {Verb} {IncrementCommand}|{DisjointCommand}|{WatchCommand} STORE COUNT NAME");
            return 2;
        }
        if (args[1] == WatchCommand)
            return Watch(open(args[2]), args[3] == "-" ? null : long.Parse(args[3], CultureInfo.InvariantCulture)).GetAwaiter().GetResult();
        var count = int.Parse(args[3], CultureInfo.InvariantCulture);
        return args[1] == IncrementCommand ? Increment(open(args[2]), count, args[4]) : WriteDisjoint(open(args[2]), count, args[4]);
    }

    private static async Task<int> Watch(IBackend backend, long? after)
    {
        using (backend)
        {
            await using var manager = new Manager(backend, new ManagerOptions { WatchForChanges = false });
            manager.Read<ContractCounter>();
            Console.WriteLine("ready");
            await foreach (var set in manager.WatchAsync(after))
            {
                var entries = set.Changes.Where(change => change.Kind == PathChangeKind.Insert && change.Path.StartsWith("Journal[", StringComparison.Ordinal))
                    .Select(change => (string)change.NewValue!);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"set {set.Version} {set.PreviousVersion?.ToString(CultureInfo.InvariantCulture) ?? "-"} {(set.IsReset ? "reset" : "commit")} {string.Join(",", entries)}"));
            }
        }
        return 0;
    }

    /// <summary>Writes its own keys, one Run each, then prints how many commits conflicted and how many bodies reran.</summary>
    private static int WriteDisjoint(IBackend backend, int count, string name)
    {
        using var meters = new ToscMeters();
        using (backend)
        using (var manager = new Manager(backend))
        {
            var shared = manager.ReadOrInitialize(() => new ContractCounter());
            Console.WriteLine("ready");
            for (var i = 0; i < count; i++)
            {
                var key = $"{name}-{i}";
                var value = i;
                manager.Run(() => shared.ByWorker[key] = value);
            }
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"conflicts={meters.Conflicts} reruns={meters.Retries}"));
        Console.WriteLine("done");
        return 0;
    }

    /// <summary>Adds one to the counter <paramref name="count"/> times with default options, journalling each, then prints "done".</summary>
    private static int Increment(IBackend backend, int count, string name)
    {
        using (backend)
        using (var manager = new Manager(backend))
        {
            var counter = manager.ReadOrInitialize(() => new ContractCounter());
            Console.WriteLine("ready");
            for (var i = 0; i < count; i++)
            {
                var entry = $"{name}-{i}";
                manager.Run(() =>
                {
                    counter.Value++;
                    counter.Journal.Add(entry);
                });
            }
        }
        Console.WriteLine("done");
        return 0;
    }
}
