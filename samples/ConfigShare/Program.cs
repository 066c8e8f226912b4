using Tosc;

// Run this in two terminals. A setting changed in one shows up in the other at once, with no restart:
// both processes hold live objects over one store file, and each one's watcher applies the other's commits.
var path = args.Length > 0 ? args[0] : Path.Combine(Path.GetTempPath(), "configshare.tosc");
using var backend = new FileBackend(path);
using var manager = new Manager(backend);
var config = manager.ReadOrInitialize(() => new AppConfig());

var printing = new Lock();
var lastSeen = manager.Snapshot<AppConfig>().Settings;

// Raised on a background thread after another process's commit was applied to `config`.
manager.Changed += (_, e) =>
{
    lock (printing)
    {
        var now = manager.Snapshot<AppConfig>().Settings;
        foreach (var (key, value) in now)
        {
            if (!lastSeen.TryGetValue(key, out var old))
                Console.WriteLine($"  * {key} = {value} (added elsewhere, version {e.NewVersion})");
            else if (old != value)
                Console.WriteLine($"  * {key} = {value} (was {old}; changed elsewhere, version {e.NewVersion})");
        }
        foreach (var key in lastSeen.Keys.Where(key => !now.ContainsKey(key)))
            Console.WriteLine($"  * {key} removed elsewhere (version {e.NewVersion})");
        lastSeen = now;
    }
};

Console.WriteLine($"Sharing '{path}' (version {manager.Version}).");
Console.WriteLine("Commands: set KEY VALUE | unset KEY | get KEY | list | quit");
Print(config);

while (Console.ReadLine() is { } line)
{
    var parts = line.Split(' ', 3, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    if (parts.Length == 0)
        continue;
    switch (parts[0].ToLowerInvariant())
    {
        case "set" when parts.Length == 3:
            // Run reruns the change if another process committed first.
            manager.Run(() => config.Settings[parts[1]] = parts[2], retries: 10);
            break;
        case "unset" when parts.Length == 2:
            manager.Run(() => config.Settings.Remove(parts[1]), retries: 10);
            break;
        case "get" when parts.Length == 2:
            Console.WriteLine(config.Settings.TryGetValue(parts[1], out var value) ? $"{parts[1]} = {value}" : $"{parts[1]} is not set");
            continue;
        case "list":
            Print(config);
            continue;
        case "quit" or "exit":
            return;
        default:
            Console.WriteLine("Commands: set KEY VALUE | unset KEY | get KEY | list | quit");
            continue;
    }
    lock (printing)
        lastSeen = manager.Snapshot<AppConfig>().Settings;
    Console.WriteLine($"ok (version {manager.Version})");
}

void Print(AppConfig current)
{
    foreach (var (key, value) in current.Settings.OrderBy(pair => pair.Key, StringComparer.Ordinal))
        Console.WriteLine($"  {key} = {value}");
}

/// <summary>The shared configuration: a live class (public, virtual properties, interface-typed collections).</summary>
public class AppConfig
{
    public virtual IDictionary<string, string> Settings { get; set; } = new Dictionary<string, string>();
}
