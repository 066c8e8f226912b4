namespace Tosc.Tests.Core;

/// <summary>One in-process store and the managers over it; everything is disposed at the end of the test.</summary>
public sealed class Store : IDisposable
{
    private readonly List<Manager> _managers = [];

    public InprocBackend Backend { get; } = new();

    public Manager Open(ManagerOptions? options = null) => Open(Backend, options);

    /// <summary>A manager over <paramref name="backend"/> (a decorator of <see cref="Backend"/>), disposed with the store.</summary>
    public Manager Open(IBackend backend, ManagerOptions? options = null)
    {
        var manager = new Manager(backend, options);
        _managers.Add(manager);
        return manager;
    }

    /// <summary>A manager without a watcher: it only sees remote changes when it refreshes or conflicts.</summary>
    public Manager OpenQuiet() => Open(new ManagerOptions { WatchForChanges = false });

    public void Dispose()
    {
        foreach (var manager in _managers)
            manager.Dispose();
        Backend.Dispose();
    }
}
