namespace Tosc.Extensions.Hosting;

/// <summary>The names Tosc's metrics and spans are published under (docs/operations.md lists them).</summary>
/// <remarks>With OpenTelemetry, <c>AddToscInstrumentation()</c> on a meter or tracer provider builder subscribes to them.</remarks>
public static class ToscInstrumentation
{
    /// <summary>The name of Tosc's <see cref="System.Diagnostics.Metrics.Meter"/>: <c>Tosc</c>.</summary>
    public const string MeterName = "Tosc";

    /// <summary>The name of Tosc's <see cref="System.Diagnostics.ActivitySource"/>: <c>Tosc</c>.</summary>
    public const string ActivitySourceName = "Tosc";
}
