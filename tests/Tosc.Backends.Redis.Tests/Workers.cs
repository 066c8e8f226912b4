using System.Globalization;
using System.Text;

namespace Tosc.Tests;

/// <summary>What a child process does; each mode prints its progress on standard output for the test to read.</summary>
internal static class Workers
{
    public static int Run(string mode, string[] args)
    {
        switch (mode)
        {
            case "cas-increment":
                CasIncrement(args[0], args[1], int.Parse(args[2], CultureInfo.InvariantCulture));
                return 0;
            case "wait":
                WaitForOneChange(args[0], args[1]);
                return 0;
            case "manager-increment":
                ManagerIncrement(args[0], args[1], int.Parse(args[2], CultureInfo.InvariantCulture));
                return 0;
            case "manager-watch":
                ManagerWatch(args[0], args[1]);
                return 0;
            case "manager-append":
                ManagerAppend(args[0], args[1], args[2], int.Parse(args[3], CultureInfo.InvariantCulture),
                    args.Length > 4 ? int.Parse(args[4], CultureInfo.InvariantCulture) : 0);
                return 0;
            default:
                Console.Error.WriteLine($"unknown worker mode '{mode}'");
                return 2;
        }
    }

    /// <summary>Adds one to a decimal counter <paramref name="count"/> times with read + compare-and-swap.</summary>
    private static void CasIncrement(string configuration, string key, int count)
    {
        using var backend = new RedisBackend(configuration, key);
        Console.WriteLine("ready");
        var conflicts = 0;
        for (var done = 0; done < count;)
        {
            var state = backend.Read();
            var value = state is null ? 0 : long.Parse(Encoding.UTF8.GetString(state.Data.Span), CultureInfo.InvariantCulture);
            var next = Encoding.UTF8.GetBytes((value + 1).ToString(CultureInfo.InvariantCulture));
            if (backend.TryWrite(next, state?.Version, Guid.NewGuid()) is null)
                conflicts++;
            else
                done++;
        }
        Console.WriteLine($"done {count} conflicts {conflicts}");
    }

    /// <summary>Prints the stored version, then the version after the next change (heard through pub/sub only).</summary>
    private static void WaitForOneChange(string configuration, string key)
    {
        using var backend = new RedisBackend(configuration, key, new RedisBackendOptions { PollInterval = TimeSpan.FromHours(1) });
        var known = backend.Read()?.Version;
        Console.WriteLine($"ready {known}");
        long? current = known;
        while (current == known)
            current = backend.WaitForChangeAsync(known, TimeSpan.FromHours(1)).AsTask().GetAwaiter().GetResult();
        Console.WriteLine($"changed {current}");
    }

    /// <summary>Adds one to a shared counter <paramref name="count"/> times, each in its own retried transaction.</summary>
    private static void ManagerIncrement(string configuration, string key, int count)
    {
        using var backend = new RedisBackend(configuration, key);
        using var manager = new Manager(backend);
        var counter = manager.ReadOrInitialize(() => new SharedCounter());
        Console.WriteLine("ready");
        for (var i = 0; i < count; i++)
            manager.Run(() => counter.Value++, retries: 1000, timeout: TimeSpan.FromMinutes(2));
        Console.WriteLine($"done {count}");
    }

    /// <summary>
    /// Prints "ready" and then, for every change another process commits, "changed &lt;version&gt; &lt;value&gt; &lt;timestamp&gt;".
    /// Both polls are an hour apart, so only the published message can deliver a change promptly.
    /// </summary>
    private static void ManagerWatch(string configuration, string key)
    {
        using var backend = new RedisBackend(configuration, key, new RedisBackendOptions { PollInterval = TimeSpan.FromHours(1) });
        using var manager = new Manager(backend, new ManagerOptions { PollInterval = TimeSpan.FromHours(1) });
        var counter = manager.ReadOrInitialize(() => new SharedCounter());
        manager.Changed += (_, e) =>
            Console.WriteLine($"changed {e.NewVersion} {counter.Value} {System.Diagnostics.Stopwatch.GetTimestamp()}");
        Console.WriteLine($"ready {manager.Version}");
        // Runs until the test says "exit" (or goes away).
        while (Console.ReadLine() is { } line && line != "exit")
        {
        }
    }

    /// <summary>
    /// Appends "&lt;name&gt;-&lt;i&gt;" to a shared list <paramref name="count"/> times (0: until standard input ends), printing
    /// "acknowledged &lt;i&gt;" after each commit returned, then "done &lt;count&gt;". Backend retries are generous, so a server
    /// restart or a failover is ridden out inside the core; <paramref name="waitForReplicas"/> is
    /// <see cref="RedisBackendOptions.WaitForReplicas"/>.
    /// </summary>
    private static void ManagerAppend(string configuration, string key, string name, int count, int waitForReplicas)
    {
        using var backend = new RedisBackend(configuration, key, new RedisBackendOptions { OperationTimeout = TimeSpan.FromSeconds(2), WaitForReplicas = waitForReplicas });
        using var manager = new Manager(backend, new ManagerOptions { BackendRetries = 40 });
        var counter = manager.ReadOrInitialize(() => new SharedCounter());
        var inputEnded = new ManualResetEventSlim(count > 0);
        if (count == 0)
            new Thread(() => { while (Console.ReadLine() is not null) { } inputEnded.Set(); }) { IsBackground = true }.Start();
        Console.WriteLine("ready");
        var i = 0;
        for (; count > 0 ? i < count : !inputEnded.IsSet; i++)
        {
            var token = $"{name}-{i}";
            while (true)
            {
                try
                {
                    manager.Run(() =>
                    {
                        counter.Tokens.Add(token);
                        counter.Value++;
                    }, retries: 1000, timeout: TimeSpan.FromMinutes(2));
                    break;
                }
                catch (BackendException e) when (e is CommitOutcomeUnknownException || waitForReplicas > 0 && e.IsTransient)
                {
                    // The reply was lost and another commit landed since (or, during a failover, the retries ran out): the
                    // token tells whether ours is stored. With WaitForReplicas the backend reads it back replicated.
                    var stored = RefreshUntilReadable(manager).Tokens.Contains(token);
                    Console.WriteLine($"in-doubt {i} {(stored ? "stored" : "absent")}");
                    if (stored)
                        break;
                }
            }
            Console.WriteLine($"acknowledged {i}");
        }
        Console.WriteLine($"done {i}");
    }

    private static SharedCounter RefreshUntilReadable(Manager manager)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return manager.Refresh<SharedCounter>();
            }
            catch (BackendException) when (attempt < 100)
            {
                Thread.Sleep(100); // the server is coming back; the core already retried this read
            }
        }
    }
}

/// <summary>The shared state of the cross-process tests.</summary>
public class SharedCounter
{
    public virtual long Value { get; set; }

    public virtual IList<string> Tokens { get; set; } = new List<string>();
}
