using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Tosc;
using Tosc.Extensions.Hosting;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds Tosc's health check to a health checks builder.</summary>
public static class ToscHealthChecksBuilderExtensions
{
    /// <summary>
    /// Adds one check per Tosc store registered with <c>AddTosc</c> (before or after this call), named <c>tosc</c> or
    /// <c>tosc:name</c> and tagged <c>tosc</c>: the backend answers, the manager can apply the stored state, and its
    /// watcher is within <see cref="ToscHealthCheckOptions.MaxLag"/> of the store.
    /// </summary>
    /// <param name="builder">The health checks builder.</param>
    /// <param name="configure">Sets the thresholds; <see langword="null"/> for the defaults.</param>
    /// <returns><paramref name="builder"/>.</returns>
    public static IHealthChecksBuilder AddTosc(this IHealthChecksBuilder builder, Action<ToscHealthCheckOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = new ToscHealthCheckOptions();
        configure?.Invoke(options);
        options.Validate();
        // The stores are known only once every AddTosc ran: the registrations are made when the options are built.
        builder.Services.AddSingleton<IConfigureOptions<HealthCheckServiceOptions>>(provider =>
            new ConfigureOptions<HealthCheckServiceOptions>(checks =>
            {
                foreach (var store in provider.GetServices<ToscStore>())
                {
                    checks.Registrations.Add(new HealthCheckRegistration(
                        store.DisplayName,
                        services => new ToscHealthCheck(store, services, options),
                        options.FailureStatus,
                        ["tosc"],
                        options.Timeout + TimeSpan.FromSeconds(1)));
                }
            }));
        return builder;
    }
}
