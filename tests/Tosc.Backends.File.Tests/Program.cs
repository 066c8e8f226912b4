using System.Globalization;
using System.Text;
using Tosc.Testing;

namespace Tosc.Tests.Files;

/// <summary>
/// The test assembly is also the child process of the cross-process tests: <c>dotnet Tosc.Backends.File.Tests.dll worker NAME ARGS</c>.
/// Each worker prints what a test waits for, one line at a time.
/// </summary>
internal static class Program
{
    public static int Main(string[] args)
    {
        if (ContractWorker.Run(args, store => new FileBackend(store)) is { } contract)
            return contract;
        if (args.Length < 2 || args[0] != "worker")
            return 0;
        var rest = args[2..];
        switch (args[1])
        {
            case "hold-lock":
                return HoldLock(rest[0]);
            case "commit-loop":
                return CommitLoop(rest[0]);
            case "append-loop":
                return AppendLoop(rest[0]);
            case "increment":
                return Increment(rest[0], int.Parse(rest[1], CultureInfo.InvariantCulture));
            case "wait-change":
                return WaitChange(rest[0]);
            case "try-access":
                return TryAccess(rest[0]);
            case "manager-increment":
                return ManagerIncrement(rest[0], int.Parse(rest[1], CultureInfo.InvariantCulture));
            case "manager-watch":
                return ManagerWatch(rest[0]);
            case "write-local-time":
                return WriteLocalTime(rest[0], long.Parse(rest[1], CultureInfo.InvariantCulture));
            case "read-local-time":
                return ReadLocalTime(rest[0]);
            default:
                Console.Error.WriteLine($"unknown worker {args[1]}");
                return 2;
        }
    }

    /// <summary>Takes the lock file, prints "locked", and holds it until stdin closes or the process is killed.</summary>
    private static int HoldLock(string lockPath)
    {
        var lockFile = new LockFile(Path.GetFullPath(lockPath), TimeSpan.FromSeconds(30));
        using var held = lockFile.AcquireAsync(async: false, CancellationToken.None).GetAwaiter().GetResult();
        Console.WriteLine("locked");
        Console.ReadLine();
        return 0;
    }

    /// <summary>Commits "v{version}" in a loop forever, printing "ack {version}" after each commit returned.</summary>
    private static int CommitLoop(string path)
    {
        using var backend = new FileBackend(path);
        Console.WriteLine("ready");
        while (true)
        {
            var current = backend.Read()?.Version;
            var next = (current ?? 0) + 1;
            var committed = backend.TryWrite(Encoding.UTF8.GetBytes($"v{next}"), current, Guid.NewGuid());
            if (committed is not null)
                Console.WriteLine($"ack {committed}");
        }
    }

    /// <summary>Appends the record "r{version}" to the log in a loop forever, printing "ack {version}" after each append returned.</summary>
    private static int AppendLoop(string path)
    {
        using var backend = new FileBackend(path);
        Console.WriteLine("ready");
        while (true)
        {
            var current = backend.ReadVersion()!.Value;
            var next = current + 1;
            if (backend.TryAppend(Encoding.UTF8.GetBytes($"r{next}"), current, Guid.NewGuid()) is { } appended)
                Console.WriteLine($"ack {appended.Version}");
        }
    }

    /// <summary>Adds 1 to the decimal counter in the store <paramref name="count"/> times by compare-and-swap, then prints "done {conflicts}".</summary>
    private static int Increment(string path, int count)
    {
        using var backend = new FileBackend(path);
        var conflicts = 0;
        for (var i = 0; i < count; i++)
        {
            while (true)
            {
                var state = backend.Read();
                var value = state is null ? 0 : int.Parse(Encoding.UTF8.GetString(state.Data.Span), CultureInfo.InvariantCulture);
                var next = Encoding.UTF8.GetBytes((value + 1).ToString(CultureInfo.InvariantCulture));
                if (backend.TryWrite(next, state?.Version, Guid.NewGuid()) is not null)
                    break;
                conflicts++;
            }
        }
        Console.WriteLine($"done {conflicts}");
        return 0;
    }

