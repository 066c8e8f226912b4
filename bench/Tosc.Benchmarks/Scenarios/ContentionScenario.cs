using System.Diagnostics;
using System.Globalization;
using Tosc.Benchmarks.Harness;

namespace Tosc.Benchmarks.Scenarios;

/// <summary>
/// Scenario 5: 1..8 writers, each with its own manager (threads of this process; and processes for file, Redis
/// (one server or a cluster), etcd and PostgreSQL), with default options, all incrementing one counter (a long: read, then written), all incrementing one
/// <see cref="DCounter"/> (increments merge), or each writing its own key of one dictionary, through <c>manager.Run</c>.
/// </summary>
internal sealed class ContentionScenario : IScenario
{
    private static readonly string[] s_variants = ["one counter", "DCounter", "distinct keys"];

    public string Name => "contention";

    public string Title => "Contention: 1, 2, 4, 8 writers (threads; processes for file/redis/etcd/postgres/redis-cluster), one counter vs DCounter vs distinct keys, default options";

    public ScenarioResult Run(Bench bench)
    {
        var result = new ScenarioResult(Name, Title);
        var writerCounts = bench.Pick(new[] { 1, 2, 4, 8 }, [1, 4]);
        var duration = TimeSpan.FromMilliseconds(bench.Pick(2000, 400));
        foreach (var kind in bench.BackendsWithCluster)
        {
            var modes = kind is BackendKind.File or BackendKind.Redis or BackendKind.Etcd or BackendKind.Postgres or BackendKind.RedisCluster ? new[] { "threads", "processes" } : ["threads"];
            foreach (var mode in modes)
            {
                // Quick runs start worker processes for one cell per backend only: enough to check the path works.
                var quickProcesses = bench.Quick && mode == "processes";
                foreach (var variant in quickProcesses ? ["one counter"] : s_variants)
                {
                    double? single = null;
                    foreach (var writers in quickProcesses ? [2] : writerCounts)
                    {
                        using var store = bench.Environment.NewStore(kind, "contention");
                        using (var setup = new Manager(store.Open(), new ManagerOptions { WatchForChanges = false }))
                            setup.Write(InitialDoc());
                        var tally = mode == "threads"
                            ? RunThreads(store, writers, variant, duration)
                            : RunProcesses(store, writers, variant, duration);
                        var perSecond = tally.Commits / tally.Seconds;
                        if (writers == 1)
                            single = perSecond;
                        result.Add(new Row()
                            .Add("backend", Bench.Name(kind))
                            .Add("mode", mode)
                            .Add("variant", variant)
                            .Add("writers", writers)
                            .Add("commits_per_s", perSecond)
                            .Add("vs_1_writer", single is { } one ? Measure.Ratio(perSecond, one) : double.NaN)
                            .Add("reruns_per_commit", PerCommit(tally.Attempts - tally.Commits - tally.Failures, tally.Commits))
                            .Add("rebases_per_commit", PerCommit(tally.Rebases, tally.Commits))
                            .Add("leases_per_commit", PerCommit(tally.Leases, tally.Commits))
                            .Add("gave_up", tally.Failures));
                    }
                }
            }
        }
        bench.NoteSkipped(result, ranOnCluster: true);
        result.Notes.Add("Each writer loops `manager.Run(body)` with default options (10 retries) for the whole period. one counter: `doc.Counters[\"n\"]++` (reads then writes one long); DCounter: `doc.Merged.Increment()` (reads nothing); distinct keys: writer i does `doc.Counters[\"w{i}\"] = ++mine` (writes a key no one else writes, reads nothing shared).");
        result.Notes.Add("A commit that loses the compare-and-swap is checked against the records that won: nothing it read changed, it is replayed on top (a rebase, the body is not rerun); else the body reruns. A Run that conflicted twice, or a commit rebased three times, appends a lease record and commits next (leases_per_commit); its next commits, up to 64 within 100 ms, carry a short lease of their own (a turn), and a Run that waited out another's turn asks for the next one.");
        result.Notes.Add("vs_1_writer: successful commits/s relative to one writer of the same variant (throughput ratio). reruns_per_commit: bodies run again after a conflict. gave_up: Run calls that ran out of retries.");
        result.Notes.Add("Before the clock starts, every writer runs its own loop, uncounted, until the JIT has settled (no method compiled for 250 ms; at most 20 s): cells measure steady state, not start-up compilation.");
        result.Notes.Add($"Duration {duration.TotalSeconds:0.#} s per cell. Threads: one manager and one backend instance per thread (in-process: one shared InprocBackend).");
        return result;
    }

    private static double PerCommit(long count, long commits) => commits == 0 ? double.NaN : count / (double)commits;

    private static Doc InitialDoc()
    {
        var doc = new Doc();
        doc.Counters["n"] = 0;
        for (var i = 0; i < 8; i++)
            doc.Counters[$"w{i}"] = 0;
        return doc;
    }

