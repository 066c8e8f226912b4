using Tosc.Extensions.Hosting;

namespace OpenTelemetry.Trace;

/// <summary>Adds Tosc's spans to an OpenTelemetry tracer provider.</summary>
public static class ToscTracerProviderBuilderExtensions
{
    /// <summary>Collects Tosc's spans (<c>tosc.commit</c>).</summary>
    /// <param name="builder">The tracer provider builder.</param>
    /// <returns><paramref name="builder"/>.</returns>
    public static TracerProviderBuilder AddToscInstrumentation(this TracerProviderBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddSource(ToscInstrumentation.ActivitySourceName);
    }
}
