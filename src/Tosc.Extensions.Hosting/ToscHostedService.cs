using Microsoft.Extensions.Hosting;

namespace Tosc.Extensions.Hosting;

/// <summary>
/// Ties the stores to the host's lifetime. Before any hosted service starts, each store's backend and manager are
/// built and the store is reached once, so bad configuration stops the host at start with a message naming what to
/// fix. After every hosted service stopped, the managers are disposed (their watchers end) so nothing is applied
/// to live objects once the host stopped; the container then disposes the backends it built.
/// </summary>
/// <remarks>
/// A manager's watcher itself starts at the first read, since it applies states as the root type that read names.
/// Disposing in <see cref="StoppedAsync"/> rather than <see cref="StopAsync"/> lets workers registered before
/// <c>AddTosc</c> (which stop after it) still commit while they stop.
/// </remarks>
internal sealed class ToscHostedService(IEnumerable<ToscStore> stores, IServiceProvider services) : IHostedLifecycleService
{
    public async Task StartingAsync(CancellationToken cancellationToken)
    {
        foreach (var store in stores)
        {
            var manager = store.Resolve<Manager>(services);
            await manager.Backend.ReadVersionAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StoppedAsync(CancellationToken cancellationToken)
    {
        foreach (var store in stores.Reverse())
        {
            if (store.Created is { } manager)
                await manager.DisposeAsync().ConfigureAwait(false);
        }
    }
}
