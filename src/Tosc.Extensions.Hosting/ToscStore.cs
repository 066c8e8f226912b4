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

    private volatile RefreshFailure? _refreshFailure;

    /// <summary>The last state the manager could not apply, until it applies a newer one.</summary>
    public ToscDataException? RefreshError =>
        _refreshFailure is { } failure && Created is { } manager && manager.Version == failure.AtVersion ? failure.Error : null;

    public T Resolve<T>(IServiceProvider services) where T : notnull =>
        Name is null ? services.GetRequiredService<T>() : services.GetRequiredKeyedService<T>(Name);

    public Manager Track(Manager manager)
    {
        // Cleared by the version moving on rather than by Changed: handling Changed makes every apply compute its paths.
        manager.RefreshFailed += (_, e) => _refreshFailure = new RefreshFailure(e.Exception, manager.Version);
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

    private sealed record RefreshFailure(ToscDataException Error, long? AtVersion);
}
