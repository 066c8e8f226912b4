using Microsoft.Extensions.DependencyInjection;

namespace Tosc.Extensions.Hosting;

/// <summary>
/// One store registered by <c>AddTosc</c>: its service key (<see langword="null"/> for the unkeyed one) and what the
/// hosted service and the health check learn about its manager. Registered as a singleton, one per store.
/// </summary>
internal sealed class ToscStore(string? name)
{
    private readonly Lock _gate = new();
    private long? _behindAt;
    private DateTimeOffset _behindSince;

    public string? Name { get; } = name;

    /// <summary>How the store is named in messages and health check names: "tosc" or "tosc:name".</summary>
    public string DisplayName => Name is null ? "tosc" : "tosc:" + Name;

    /// <summary>The manager, once the container built it (the hosted service disposes only what was built).</summary>
    public Manager? Created { get; private set; }

    /// <summary>The last state the manager could not apply, until it applies a newer one.</summary>
    public ToscDataException? RefreshError { get; private set; }

    public T Resolve<T>(IServiceProvider services) where T : notnull =>
        Name is null ? services.GetRequiredService<T>() : services.GetRequiredKeyedService<T>(Name);

    public Manager Track(Manager manager)
    {
        manager.RefreshFailed += (_, e) => RefreshError = e.Exception;
        manager.Changed += (_, _) => RefreshError = null;
        Created = manager;
        return manager;
    }

    /// <summary>
    /// How long the manager has shown <paramref name="applied"/> while the store held another version: the clock starts
    /// when a check first sees it behind and restarts whenever it applies something, so a watcher that keeps up under
    /// steady commits never accumulates lag, and a stalled one does.
    /// </summary>
    public TimeSpan BehindFor(long? applied, long? stored, DateTimeOffset now)
    {
        lock (_gate)
        {
            if (applied == stored)
            {
                _behindAt = null;
                return TimeSpan.Zero;
            }
            if (_behindAt != applied || _behindSince == default)
            {
                _behindAt = applied;
                _behindSince = now;
            }
            return now - _behindSince;
        }
    }
}
