using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Tosc.Extensions.Hosting;

/// <summary>Thresholds of the Tosc health check (<c>AddHealthChecks().AddTosc()</c>).</summary>
public sealed class ToscHealthCheckOptions
{
    /// <summary>How long a manager may show an older version than the store without applying anything before the check fails.</summary>
    /// <value>The default is 30 seconds.</value>
    public TimeSpan MaxLag { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How many versions a manager may be behind the store before the check fails; <see langword="null"/> for no limit.
    /// Meaningful where versions count commits (the built-in backends number them one by one).
    /// </summary>
    /// <value>The default is <see langword="null"/>.</value>
    public long? MaxVersionsBehind { get; set; }

    /// <summary>How long the check waits for the store to answer before it reports it unreachable.</summary>
    /// <value>The default is 5 seconds.</value>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The status a failing check reports.</summary>
    /// <value>The default is <see cref="HealthStatus.Unhealthy"/>.</value>
    public HealthStatus FailureStatus { get; set; } = HealthStatus.Unhealthy;

    internal void Validate()
    {
        if (MaxLag < TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(MaxLag), MaxLag, $"{nameof(MaxLag)} must not be negative.");
        if (MaxVersionsBehind < 0)
            throw new ArgumentOutOfRangeException(nameof(MaxVersionsBehind), MaxVersionsBehind, $"{nameof(MaxVersionsBehind)} must not be negative.");
        if (Timeout <= TimeSpan.Zero && Timeout != System.Threading.Timeout.InfiniteTimeSpan)
            throw new ArgumentOutOfRangeException(nameof(Timeout), Timeout, $"{nameof(Timeout)} must be positive.");
    }
}
