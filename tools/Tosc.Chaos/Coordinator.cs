using Tosc.Testing;
using System.Diagnostics;
using System.Globalization;

namespace Tosc.Chaos;

/// <summary>
/// Runs one chaos session: sets up the store (and its server), starts the workers, injects faults while they run,
/// stops them, checks that their managers converge, and verifies the store against every journal.
/// </summary>
internal sealed class Coordinator(RunOptions options)
{
    private readonly Random _random = new(options.Seed);
    private readonly Dictionary<string, int> _faults = new(StringComparer.Ordinal);
    private readonly List<IWorkerHandle> _workers = [];
    private string _directory = "";
    private IServer? _server;
    private StoreSpec? _store;
    private InprocBackend? _shared;
    private int _restarts;
    private ToscMeters? _meters;

    public async Task<int> RunAsync()
    {
        _directory = options.Directory ?? Directory.CreateTempSubdirectory($"tosc-chaos-{options.Backend}-").FullName;
        Directory.CreateDirectory(_directory);
        Console.WriteLine($"chaos: backend={options.Backend} workers={options.Workers} load={options.Load.TotalSeconds:0}s seed={options.Seed} " +
            $"lost-replies={options.LostReplies.ToString(CultureInfo.InvariantCulture)} faults={(options.Faults ? "on" : "off")} dir={_directory}");
        var clock = Stopwatch.StartNew();
        // Ctrl+C: take the servers and workers down with the runner instead of leaving them behind.
        Console.CancelKeyPress += (_, _) => TearDown();
        int failed;
        try
        {
            _store = SetUpStore();
            if (options.Backend == "inproc")
                _meters = new ToscMeters(); // in-process workers: this process's meter is theirs
            Initialize();
            for (var slot = 1; slot <= options.Workers; slot++)
            {
                IWorkerHandle worker = options.Backend == "inproc"
                    ? new ThreadWorker(slot, _store, _shared!, _directory, options.Seed, options.LostReplies, options.Contention)
                    : new ProcessWorker(slot, _store, _directory, options.Seed, options.LostReplies, options.Contention);
                worker.Start();
                _workers.Add(worker);
            }
            WaitForWorkersReady(TimeSpan.FromSeconds(60));

            var loadClock = Stopwatch.StartNew();
            var quiet = options.Short ? TimeSpan.FromSeconds(4) : TimeSpan.FromSeconds(10);
            Load(options.Load - quiet, faults: options.Faults);
            _server?.EnsureRunning();
            var quietStart = Stopwatch.GetTimestamp();
            Load(quiet, faults: false);
            var loadTime = loadClock.Elapsed;

            var (live, hung) = Stop();
            var (state, version, size) = ReadFinalState();
            var convergence = Converge(live, version, state is null ? "" : Model.Digest(state));
            foreach (var worker in _workers)
                worker.Dispose();
            _workers.Clear();

            var journals = JournalSet.Read(_directory);
            var checks = new Checks(journals, state, convergence, hung, quietStart);
            var results = checks.Run();
            checks.Figures.ToscConflicts = journals.Conflicts + (_meters?.Conflicts ?? 0);
            checks.Figures.ToscRetries = journals.Retries + (_meters?.Retries ?? 0);
            foreach (var (passed, name, detail) in results)
                Console.WriteLine($"{(passed ? "PASS" : "FAIL")} {name}: {detail}");
            PrintFigures(checks, loadTime, clock.Elapsed, version, size);
            failed = results.Count(r => !r.Passed);
            Console.WriteLine($"{results.Count - failed} passed, {failed} failed");
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException or BackendException or IOException)
        {
            Console.WriteLine($"FAIL run: {e.GetType().Name}: {e.Message}");
            Console.WriteLine("0 passed, 1 failed");
            failed = 1;
        }
        finally
        {
            TearDown();
        }
        if (failed == 0 && !options.Keep)
            TryDelete(_directory);
        else
            Console.WriteLine($"journals kept in {_directory}");
        await Console.Out.FlushAsync();
        return failed == 0 ? 0 : 1;
    }

