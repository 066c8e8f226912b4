using System.Diagnostics;
using System.Globalization;
using Tosc.Benchmarks.Harness;

namespace Tosc.Benchmarks.Scenarios;

/// <summary>
/// Scenario 5: 1..8 writers, each with its own manager (threads of this process; and processes for file and
/// Redis), incrementing one counter, or each its own key of one dictionary, through <c>manager.Run</c>.
/// </summary>
internal sealed class ContentionScenario : IScenario
{
    public string Name => "contention";

    public string Title => "Contention: 1, 2, 4, 8 writers (threads; processes for file/redis), one counter vs distinct keys";

    public ScenarioResult Run(Bench bench)
    {
        var result = new ScenarioResult(Name, Title);
        var writerCounts = bench.Pick(new[] { 1, 2, 4, 8 }, [1, 4]);
        var duration = TimeSpan.FromMilliseconds(bench.Pick(2000, 400));
        foreach (var kind in bench.Backends)
        {
            var modes = kind is BackendKind.File or BackendKind.Redis ? new[] { "threads", "processes" } : ["threads"];
            foreach (var mode in modes)
            {
                // Quick runs start worker processes for one cell per backend only: enough to check the path works.
                var quickProcesses = bench.Quick && mode == "processes";
                foreach (var distinct in quickProcesses ? [false] : new[] { false, true })
                {
                    double? single = null;
                    foreach (var writers in quickProcesses ? [2] : writerCounts)
                    {
                        using var store = bench.Environment.NewStore(kind, "contention");
                        using (var setup = new Manager(store.Open(), new ManagerOptions { WatchForChanges = false }))
                            setup.Write(InitialDoc());
                        var (commits, attempts, failures, seconds) = mode == "threads"
                            ? RunThreads(store, writers, distinct, duration)
                            : RunProcesses(store, writers, distinct, duration);
                        var perSecond = commits / seconds;
                        if (writers == 1)
                            single = perSecond;
                        result.Add(new Row()
                            .Add("backend", Bench.Name(kind))
                            .Add("mode", mode)
                            .Add("variant", distinct ? "distinct keys" : "one counter")
                            .Add("writers", writers)
                            .Add("commits_per_s", perSecond)
                            .Add("attempts_per_commit", commits == 0 ? double.NaN : attempts / (double)commits)
                            .Add("vs_1_writer", single is { } one ? Measure.Ratio(perSecond, one) : double.NaN)
                            .Add("gave_up", failures));
                    }
                }
            }
        }
        bench.NoteSkipped(result);
        result.Notes.Add("Each writer loops `manager.Run(() => doc.Counters[key]++, retries: 1000)` for the whole period; one counter: all use key \"n\"; distinct keys: writer i uses \"w{i}\".");
        result.Notes.Add("Commits compare-and-swap the whole state, so distinct keys conflict as much as one counter (merge before rerun is future work, see DESIGN.md §8).");
        result.Notes.Add("vs_1_writer: successful commits/s relative to one writer (throughput ratio). gave_up: Run calls that ran out of retries. Retries back off exponentially from 2 ms with jitter (ManagerOptions defaults).");
        result.Notes.Add($"Duration {duration.TotalSeconds:0.#} s per cell. Threads: one manager and one backend instance per thread (in-process: one shared InprocBackend).");
        return result;
    }

    private static Doc InitialDoc()
    {
        var doc = new Doc();
        doc.Counters["n"] = 0;
        for (var i = 0; i < 8; i++)
            doc.Counters[$"w{i}"] = 0;
        return doc;
    }

    private static (long Commits, long Attempts, long Failures, double Seconds) RunThreads(Store store, int writers, bool distinct, TimeSpan duration)
    {
        long commits = 0, attempts = 0, failures = 0;
        using var ready = new CountdownEvent(writers);
        using var go = new ManualResetEventSlim();
        var stop = false;
        var threads = Enumerable.Range(0, writers).Select(id => new Thread(() =>
        {
            using var manager = new Manager(store.Open());
            var doc = manager.Read<Doc>();
            var key = distinct ? $"w{id}" : "n";
            ready.Signal();
            go.Wait();
            while (!Volatile.Read(ref stop))
            {
                try
                {
                    manager.Run(() =>
                    {
                        Interlocked.Increment(ref attempts);
                        doc.Counters[key]++;
                    }, retries: 1000);
                    Interlocked.Increment(ref commits);
                }
                catch (TransactionRetryException)
                {
                    Interlocked.Increment(ref failures);
                }
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        ready.Wait();
        var clock = Stopwatch.StartNew();
        go.Set();
        Thread.Sleep(duration);
        Volatile.Write(ref stop, true);
        var counted = (Interlocked.Read(ref commits), Interlocked.Read(ref attempts), Interlocked.Read(ref failures), clock.Elapsed.TotalSeconds);
        threads.ForEach(t => t.Join());
        return counted;
    }

    private static (long Commits, long Attempts, long Failures, double Seconds) RunProcesses(Store store, int writers, bool distinct, TimeSpan duration)
    {
        var workers = Enumerable.Range(0, writers)
            .Select(id => WorkerProcess.Start("contention", store.Spec, distinct ? "1" : "0", id.ToString(CultureInfo.InvariantCulture), ((int)duration.TotalMilliseconds).ToString(CultureInfo.InvariantCulture)))
            .ToList();
        try
        {
            foreach (var worker in workers)
                worker.Expect("ready", TimeSpan.FromSeconds(60));
            foreach (var worker in workers)
                worker.Send("go");
            long commits = 0, attempts = 0, failures = 0;
            foreach (var worker in workers)
            {
                var parts = worker.Expect("done", duration + TimeSpan.FromSeconds(60)).Split(' ');
                commits += long.Parse(parts[1], CultureInfo.InvariantCulture);
                attempts += long.Parse(parts[2], CultureInfo.InvariantCulture);
                failures += long.Parse(parts[3], CultureInfo.InvariantCulture);
            }
            return (commits, attempts, failures, duration.TotalSeconds);
        }
        finally
        {
            workers.ForEach(w => w.Dispose());
        }
    }

    /// <summary>The worker process: <c>--worker contention SPEC DISTINCT ID MILLISECONDS</c>.</summary>
    public static int Worker(string[] args)
    {
        using var store = Store.FromSpec(args[0]);
        var distinct = args[1] == "1";
        var key = distinct ? $"w{args[2]}" : "n";
        var duration = TimeSpan.FromMilliseconds(int.Parse(args[3], CultureInfo.InvariantCulture));
        using var manager = new Manager(store.Open());
        var doc = manager.Read<Doc>();
        manager.Run(() => doc.Counters[key] += 0); // warm up (JIT, connection) before the clock starts
        Console.WriteLine("ready");
        if (Console.ReadLine() != "go")
            return 1;
        long commits = 0, attempts = 0, failures = 0;
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < duration)
        {
            try
            {
                manager.Run(() =>
                {
                    attempts++;
                    doc.Counters[key]++;
                }, retries: 1000);
                commits++;
            }
            catch (TransactionRetryException)
            {
                failures++;
            }
        }
        Console.WriteLine($"done {commits} {attempts} {failures}");
        return 0;
    }
}
