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

    public IReadOnlyList<BackendKind> Backends => Environment.Available;

    public string ResultsDirectory { get; } = resultsDirectory;

    /// <summary>Picks the full or the quick value.</summary>
    public T Pick<T>(T full, T quick) => Quick ? quick : full;

    public static string Name(BackendKind kind) => BenchEnvironment.Name(kind);

    /// <summary>Notes which wanted backends were skipped, and why.</summary>
    public void NoteSkipped(ScenarioResult result)
    {
        foreach (var (kind, reason) in Environment.Skipped)
            result.Skip(Name(kind), reason);
    }
}