    /// <summary>One writer's loop: commits until <paramref name="until"/> says stop.</summary>
    private static (long Commits, long Attempts, long Failures) Write(Manager manager, string variant, int id, Func<bool> until)
    {
        var doc = manager.Read<Doc>();
        var own = $"w{id}";
        long commits = 0, attempts = 0, failures = 0, mine = 0;
        Action body = variant switch
        {
            "DCounter" => () => { attempts++; doc.Merged.Increment(); },
            "distinct keys" => () => { attempts++; doc.Counters[own] = mine + 1; },
            _ => () => { attempts++; doc.Counters["n"]++; },
        };
        while (!until())
        {
            try
            {
                manager.Run(body);
                commits++;
                mine++;
            }
            catch (TransactionRetryException)
            {
                failures++;
            }
        }
        return (commits, attempts, failures);
    }

    /// <summary>
    /// Runs the writer's loop until the JIT has settled (no method compiled for a quarter of a second, after at least
    /// half a second; at most 20 s), so cells measure steady state: a worker process measured from its start spends
    /// its first seconds compiling (eight of them at once on two cores spent most of a 2 s cell there), and the first
    /// cell of a run would pay for the rest.
    /// </summary>
    private static void Warm(Manager manager, string variant, int id)
    {
        var clock = Stopwatch.StartNew();
        var compiled = System.Runtime.JitInfo.GetCompiledMethodCount();
        var settledAt = TimeSpan.FromMilliseconds(250);
        Write(manager, variant, id, () =>
        {
            if (clock.Elapsed < settledAt)
                return false;
            var now = System.Runtime.JitInfo.GetCompiledMethodCount();
            if (now == compiled && clock.Elapsed >= TimeSpan.FromMilliseconds(500) || clock.Elapsed >= TimeSpan.FromSeconds(20))
                return true;
            compiled = now;
            settledAt = clock.Elapsed + TimeSpan.FromMilliseconds(250);
            return false;
        });
    }

    private static Tally RunThreads(Store store, int writers, string variant, TimeSpan duration)
    {
        long commits = 0, attempts = 0, failures = 0;
        using var meters = new Tosc.Testing.ToscMeters();
        using var ready = new CountdownEvent(writers);
        using var go = new ManualResetEventSlim();
        var stop = false;
        var threads = Enumerable.Range(0, writers).Select(id => new Thread(() =>
        {
            using var manager = new Manager(store.Open());
            Warm(manager, variant, id);
            ready.Signal();
            go.Wait();
            var (c, a, f) = Write(manager, variant, id, () => Volatile.Read(ref stop));
            Interlocked.Add(ref commits, c);
            Interlocked.Add(ref attempts, a);
            Interlocked.Add(ref failures, f);
        })).ToList();
        threads.ForEach(t => t.Start());
        ready.Wait();
        meters.Reset();
        var clock = Stopwatch.StartNew();
        go.Set();
        Thread.Sleep(duration);
        Volatile.Write(ref stop, true);
        threads.ForEach(t => t.Join());
        // Commits finished after the stop count too, over the time they took.
        return new Tally(commits, attempts, failures, meters.Rebases, meters.Leases, clock.Elapsed.TotalSeconds);
    }

    private static Tally RunProcesses(Store store, int writers, string variant, TimeSpan duration)
    {
        var workers = Enumerable.Range(0, writers)
            .Select(id => WorkerProcess.Start("contention", store.Spec, variant.Replace(' ', '_'), id.ToString(CultureInfo.InvariantCulture), ((int)duration.TotalMilliseconds).ToString(CultureInfo.InvariantCulture)))
            .ToList();
        try
        {
            foreach (var worker in workers)
                worker.Expect("ready", TimeSpan.FromSeconds(60));
            foreach (var worker in workers)
                worker.Send("go");
            var total = new Tally(0, 0, 0, 0, 0, duration.TotalSeconds);
            foreach (var worker in workers)
            {
                var parts = worker.Expect("done", duration + TimeSpan.FromSeconds(60)).Split(' ').Skip(1).Select(p => long.Parse(p, CultureInfo.InvariantCulture)).ToArray();
                total = total with
                {
                    Commits = total.Commits + parts[0],
                    Attempts = total.Attempts + parts[1],
                    Failures = total.Failures + parts[2],
                    Rebases = total.Rebases + parts[3],
                    Leases = total.Leases + parts[4],
                };
            }
            return total;
        }
        finally
        {
            workers.ForEach(w => w.Dispose());
        }
    }

    /// <summary>The worker process: <c>--worker contention SPEC VARIANT ID MILLISECONDS</c>.</summary>
    public static int Worker(string[] args)
    {
        using var store = Store.FromSpec(args[0]);
        var variant = args[1].Replace('_', ' ');
        var id = int.Parse(args[2], CultureInfo.InvariantCulture);
        var duration = TimeSpan.FromMilliseconds(int.Parse(args[3], CultureInfo.InvariantCulture));
        using var manager = new Manager(store.Open());
        Warm(manager, variant, id);
        using var meters = new Tosc.Testing.ToscMeters();
        Console.WriteLine("ready");
        if (Console.ReadLine() != "go")
            return 1;
        meters.Reset();
        var clock = Stopwatch.StartNew();
        var (commits, attempts, failures) = Write(manager, variant, id, () => clock.Elapsed >= duration);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"done {commits} {attempts} {failures} {meters.Rebases} {meters.Leases}"));
        return 0;
    }

    private sealed record Tally(long Commits, long Attempts, long Failures, long Rebases, long Leases, double Seconds);
}
