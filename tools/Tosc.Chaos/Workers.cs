using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Tosc.Testing;

namespace Tosc.Chaos;

/// <summary>One worker slot of the run; each (re)start is a new incarnation with its own name and journal.</summary>
internal interface IWorkerHandle : IDisposable
{
    string Name { get; }

    bool IsAlive { get; }

    /// <summary>Whether the current incarnation printed READY (its manager is up).</summary>
    bool IsReady { get; }

    int Starts { get; }

    void Start();

    /// <summary>Kills the incarnation at once: SIGKILL for a process, cancel and dispose for a thread.</summary>
    void Kill();

    void RequestStop();

    bool WaitStopped(TimeSpan deadline);

    /// <summary>Waits until the incarnation's live objects show <paramref name="version"/>; returns what they show and their digest.</summary>
    (bool Converged, string Version, string Digest)? Converge(long? version, TimeSpan deadline);
}

/// <summary>A worker process: the runner's own assembly started with --worker.</summary>
internal sealed class ProcessWorker(int slot, StoreSpec store, string directory, int seed, double lostReplies, bool contention) : IWorkerHandle
{
    private ChildProcess? _process;
    private StreamWriter? _errors;
    private volatile bool _ready;

    public string Name { get; private set; } = "";

    public bool IsAlive => _process is { HasExited: false };

    public bool IsReady => _ready && IsAlive;

    public int Starts { get; private set; }

    public void Start()
    {
        DisposeProcess();
        Starts++;
        Name = string.Create(CultureInfo.InvariantCulture, $"w{slot}i{Starts}");
        string[] args =
        [
            "--worker", "--name", Name, "--backend", store.Backend, "--store", store.Location, "--dir", directory,
            "--seed", (seed + (slot * 7919) + (Starts * 104729)).ToString(CultureInfo.InvariantCulture),
            "--lost-replies", lostReplies.ToString(CultureInfo.InvariantCulture),
            .. (contention ? ["--contention"] : Array.Empty<string>()),
        ];
        _ready = false;
        _errors = new StreamWriter(Path.Combine(directory, $"worker-{Name}.err"), append: true) { AutoFlush = true };
        _process = ChildProcess.Start(typeof(Program).Assembly, args, line =>
        {
            if (line == "READY")
                _ready = true;
        }, _errors);
    }

    public void Kill() => _process?.Kill(); // SIGKILL: no chance to finish a commit or a journal line

    public void RequestStop() => _process?.TrySend("stop");

    public bool WaitStopped(TimeSpan deadline) => WaitForLine(deadline, "STOPPED") is not null;

    public (bool Converged, string Version, string Digest)? Converge(long? version, TimeSpan deadline)
    {
        _process?.TrySend("converge " + (version?.ToString(CultureInfo.InvariantCulture) ?? "none"));
        var line = WaitForLine(deadline, "CONVERGED", "DIVERGED");
        if (line is null)
            return null;
        var parts = line.Split(' ');
        return (parts[0] == "CONVERGED", parts[1], parts[2]);
    }

    public void Dispose() => DisposeProcess();

    private void DisposeProcess()
    {
        if (_process is { } process)
        {
            process.TrySend("exit");
            process.Stop(TimeSpan.FromSeconds(15));
            process.Dispose();
        }
        _process = null;
        if (_errors is { } errors)
        {
            lock (errors) // the child's last stderr lines may still be arriving
                errors.Dispose();
        }
        _errors = null;
    }

    private string? WaitForLine(TimeSpan deadline, params string[] prefixes) =>
        _process?.TryWaitForLine(line => prefixes.Any(prefix => line.StartsWith(prefix, StringComparison.Ordinal)), deadline);
}

/// <summary>
/// An in-process worker for the inproc backend: a thread with its own manager over the runner's one store.
/// A kill cancels it and disposes its manager at once, mid-transaction or mid-commit.
/// </summary>
internal sealed class ThreadWorker(int slot, StoreSpec store, InprocBackend shared, string directory, int seed, double lostReplies, bool contention) : IWorkerHandle
{
    private WorkerControl? _control;
    private Manager? _manager;
    private ChaosState? _root;
    private JournalWriter? _journal;
    private Thread? _thread;

    public string Name { get; private set; } = "";

    public bool IsAlive => _thread is { IsAlive: true };

    public bool IsReady => IsAlive;

    public int Starts { get; private set; }

    public void Start()
    {
        Starts++;
        Name = string.Create(CultureInfo.InvariantCulture, $"w{slot}i{Starts}");
        var workerSeed = seed + (slot * 7919) + (Starts * 104729);
        var journal = _journal = new JournalWriter(Path.Combine(directory, $"journal-{Name}.log"));
        // The default profile reaches the shared store through a plain IBackend, which keeps the whole-state commit
        // path under fire; the contention profile uses its operation log, as the built-in backends do (rebases, leases).
        IBackend backend = contention ? new ForwardingBackend(shared) : store.Open(shared);
        if (lostReplies > 0)
            backend = LostReplyBackend.Random(backend, lostReplies, workerSeed, journal.LostReply, ownsInner: true);
        var control = _control = new WorkerControl();
        var manager = _manager = new Manager(backend, WorkerMain.WorkerOptions(null));
        var root = _root = manager.ReadOrInitialize(() => new ChaosState());
        var worker = new Worker(manager, root, journal, Name, workerSeed, control, contention);
        _thread = new Thread(() =>
        {
            try
            {
                worker.RunAsync().GetAwaiter().GetResult();
            }
            catch (Exception e) when (control.Kill.IsCancellationRequested)
            {
                _ = e; // torn down mid-step: expected
            }
            catch (Exception e)
            {
                journal.Error($"{e.GetType().FullName}: {e.Message}");
            }
        })
        { IsBackground = true, Name = Name };
        _thread.Start();
    }

    public void Kill()
    {
        if (_control is null)
            return;
        _control.Kill.Cancel();
        _manager?.Dispose();
        _thread?.Join(TimeSpan.FromSeconds(30));
        _journal?.Dispose();
        _control = null;
    }

    public void RequestStop() => _control?.RequestStop();

    public bool WaitStopped(TimeSpan deadline) => _thread?.Join(deadline) ?? false;

    public (bool Converged, string Version, string Digest)? Converge(long? version, TimeSpan deadline)
    {
        if (_manager is null || _root is null)
            return null;
        var (converged, seen) = WorkerMain.WaitForVersion(_manager, version, deadline);
        return (converged, seen?.ToString(CultureInfo.InvariantCulture) ?? "none", Model.Digest(_root));
    }

    public void Dispose()
    {
        _manager?.Dispose();
        _journal?.Dispose();
    }
}
