using Tosc.Benchmarks.Harness;

namespace Tosc.Benchmarks.Scenarios;

/// <summary>One benchmark scenario: prints its rows as it goes and returns them for the results file.</summary>
internal interface IScenario
{
    /// <summary>The name for --scenario and of bench/results/NAME.json.</summary>
    string Name { get; }

    /// <summary>A one-line description for --help.</summary>
    string Title { get; }

    ScenarioResult Run(Bench bench);
}

/// <summary>What every scenario gets: the mode, the backends that are up, and helpers to size the work.</summary>
internal sealed class Bench(bool quick, BenchEnvironment environment, string resultsDirectory)
{
    public bool Quick { get; } = quick;

    public BenchEnvironment Environment { get; } = environment;

    /// <summary>The backends that are up, but Redis Cluster: what most scenarios run on.</summary>
    public IReadOnlyList<BackendKind> Backends => [.. Environment.Available.Where(k => k != BackendKind.RedisCluster)];

    /// <summary>The backends that are up, Redis Cluster too: what commit, graph size and contention run on (issue 14).</summary>
    public IReadOnlyList<BackendKind> BackendsWithCluster => Environment.Available;

    public string ResultsDirectory { get; } = resultsDirectory;

    /// <summary>Picks the full or the quick value.</summary>
    public T Pick<T>(T full, T quick) => Quick ? quick : full;

    public static string Name(BackendKind kind) => BenchEnvironment.Name(kind);

    /// <summary>Notes which wanted backends were skipped, and why (Redis Cluster too, unless the scenario ran <see cref="BackendsWithCluster"/>).</summary>
    public void NoteSkipped(ScenarioResult result, bool ranOnCluster = false)
    {
        foreach (var (kind, reason) in Environment.Skipped)
            result.Skip(Name(kind), reason);
        if (!ranOnCluster && Environment.Available.Contains(BackendKind.RedisCluster))
            result.Skip(Name(BackendKind.RedisCluster), "only commit, graphsize and contention run on the cluster");
    }
}
