using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Tosc.Testing;

namespace Tosc.Chaos;

/// <summary>
/// The entry points of the child processes: a worker (<c>--worker</c>) and, for the file backend, a process that
/// takes the store's lock file and waits to be killed while holding it (<c>--hold-lock</c>).
/// </summary>
/// <remarks>
/// A worker prints READY once its manager is up, then runs transactions until it reads "stop" on its standard input;
/// it prints STOPPED, waits for "converge VERSION", waits (watching only, no refresh) until its live objects show that
/// version and prints "CONVERGED version digest", then exits on "exit" or when its input closes.
/// </remarks>
internal static class WorkerMain
{
    public static async Task<int> RunWorkerAsync(Arguments arguments)
    {
        var name = arguments.Required("name");
        var spec = new StoreSpec(arguments.Required("backend"), arguments.Required("store"));
        var directory = arguments.Required("dir");
        var seed = int.Parse(arguments.Required("seed"), CultureInfo.InvariantCulture);
        var lostReplies = double.Parse(arguments.Get("lost-replies") ?? "0", CultureInfo.InvariantCulture);

        using var journal = new JournalWriter(Path.Combine(directory, $"journal-{name}.log"));
        IBackend backend;
        try
        {
            backend = spec.Open();
        }
        catch (BackendException e)
        {
            // The server is down (being restarted): the runner starts this worker again later.
            await Console.Error.WriteLineAsync($"{name}: cannot open the store yet: {e.Message}");
            return 2;
        }
        if (lostReplies > 0)
            backend = LostReplyBackend.Random(backend, lostReplies, seed, journal.LostReply, ownsInner: true);
        using var owned = backend;
        var control = new WorkerControl();
        var commands = new Commands(control);
        await using var manager = new Manager(backend, WorkerOptions(new StderrLogger(name)));
        ChaosState root;
        try
        {
            root = manager.ReadOrInitialize(() => new ChaosState());
        }
        catch (BackendException e)
        {
            await Console.Error.WriteLineAsync($"{name}: cannot read the store yet: {e.Message}");
            return 2;
        }
        Console.WriteLine("READY");
        commands.Start();

        using var meters = new ToscMeters();
        using var report = new Timer(_ => journal.Meters(meters.Conflicts, meters.Retries), null, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(2));
        var worker = new Worker(manager, root, journal, name, seed, control, arguments.Has("contention"));
        await worker.RunAsync();
        await report.DisposeAsync();
        journal.Meters(meters.Conflicts, meters.Retries);
        Console.WriteLine($"STOPPED {worker.Commits}");

        var target = await commands.ConvergeTo.Task;
        var (converged, version) = WaitForVersion(manager, target, TimeSpan.FromSeconds(60));
        Console.WriteLine($"{(converged ? "CONVERGED" : "DIVERGED")} {version?.ToString(CultureInfo.InvariantCulture) ?? "none"} {Model.Digest(root)}");
        await commands.Exit.Task;
        return 0;
    }

    /// <summary>Takes the lock file the file backend commits under, says LOCKED, and holds it until killed.</summary>
    public static int HoldLock(Arguments arguments)
    {
        var path = arguments.Required("hold-lock");
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                // The protocol FileBackend uses: an exclusive open (flock LOCK_EX on Linux), released when the holder dies.
                using var held = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, bufferSize: 0);
                Console.WriteLine("LOCKED");
                Thread.Sleep(Timeout.Infinite);
            }
            catch (IOException) when (clock.Elapsed < TimeSpan.FromSeconds(30))
            {
                Thread.Sleep(2);
            }
        }
    }

    public static ManagerOptions WorkerOptions(ILogger? logger) => new()
    {
        PollInterval = TimeSpan.FromMilliseconds(500),
        RetryBaseDelay = TimeSpan.FromMilliseconds(1),
        RetryMaxDelay = TimeSpan.FromMilliseconds(100),
        // Compaction under fire: on log backends a snapshot is written every few commits, so kills and lost replies
        // land in the middle of compactions too.
        CompactAfterRecords = 8,
        Logger = logger,
    };

    /// <summary>Waits, without refreshing, until the watcher has brought the manager to <paramref name="target"/>.</summary>
    public static (bool Converged, long? Version) WaitForVersion(Manager manager, long? target, TimeSpan deadline)
    {
        var clock = Stopwatch.StartNew();
        while (manager.Version != target && clock.Elapsed < deadline)
            Thread.Sleep(20);
        return (manager.Version == target, manager.Version);
    }

    /// <summary>Reads the runner's commands from standard input; a closed input means the runner is gone.</summary>
    private sealed class Commands(WorkerControl control)
    {
        public TaskCompletionSource<long?> ConvergeTo { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Exit { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Start() => new Thread(Loop) { IsBackground = true, Name = "commands" }.Start();

        private void Loop()
        {
            while (Console.In.ReadLine() is { } line)
            {
                var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                switch (parts.FirstOrDefault())
                {
                    case "stop":
                        control.RequestStop();
                        break;
                    case "converge":
                        ConvergeTo.TrySetResult(parts[1] == "none" ? null : long.Parse(parts[1], CultureInfo.InvariantCulture));
                        break;
                    case "exit":
                        Exit.TrySetResult();
                        return;
                }
            }
            // The runner died or closed our input: do not linger as an orphan.
            Environment.Exit(3);
        }
    }

    /// <summary>Sends the manager's warnings (watcher failures) to standard error, which the runner keeps per worker.</summary>
    internal sealed class StderrLogger(string name) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
                Console.Error.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} {name} {logLevel}: {formatter(state, exception)} {exception?.GetType().Name}: {exception?.Message}");
        }
    }
}
