using System.Globalization;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Tosc.Extensions.Hosting;

/// <summary>
/// One store's health: the backend answers a version read within the timeout, the manager can apply the stored state,
/// and its watcher is not too far behind the store.
/// </summary>
internal sealed class ToscHealthCheck(ToscStore store, IServiceProvider services, ToscHealthCheckOptions options) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var failure = context.Registration.FailureStatus;
        Manager manager;
        long? stored;
        try
        {
            manager = store.Resolve<Manager>(services);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(options.Timeout);
            try
            {
                stored = await manager.Backend.ReadVersionAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                return new HealthCheckResult(failure, $"The store did not answer within {options.Timeout.TotalSeconds:0.###} s.");
            }
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return new HealthCheckResult(failure, $"The store cannot be reached: {e.Message}", e);
        }

        var applied = manager.Version;
        var data = new Dictionary<string, object>
        {
            ["storedVersion"] = stored?.ToString(CultureInfo.InvariantCulture) ?? "none",
            ["appliedVersion"] = applied?.ToString(CultureInfo.InvariantCulture) ?? "none",
        };
        if (store.RefreshError is { } error)
            return new HealthCheckResult(failure, $"The manager cannot apply the stored state: {error.Message}", error, data);
        if (applied is null)
            return HealthCheckResult.Healthy("The store answers; nothing was read yet.", data);

        var behindFor = store.BehindFor(applied, stored, TimeProvider.System.GetUtcNow());
        long? versionsBehind = stored > applied ? stored - applied : null;
        data["secondsBehind"] = behindFor.TotalSeconds;
        if (versionsBehind is { } count)
            data["versionsBehind"] = count;
        if (applied == stored)
            return HealthCheckResult.Healthy("The manager shows the stored version.", data);
        var behind = $"The manager shows version {applied}, the store holds {stored?.ToString(CultureInfo.InvariantCulture) ?? "none"}"
            + (versionsBehind is { } n ? $" ({n} behind)" : "") + $"; nothing applied for {behindFor.TotalSeconds:0.###} s.";
        var tooFar = behindFor >= options.MaxLag || versionsBehind > options.MaxVersionsBehind;
        return tooFar ? new HealthCheckResult(failure, behind, data: data) : HealthCheckResult.Healthy(behind, data);
    }
}
