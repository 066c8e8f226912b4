using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using WorkerService;

// A hosted worker that shares a counter and a dictionary with every other copy of itself through the store
// appsettings.json names (a file by default): run it in two terminals and watch both counts move together.
// Override any setting on the command line: --Tosc:Path=/tmp/other.tosc --Worker:Iterations=5 --Telemetry:Console=true
// appsettings.json is read from beside the program, whatever the current directory.
var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.Services.AddTosc(builder.Configuration.GetSection("Tosc"));
builder.Services.AddHealthChecks().AddTosc(o => o.MaxLag = TimeSpan.FromSeconds(10));
builder.Services.Configure<WorkerOptions>(builder.Configuration.GetSection("Worker"));
builder.Services.AddHostedService<Worker>();
if (builder.Configuration.GetValue<bool>("Telemetry:Console"))
{
    builder.Services.AddOpenTelemetry()
        .WithMetrics(metrics => metrics.AddToscInstrumentation().AddConsoleExporter())
        .WithTracing(tracing => tracing.AddToscInstrumentation().AddConsoleExporter());
}
await builder.Build().RunAsync();