    private void TearDown()
    {
        lock (_workers)
        {
            foreach (var worker in _workers)
            {
                worker.Kill();
                worker.Dispose();
            }
            _workers.Clear();
            _server?.Dispose();
            _server = null;
            _shared?.Dispose();
            _meters?.Dispose();
        }
    }

    private StoreSpec SetUpStore()
    {
        var run = Guid.NewGuid().ToString("N")[..8];
        switch (options.Backend)
        {
            case "inproc":
                _shared = new InprocBackend();
                return new StoreSpec("inproc", "memory");
            case "file":
                return new StoreSpec("file", Path.Combine(_directory, "state.tosc"));
            case "redis":
                var redis = RedisServer.Start(durable: true, directory: Path.Combine(_directory, "redis"));
                _server = new CrashingServer(redis, redis.Description, () => redis.IsRunning);
                return new StoreSpec("redis", $"{redis.Configuration}|chaos-{run}");
            case "redis-cluster":
                var cluster = new RedisChaosCluster($"tosc:chaos-{run}");
                _server = cluster;
                return new StoreSpec("redis-cluster", $"{cluster.Configuration}|chaos-{run}");
            case "etcd":
                var etcd = new EtcdChaosCluster();
                _server = etcd;
                return new StoreSpec("etcd", $"{etcd.Endpoints}|chaos-{run}");
            case "postgres":
                var postgres = PostgresServer.Start();
                _server = new CrashingServer(postgres, postgres.Description, () => postgres.IsRunning);
                return new StoreSpec("postgres", $"{postgres.ConnectionString};Timeout=3|chaos-{run}");
            default:
                var azurite = new RestartableAzurite(Path.Combine(_directory, "azurite"));
                _server = azurite;
                return new StoreSpec("blob", $"{azurite.ConnectionString}|chaos{run}|state");
        }
    }

    /// <summary>Stores the empty state before the workers start, so none of them races to initialize.</summary>
    private void Initialize()
    {
        using var backend = _store!.Open(_shared);
        using var manager = new Manager(backend, new ManagerOptions { WatchForChanges = false });
        manager.ReadOrInitialize(() => new ChaosState());
    }

    private void WaitForWorkersReady(TimeSpan deadline)
    {
        var clock = Stopwatch.StartNew();
        while (!_workers.All(w => w.IsReady))
        {
            if (clock.Elapsed > deadline)
                throw new TimeoutException($"Workers {string.Join(", ", _workers.Where(w => !w.IsReady).Select(w => w.Name))} did not start within {deadline.TotalSeconds:0} s; see {_directory}/worker-*.err.");
            Supervise();
            Thread.Sleep(50); // polling interval of a deadline wait
        }
    }

    /// <summary>Lets the workers run for <paramref name="duration"/>, restarting dead ones and injecting faults at random intervals.</summary>
    private void Load(TimeSpan duration, bool faults)
    {
        var clock = Stopwatch.StartNew();
        var nextFault = NextFaultDelay();
        while (clock.Elapsed < duration)
        {
            Thread.Sleep(100); // the supervision tick
            Supervise();
            if (faults && clock.Elapsed >= nextFault)
            {
                InjectFault();
                nextFault = clock.Elapsed + NextFaultDelay();
            }
        }
    }

    private TimeSpan NextFaultDelay() => options.Short
        ? TimeSpan.FromMilliseconds(_random.Next(1500, 3500))
        : TimeSpan.FromMilliseconds(_random.Next(3000, 10000));

    /// <summary>Starts workers that died (killed, or exited because the server was down when they started).</summary>
    private void Supervise()
    {
        foreach (var worker in _workers.Where(w => !w.IsAlive))
        {
            _restarts++;
            worker.Start();
        }
    }

    private void InjectFault()
    {
        var kinds = new List<string> { "kill-worker", "kill-worker" };
        if (options.Backend == "file")
            kinds.Add("kill-lock-holder");
        if (_server is not null)
            kinds.Add("restart-server");
        var kind = kinds[_random.Next(kinds.Count)];
        switch (kind)
        {
            case "kill-worker":
                var alive = _workers.Where(w => w.IsReady).ToList();
                if (alive.Count == 0)
                    return;
                alive[_random.Next(alive.Count)].Kill();
                break;
            case "kill-lock-holder":
                HoldLockAndDie();
                break;
            case "restart-server":
                _server!.Restart(TimeSpan.FromMilliseconds(_random.Next(200, 1500)));
                break;
        }
        _faults[kind] = _faults.GetValueOrDefault(kind) + 1;
    }

