using System.Diagnostics;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Xunit;

namespace Tosc.Extensions.Hosting.Tests;

public sealed class InstrumentationTests
{
    [Fact]
    public void AddToscInstrumentation_CollectsTheCommitMetricsAndSpans()
    {
        var metrics = new List<Metric>();
        var spans = new List<Activity>();
        using (var meters = Sdk.CreateMeterProviderBuilder().AddToscInstrumentation().AddInMemoryExporter(metrics).Build())
        using (var tracer = Sdk.CreateTracerProviderBuilder().AddToscInstrumentation().AddInMemoryExporter(spans).Build())
        {
            using var store = new InprocBackend();
            using var manager = new Manager(store);
            manager.ReadOrInitialize(() => new Board()).Notes["k"] = "v";
            meters.ForceFlush();
            tracer.ForceFlush();
        }

        Assert.Contains(metrics, m => m.Name == "tosc.commits" && m.MeterName == ToscInstrumentation.MeterName);
        Assert.Contains(metrics, m => m.Name == "tosc.commit.duration");
        Assert.Contains(spans, a => a.OperationName == "tosc.commit" && a.Source.Name == ToscInstrumentation.ActivitySourceName);
    }
}