    /// <summary>Prints "waiting {version}", then "changed {version} {data}" when another process commits.</summary>
    private static int WaitChange(string path)
    {
        using var backend = new FileBackend(path);
        var known = backend.Read()?.Version;
        Console.WriteLine($"waiting {known}");
        var current = known;
        while (current == known)
            current = backend.WaitForChangeAsync(known, TimeSpan.FromMinutes(1)).AsTask().GetAwaiter().GetResult();
        var state = backend.Read();
        Console.WriteLine($"changed {state?.Version} {Encoding.UTF8.GetString(state!.Data.Span)}");
        return 0;
    }

    /// <summary>Opens, reads, then commits; prints "open ok" / "read ok" / "write ok" or the exception's type and message for each.</summary>
    private static int TryAccess(string path)
    {
        FileBackend backend;
        try
        {
            backend = new FileBackend(path, options: new FileBackendOptions { LockTimeout = TimeSpan.FromSeconds(5) });
            Console.WriteLine("open ok");
        }
        catch (Exception e)
        {
            Console.WriteLine($"open {e.GetType().Name}: {e.Message}");
            return 0;
        }
        using (backend)
        {
            Attempt("read", () => backend.Read());
            Attempt("write", () => backend.Write("x"u8.ToArray(), Guid.NewGuid()));
        }
        return 0;
    }

    private static void Attempt(string what, Action action)
    {
        try
        {
            action();
            Console.WriteLine($"{what} ok");
        }
        catch (Exception e)
        {
            Console.WriteLine($"{what} {e.GetType().Name}: {e.Message}");
        }
    }

    /// <summary>
    /// Increments the shared counter <paramref name="count"/> times, each in its own <see cref="Manager.Run{T}"/>,
    /// printing "commit {value}" after each commit returned, then "done".
    /// </summary>
    private static int ManagerIncrement(string path, int count)
    {
        using var backend = new FileBackend(path);
        using var manager = new Manager(backend);
        var counter = manager.ReadOrInitialize(() => new SharedCounter());
        Console.WriteLine("ready");
        for (var i = 0; i < count; i++)
        {
            var value = manager.Run(() => ++counter.Value, retries: int.MaxValue);
            Console.WriteLine($"commit {value}");
        }
        Console.WriteLine("done");
        return 0;
    }

    /// <summary>Prints "ready {version}", then "changed {new version} theme={theme}" on each Changed event, until stdin closes.</summary>
    private static int ManagerWatch(string path)
    {
        using var backend = new FileBackend(path);
        using var manager = new Manager(backend);
        var settings = manager.ReadOrInitialize(() => new SharedSettings());
        manager.Changed += (_, e) => Console.WriteLine($"changed {e.NewVersion} theme={settings.Theme}");
        Console.WriteLine($"ready {manager.Version}");
        Console.ReadLine();
        return 0;
    }

    /// <summary>Stores the local time with these clock ticks (on this process's clock); prints "wrote {UTC ticks} {zone}".</summary>
    private static int WriteLocalTime(string path, long clockTicks)
    {
        using var backend = new FileBackend(path);
        using var manager = new Manager(backend, new ManagerOptions { WatchForChanges = false });
        var local = new DateTime(clockTicks, DateTimeKind.Local);
        manager.Write(new List<DateTime> { local });
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"wrote {local.ToUniversalTime().Ticks} {TimeZoneInfo.Local.Id}"));
        return 0;
    }

    /// <summary>Reads the stored time; prints "read {kind} {clock ticks} {UTC ticks} {zone}".</summary>
    private static int ReadLocalTime(string path)
    {
        using var backend = new FileBackend(path);
        using var manager = new Manager(backend, new ManagerOptions { WatchForChanges = false });
        var time = manager.Read<IList<DateTime>>()[0];
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"read {time.Kind} {time.Ticks} {time.ToUniversalTime().Ticks} {TimeZoneInfo.Local.Id}"));
        return 0;
    }
}
