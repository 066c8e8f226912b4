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
        if (args.Length != 5 || args[1] != "increment")
        {
            Console.Error.WriteLine($"usage: {Verb} increment STORE COUNT NAME");
            return 2;
        }
        return Increment(open(args[2]), int.Parse(args[3], CultureInfo.InvariantCulture), args[4]);
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
