using System.Globalization;

namespace Tosc.Tests.Blob;

/// <summary>A live class for the cross-process tests (live classes are public, non-sealed, with virtual properties).</summary>
public class Counter
{
    /// <summary>The count.</summary>
    public virtual int Value { get; set; }
}

/// <summary>What a child process does in the cross-process tests.</summary>
internal static class Workers
{
    public static int Run(string command, string[] args)
    {
        switch (command)
        {
            case "increment" when args.Length == 4:
                return Increment(connectionString: args[0], container: args[1], blob: args[2], int.Parse(args[3], CultureInfo.InvariantCulture));
            default:
                Console.Error.WriteLine($"unknown worker command '{command}' with {args.Length} arguments");
                return 2;
        }
    }

    /// <summary>
    /// Prints "ready", waits for "go" on standard input (so all workers start together), then increments the shared
    /// counter <paramref name="count"/> times, each in its own retried transaction, and prints "done &lt;attempts&gt;".
    /// </summary>
    private static int Increment(string connectionString, string container, string blob, int count)
    {
        using var backend = new BlobBackend(connectionString, container, blob);
        using var manager = new Manager(backend);
        var counter = manager.ReadOrInitialize(() => new Counter());
        Console.WriteLine("ready");
        if (Console.ReadLine() != "go")
            return 3;
        var attempts = 0;
        for (var i = 0; i < count; i++)
        {
            manager.Run(() =>
            {
                attempts++;
                counter.Value++;
            }, retries: 10_000, timeout: TimeSpan.FromMinutes(5));
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"done {attempts}"));
        return 0;
    }
}