    /// <summary>Starts a process that takes the store's lock file, lets it hold the lock a while, and SIGKILLs it.</summary>
    private void HoldLockAndDie()
    {
        var info = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add("exec");
        info.ArgumentList.Add(typeof(Program).Assembly.Location);
        info.ArgumentList.Add("--hold-lock");
        info.ArgumentList.Add(_store!.Location + ".lock");
        using var holder = Process.Start(info)!;
        var locked = holder.StandardOutput.ReadLineAsync();
        if (locked.Wait(TimeSpan.FromSeconds(30)) && locked.Result == "LOCKED")
            Thread.Sleep(_random.Next(300, 2000)); // everyone else's commits wait on the lock meanwhile
        holder.Kill();
        holder.WaitForExit();
    }

    /// <summary>
    /// Tells every worker to stop; returns those that did (their managers stay up for the convergence check) and the
    /// names of those still running a minute and a half later (a hang), which are then killed.
    /// </summary>
    private (List<IWorkerHandle> Stopped, List<string> Hung) Stop()
    {
        foreach (var worker in _workers)
            worker.RequestStop();
        var stopped = new List<IWorkerHandle>();
        var hung = new List<string>();
        foreach (var worker in _workers)
        {
            if (worker.WaitStopped(TimeSpan.FromSeconds(90)))
            {
                stopped.Add(worker);
            }
            else if (worker.IsAlive)
            {
                hung.Add(worker.Name);
                worker.Kill();
            }
        }
        return (stopped, hung);
    }

    private (ChaosState? State, long? Version, int Size) ReadFinalState()
    {
        _server?.EnsureRunning();
        using var backend = _store!.Open(_shared);
        var stored = backend.Read();
        using var manager = new Manager(backend, new ManagerOptions { WatchForChanges = false });
        try
        {
            manager.Read<ChaosState>();
            return (manager.Snapshot<ChaosState>(), manager.Version, stored?.Data.Length ?? 0);
        }
        catch (ToscDataException e)
        {
            Console.WriteLine($"the final store does not decode: {e.Message}");
            return (null, stored?.Version, stored?.Data.Length ?? 0);
        }
    }

    private List<Convergence> Converge(List<IWorkerHandle> live, long? version, string digest)
    {
        var results = new List<Convergence>();
        foreach (var worker in live)
        {
            var seen = worker.Converge(version, TimeSpan.FromSeconds(60));
            results.Add(seen is { } s
                ? new Convergence(worker.Name, s.Converged && s.Digest == digest, $"{s.Version} {s.Digest}")
                : new Convergence(worker.Name, false, "no answer"));
        }
        return results;
    }

    private void PrintFigures(Checks checks, TimeSpan load, TimeSpan total, long? version, int size)
    {
        var f = checks.Figures;
        var faults = _faults.Count == 0 ? "none" : string.Join(", ", _faults.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}={p.Value}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"figures: transactions={f.Started} acknowledged={f.Acknowledged} landed-unacknowledged={f.LandedUnacknowledged} " +
            $"lost-unacknowledged={f.NotLanded} failed={f.Failed} rolled-back={f.RolledBack} conflicts={f.ToscConflicts} retries={f.ToscRetries} " +
            $"commits/s={f.Acknowledged / Math.Max(load.TotalSeconds, 1):0.0}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"faults: {faults}, lost-replies={f.LostReplies}, worker-incarnations={f.Incarnations}, worker-restarts={_restarts}, " +
            $"final-version={version?.ToString(CultureInfo.InvariantCulture) ?? "none"} state-bytes={size} appends={f.Appends} " +
            $"duration={total.TotalSeconds:0.0}s load={load.TotalSeconds:0.0}s"));
    }

    private static void TryDelete(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}

internal sealed record Convergence(string Worker, bool Converged, string Detail);
