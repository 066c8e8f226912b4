using System.Diagnostics;
using System.Reflection;
using System.Text;
using Tosc.Benchmarks.Harness;
using Tosc.Benchmarks.Scenarios;
using Tosc.Testing;

namespace Tosc.Benchmarks;

/// <summary>
/// The benchmark harness: measures Tosc against the raw primitive of each backend and against hand-written code,
/// in one run, and writes one result file per scenario. Run with --help for the options.
/// </summary>
internal static class Program
{
    private static readonly IScenario[] s_scenarios =
    [
        new CodecScenario(),
        new CommitScenario(),
        new HandWrittenScenario(),
        new GraphSizeScenario(),
        new ContentionScenario(),
        new NotificationScenario(),
        new MemoryScenario(),
        new ReadScenario(),
    ];

    public static int Main(string[] args)
    {
        if (args.Length >= 2 && args[0] == "--worker")
            return RunWorker(args[1], args[2..]);

        var quick = false;
        string? outDirectory = null;
        var scenarios = s_scenarios.ToList();
        var backends = BenchEnvironment.Defaults.ToList();
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--help" or "-h" or "--list":
                    PrintHelp();
                    return 0;
                case "--quick":
                    quick = true;
                    break;
                case "--scenario" when i + 1 < args.Length:
                    var names = args[++i].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                    var unknown = names.Where(n => s_scenarios.All(s => s.Name != n)).ToList();
                    if (unknown.Count > 0)
                        return Fail($"Unknown scenario '{string.Join(", ", unknown)}'. Scenarios: {string.Join(", ", s_scenarios.Select(s => s.Name))}.");
                    scenarios = s_scenarios.Where(s => names.Contains(s.Name)).ToList();
                    break;
                case "--backends" when i + 1 < args.Length:
                    backends = [];
                    foreach (var name in args[++i].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                    {
                        if (!BenchEnvironment.TryParse(name, out var kind))
                            return Fail($"Unknown backend '{name}'. Backends: inproc, file, redis, blob, etcd, postgres, redis-cluster.");
                        backends.Add(kind);
                    }
                    break;
                case "--out" when i + 1 < args.Length:
                    outDirectory = Path.GetFullPath(args[++i]);
                    break;
                default:
                    return Fail($"Unknown or incomplete option '{args[i]}'. See --help.");
            }
        }

