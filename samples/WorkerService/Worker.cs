using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Tosc;

namespace WorkerService;

/// <summary>The shared state: a counter every copy increments and the last beat of each copy.</summary>
public class Beats
{
    public virtual DCounter Count { get; set; } = new();

    public virtual IDictionary<string, DateTimeOffset> LastBeat { get; set; } = new Dictionary<string, DateTimeOffset>();
}

/// <summary>How often the worker beats, and how many times before it stops the host (0: until stopped).</summary>
public sealed class WorkerOptions
{
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(1);

    public int Iterations { get; set; }
}

internal sealed partial class Worker(Manager manager, HealthCheckService health, IOptions<WorkerOptions> options, IHostApplicationLifetime lifetime, ILogger<Worker> logger)
    : BackgroundService
{
    private readonly string _me = $"{Environment.MachineName}/{Environment.ProcessId}";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var beats = await manager.ReadOrInitializeAsync(() => new Beats(), stoppingToken).ConfigureAwait(false);
        var settings = options.Value;
        for (var i = 1; !stoppingToken.IsCancellationRequested; i++)
        {
            // Increments merge with other copies' without conflict; the dictionary entry is this copy's own key.
            await manager.RunAsync(() =>
            {
                beats.Count.Increment(1);
                beats.LastBeat[_me] = DateTimeOffset.UtcNow;
                return Task.CompletedTask;
            }, cancellationToken: stoppingToken).ConfigureAwait(false);
            var report = await health.CheckHealthAsync(stoppingToken).ConfigureAwait(false);
            LogBeat(logger, beats.Count.Value, beats.LastBeat.Count, manager.Version, report.Status);
            if (settings.Iterations > 0 && i >= settings.Iterations)
            {
                lifetime.StopApplication();
                return;
            }
            await Task.Delay(settings.Interval, stoppingToken).ConfigureAwait(false);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "count {Count} from {Workers} worker(s), version {Version}, health {Health}")]
    private static partial void LogBeat(ILogger logger, long count, int workers, long? version, HealthStatus health);
}
