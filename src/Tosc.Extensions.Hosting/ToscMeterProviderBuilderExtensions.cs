using Tosc.Extensions.Hosting;

namespace OpenTelemetry.Metrics;

/// <summary>Adds Tosc's metrics to an OpenTelemetry meter provider.</summary>
public static class ToscMeterProviderBuilderExtensions
{
    /// <summary>Collects Tosc's metrics (<c>tosc.commits</c>, <c>tosc.conflicts</c>, <c>tosc.commit.duration</c>...).</summary>
    /// <param name="builder">The meter provider builder.</param>
    /// <returns><paramref name="builder"/>.</returns>
    public static MeterProviderBuilder AddToscInstrumentation(this MeterProviderBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddMeter(ToscInstrumentation.MeterName);
    }
}
