using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;

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
internal sealed class ProcessWorker(int slot, StoreSpec store, string directory, int seed, double lostReplies) : IWorkerHandle
{
    private Process? _process;
    private BlockingCollection<string> _lines = [];
    private volatile bool _ready;

    public string Name { get; private set; } = "";

    public bool IsAlive => _process is { HasExited: false };

    public bool IsReady => _ready && IsAlive;

    public int Starts { get; private set; }

    public void Start()
    {
        _process?.Dispose();
        Starts++;
        Name = string.Create(CultureInfo.InvariantCulture, $"w{slot}i{Starts}");
        var info = new ProcessStartInfo("dotnet")
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        info.ArgumentList.Add("exec");
        info.ArgumentList.Add(typeof(Program).Assembly.Location);
        foreach (var arg in new[]
        {
            "--worker", "--name", Name, "--backend", store.Backend, "--store", store.Location, "--dir", directory,
            "--seed", (seed + (slot * 7919) + (Starts * 104729)).ToString(CultureInfo.InvariantCulture),
            "--lost-replies", lostReplies.ToString(CultureInfo.InvariantCulture),
        })
        {
            info.ArgumentList.Add(arg);
        }
        var lines = _lines = [];
        _ready = false;
        var errors = new StreamWriter(Path.Combine(directory, $"worker-{Name}.err"), append: true) { AutoFlush = true };
        var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                lines.CompleteAdding();
                return;
            }
            if (e.Data == "READY")
                _ready = true;
            lines.Add(e.Data);
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                lock (errors)
                    errors.Dispose();
                return;
            }
            lock (errors)
                errors.WriteLine(e.Data);
        };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
    }

    public void Kill()
    {
        if (_process is not { HasExited: false } process)
            return;
        try
        {
            process.Kill(); // SIGKILL: no chance to finish a commit or a journal line
        }
        catch (InvalidOperationException)
        {
        }
        process.WaitForExit(TimeSpan.FromSeconds(30));
    }

    public void RequestStop() => Send("stop");

    public bool WaitStopped(TimeSpan deadline) => WaitForLine("STOPPED", deadline) is not null;

    public (bool Converged, string Version, string Digest)? Converge(long? version, TimeSpan deadline)
    {
        Send("converge " + (version?.ToString(CultureInfo.InvariantCulture) ?? "none"));
        var line = WaitForLine("CONVERGED", deadline, "DIVERGED");
        if (line is null)
            return null;
        var parts = line.Split(' ');
        return (parts[0] == "CONVERGED", parts[1], parts[2]);
    }

    public void Dispose()
    {
        Send("exit");
        if (_process is { } process)
        {
            if (!process.WaitForExit(TimeSpan.FromSeconds(15)))
                Kill();
            process.Dispose();
        }
        _lines.Dispose();
    }

    private void Send(string line)
    {
        try
        {
            if (IsAlive)
            {
                _process!.StandardInput.WriteLine(line);
                _process.StandardInput.Flush();
            }
        }
        catch (IOException)
        {
            // It died meanwhile.
        }
    }

    private string? WaitForLine(string prefix, TimeSpan deadline, string? alternative = null)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < deadline)
        {
            try
            {
                if (_lines.TryTake(out var line, TimeSpan.FromMilliseconds(200)))
                {
                    if (line.StartsWith(prefix, StringComparison.Ordinal) || (alternative is not null && line.StartsWith(alternative, StringComparison.Ordinal)))
                        return line;
                }
                else if (_lines.IsCompleted)
                {
                    return null;
                }
            }
            catch (ObjectDisposedException)
            {
                return null;
            }
        }
        return null;
    }
}

/// <summary>
/// An in-process worker for the inproc backend: a thread with its own manager over the runner's one store.
/// A kill cancels it and disposes its manager at once, mid-transaction or mid-commit.
/// </summary>
internal sealed class ThreadWorker(int slot, StoreSpec store, InprocBackend shared, string directory, int seed, double lostReplies) : IWorkerHandle
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
        IBackend backend = store.Open(shared);
        if (lostReplies > 0)
            backend = new LostReplyBackend(backend, lostReplies, workerSeed, journal.LostReply);
        var control = _control = new WorkerControl();
        var manager = _manager = new Manager(backend, WorkerMain.WorkerOptions(null));
        var root = _root = manager.ReadOrInitialize(() => new ChaosState());
        var worker = new Worker(manager, root, journal, Name, workerSeed, control);
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
