using System.Diagnostics;
using System.Globalization;
using Tosc;

// Several processes increment one counter kept in Redis, each increment a [Transactional] method call.
//
//   dotnet run --project samples/RedisCounter                       one process, 100 increments
//   dotnet run --project samples/RedisCounter -- --processes 4      four processes at once, then the total
//   dotnet run --project samples/RedisCounter -- --increments 500 --redis "cache.example.com:6380,ssl=true,password=..."
//
// The server comes from --redis, else the TOSC_REDIS environment variable, else 127.0.0.1:6379.
var redis = Option("--redis") ?? Environment.GetEnvironmentVariable("TOSC_REDIS") ?? "127.0.0.1:6379";
var increments = int.Parse(Option("--increments") ?? "100", CultureInfo.InvariantCulture);
var processes = int.Parse(Option("--processes") ?? "1", CultureInfo.InvariantCulture);

using var backend = new RedisBackend(redis, "samples:counter");
using var manager = new Manager(backend);
var counter = manager.ReadOrInitialize(() => new Counter());

if (processes > 1)
{
    // Start copies of this program and wait for them: they share the counter through Redis only.
    var start = counter.Value;
    var children = Enumerable.Range(0, processes).Select(_ => Process.Start(new ProcessStartInfo(Environment.ProcessPath!)
    {
        ArgumentList = { "--redis", redis, "--increments", increments.ToString(CultureInfo.InvariantCulture) },
    })!).ToList();
    foreach (var child in children)
        child.WaitForExit();
    var total = manager.Refresh<Counter>().Value;
    Console.WriteLine($"{processes} processes x {increments} increments: counter went from {start} to {total} (+{total - start}).");
    return;
}

var service = manager.Transactional<ICounterService>(new CounterService(counter));
for (var i = 0; i < increments; i++)
    service.Increment();
Console.WriteLine($"process {Environment.ProcessId}: {increments} increments done; the counter is at {manager.Refresh<Counter>().Value} (version {manager.Version}).");

string? Option(string name)
{
    var at = Array.IndexOf(args, name);
    return at >= 0 && at + 1 < args.Length ? args[at + 1] : null;
}

/// <summary>The shared state: a plain class with virtual properties, stored in one Redis key.</summary>
public class Counter
{
    public virtual long Value { get; set; }

    public virtual int LastProcess { get; set; }
}

public interface ICounterService
{
    /// <summary>Runs as one transaction; on a conflict with another process it runs again (default options: after two conflicts it takes a lease and commits next).</summary>
    [Transactional]
    long Increment();
}

public class CounterService(Counter counter) : ICounterService
{
    public long Increment()
    {
        counter.LastProcess = Environment.ProcessId;
        return ++counter.Value;
    }
}
