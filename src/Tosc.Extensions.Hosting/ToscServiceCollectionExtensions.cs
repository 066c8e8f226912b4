using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Tosc;
using Tosc.Extensions.Hosting;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers Tosc stores (a backend and its <see cref="Manager"/>) in a service collection.</summary>
/// <remarks>
/// The backend and the manager are singletons owned by the container: the backend your factory returns is disposed
/// with the container, after the managers over it. A hosted service reaches every store when the host starts (bad
/// configuration stops it there) and disposes the managers once the host has stopped. Several stores in one app are
/// keyed services: <c>AddTosc("config", ...)</c>, resolved with <c>[FromKeyedServices("config")] Manager</c>.
/// </remarks>
public static class ToscServiceCollectionExtensions
{
    /// <summary>Registers the backend <paramref name="backend"/> builds and a <see cref="Manager"/> over it, as singletons.</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="backend">Builds the backend; the container owns (and disposes) what it returns.</param>
    /// <returns><paramref name="services"/>.</returns>
    public static IServiceCollection AddTosc(this IServiceCollection services, Func<IServiceProvider, IBackend> backend) =>
        AddTosc(services, backend, configure: null);

    /// <inheritdoc cref="AddTosc(IServiceCollection, Func{IServiceProvider, IBackend})"/>
    /// <param name="services">The service collection.</param>
    /// <param name="backend">Builds the backend; the container owns (and disposes) what it returns.</param>
    /// <param name="configure">Sets the manager's options; <see langword="null"/> for the defaults.</param>
    public static IServiceCollection AddTosc(this IServiceCollection services, Func<IServiceProvider, IBackend> backend, Action<ManagerOptions>? configure) =>
        Add(services, name: null, backend, section: null, configure);

    /// <summary>Registers a store named <paramref name="name"/>: its backend and manager are keyed singletons.</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="name">The service key.</param>
    /// <param name="backend">Builds the backend; the container owns (and disposes) what it returns.</param>
    /// <returns><paramref name="services"/>.</returns>
    public static IServiceCollection AddTosc(this IServiceCollection services, string name, Func<IServiceProvider, IBackend> backend) =>
        AddTosc(services, name, backend, configure: null);

    /// <summary>Registers a store named <paramref name="name"/>: its backend and manager are keyed singletons.</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="name">The service key.</param>
    /// <param name="backend">Builds the backend; the container owns (and disposes) what it returns.</param>
    /// <param name="configure">Sets the manager's options; <see langword="null"/> for the defaults.</param>
    /// <returns><paramref name="services"/>.</returns>
    public static IServiceCollection AddTosc(this IServiceCollection services, string name, Func<IServiceProvider, IBackend> backend, Action<ManagerOptions>? configure)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        return Add(services, name, backend, section: null, configure);
    }

    /// <summary>
    /// Registers the store a configuration section describes: <c>Backend</c> (<c>Inproc</c>, <c>File</c>, <c>Redis</c>,
    /// <c>Postgres</c>, <c>Blob</c>, or a backend's assembly-qualified type name), its settings (<c>Path</c>,
    /// <c>ConnectionString</c>, <c>Key</c>...), <c>Options</c> bound onto the backend's options class and <c>Manager</c>
    /// onto <see cref="ManagerOptions"/>. The application references the backend's package.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="section">The section, such as <c>configuration.GetSection("Tosc")</c>.</param>
    /// <returns><paramref name="services"/>.</returns>
    /// <remarks>A missing or wrong setting throws <see cref="InvalidOperationException"/> naming it, when the host starts.</remarks>
    public static IServiceCollection AddTosc(this IServiceCollection services, IConfiguration section) =>
        AddTosc(services, section, configure: null);

    /// <inheritdoc cref="AddTosc(IServiceCollection, IConfiguration)"/>
    /// <param name="services">The service collection.</param>
    /// <param name="section">The section, such as <c>configuration.GetSection("Tosc")</c>.</param>
    /// <param name="configure">Sets what configuration cannot (known types, protection), after the section was bound.</param>
    public static IServiceCollection AddTosc(this IServiceCollection services, IConfiguration section, Action<ManagerOptions>? configure)
    {
        ArgumentNullException.ThrowIfNull(section);
        return Add(services, name: null, _ => BackendFromConfiguration.Create(section), section, configure);
    }

    /// <summary>Registers a store named <paramref name="name"/> that a configuration section describes (see <see cref="AddTosc(IServiceCollection, IConfiguration)"/>).</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="name">The service key.</param>
    /// <param name="section">The section, such as <c>configuration.GetSection("Tosc:config")</c>.</param>
    /// <returns><paramref name="services"/>.</returns>
    public static IServiceCollection AddTosc(this IServiceCollection services, string name, IConfiguration section) =>
        AddTosc(services, name, section, configure: null);

    /// <inheritdoc cref="AddTosc(IServiceCollection, string, IConfiguration)"/>
    /// <param name="services">The service collection.</param>
    /// <param name="name">The service key.</param>
    /// <param name="section">The section, such as <c>configuration.GetSection("Tosc:config")</c>.</param>
    /// <param name="configure">Sets what configuration cannot (known types, protection), after the section was bound.</param>
    public static IServiceCollection AddTosc(this IServiceCollection services, string name, IConfiguration section, Action<ManagerOptions>? configure)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(section);
        return Add(services, name, _ => BackendFromConfiguration.Create(section), section, configure);
    }

    private static IServiceCollection Add(IServiceCollection services, string? name, Func<IServiceProvider, IBackend> backend, IConfiguration? section, Action<ManagerOptions>? configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(backend);
        foreach (var descriptor in services)
        {
            if (descriptor.ServiceType == typeof(ToscStore) && descriptor.ImplementationInstance is ToscStore existing && existing.Name == name)
                throw new InvalidOperationException(name is null ? "A Tosc store without a name is already registered; give the others names (AddTosc(\"name\", ...))." : $"A Tosc store named '{name}' is already registered.");
        }
        var store = new ToscStore(name);
        services.AddSingleton(store);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, ToscHostedService>());

        Manager CreateManager(IServiceProvider provider)
        {
            var options = new ManagerOptions();
            section?.GetSection("Manager").Bind(options, binder => binder.ErrorOnUnknownConfiguration = true);
            configure?.Invoke(options);
            options.Logger ??= provider.GetService<ILoggerFactory>()?.CreateLogger("Tosc");
            return store.Track(new Manager(store.Resolve<IBackend>(provider), options));
        }

        // The manager depends on the backend, so the container builds it later and disposes it first.
        if (name is null)
        {
            services.AddSingleton(backend);
            services.AddSingleton(CreateManager);
        }
        else
        {
            services.AddKeyedSingleton(name, (provider, _) => backend(provider));
            services.AddKeyedSingleton(name, (provider, _) => CreateManager(provider));
        }
        return services;
    }
}