        // Servers and workers die with the harness, however it ends; Ctrl+C also removes the temporary directory.
        BenchEnvironment? current = null;
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            Console.Error.WriteLine("Interrupted: stopping servers and workers.");
            ExitGuard.KillAll();
            current?.Dispose();
            Environment.Exit(130);
        };
        AppDomain.CurrentDomain.ProcessExit += (_, _) => ExitGuard.KillAll();
        AppDomain.CurrentDomain.UnhandledException += (_, _) => ExitGuard.KillAll();

        var resultsDirectory = outDirectory ?? DefaultResultsDirectory(quick);
        var run = new RunInfo(quick, DateTimeOffset.Now, MachineInfo.Current());
        Console.WriteLine($"Tosc benchmarks ({(quick ? "quick" : "full")} run) on {run.Machine}");
        if (IsDebugBuild())
            Console.WriteLine("WARNING: this is a Debug build; run with -c Release for meaningful figures.");
        Console.WriteLine($"Results go to {resultsDirectory}");

        var failed = 0;
        var clock = Stopwatch.StartNew();
        var results = new List<ScenarioResult>();
        try
        {
            using var environment = BenchEnvironment.Start(backends.Distinct());
            current = environment;
            var bench = new Bench(quick, environment, resultsDirectory);
            foreach (var scenario in scenarios)
            {
                Console.WriteLine();
                Console.WriteLine($"== {scenario.Name}: {scenario.Title}");
                var started = Stopwatch.StartNew();
                ScenarioResult result;
                try
                {
                    result = scenario.Run(bench);
                }
                catch (Exception e)
                {
                    failed++;
                    result = new ScenarioResult(scenario.Name, scenario.Title);
                    result.Notes.Add($"FAILED: {e.GetType().Name}: {e.Message}");
                    Console.WriteLine($"  FAILED: {e}");
                }
                result.Notes.Add($"Scenario time: {started.Elapsed.TotalSeconds:0.0} s.");
                result.Write(resultsDirectory, run);
                results.Add(result);
                Console.WriteLine();
                Console.WriteLine(result.ToMarkdown());
            }
        }
        finally
        {
            ExitGuard.KillAll();
        }
        if (scenarios.Count == s_scenarios.Length)
            WriteTables(resultsDirectory, run, results, clock.Elapsed);
        Console.WriteLine($"Done in {clock.Elapsed.TotalSeconds:0} s; {failed} scenario(s) failed. Results: {resultsDirectory}");
        return failed == 0 ? 0 : 1;
    }

    private static int RunWorker(string name, string[] args) => name switch
    {
        "contention" => ContentionScenario.Worker(args),
        "notify" => NotificationScenario.Worker(args),
        _ => Fail($"Unknown worker '{name}'."),
    };

    private static void PrintHelp()
    {
        Console.WriteLine("""
            Tosc.Benchmarks: Tosc against the raw backend primitives and hand-written code, in one run.

            Usage: dotnet run -c Release --project bench/Tosc.Benchmarks -- [options]

              --quick                  run every scenario briefly (under 2 minutes; what CI runs)
              --scenario NAME[,NAME]   run only these scenarios
              --backends LIST          any of inproc,file,redis,blob,etcd,postgres,redis-cluster (default: all but
                                       redis-cluster; a backend whose server cannot start is reported as skipped;
                                       redis-cluster, 3 masters and 3 replicas, runs commit, graphsize and
                                       contention only)
              --out DIR                where result files go (default: bench/results, or
                                       bench/results/quick with --quick)
              --help                   this text

            redis-server (one, or six for redis-cluster), etcd, PostgreSQL and Azurite (azurite-blob) are started on free 127.0.0.1 ports and stopped at the end.

            Scenarios:
            """);
        foreach (var scenario in s_scenarios)
            Console.WriteLine($"  {scenario.Name,-12} {scenario.Title}");
    }

    private static int Fail(string message)
    {
        Console.Error.WriteLine(message);
        return 2;
    }

    private static string DefaultResultsDirectory(bool quick)
    {
        var root = FindRepositoryRoot(Directory.GetCurrentDirectory()) ?? FindRepositoryRoot(AppContext.BaseDirectory) ?? Directory.GetCurrentDirectory();
        var results = Path.Combine(root, "bench", "results");
        return quick ? Path.Combine(results, "quick") : results;
    }

    private static string? FindRepositoryRoot(string start)
    {
        for (var directory = new DirectoryInfo(start); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Tosc.sln")))
                return directory.FullName;
        }
        return null;
    }

    private static bool IsDebugBuild() =>
        typeof(Program).Assembly.GetCustomAttribute<DebuggableAttribute>()?.IsJITOptimizerDisabled == true;

    /// <summary>All tables of a complete run in one Markdown file, for BENCHMARKS.md.</summary>
    private static void WriteTables(string directory, RunInfo run, List<ScenarioResult> results, TimeSpan elapsed)
    {
        var text = new StringBuilder();
        text.AppendLine($"Run: {run.Started:yyyy-MM-dd HH:mm zzz}, {(run.Quick ? "quick" : "full")} mode, {elapsed.TotalMinutes:0.0} min.");
        text.AppendLine($"Machine: {run.Machine}.");
        foreach (var result in results)
        {
            text.AppendLine();
            text.AppendLine($"### {result.Name}: {result.Title}");
            text.AppendLine();
            text.Append(result.ToMarkdown());
        }
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "tables.md"), text.ToString());
    }
}
