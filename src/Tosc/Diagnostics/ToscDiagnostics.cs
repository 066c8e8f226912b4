using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Tosc.Diagnostics;

/// <summary>The "Tosc" meter and activity source: subscribe with OpenTelemetry or dotnet-counters.</summary>
internal static class ToscDiagnostics
{
    public const string Name = "Tosc";

    public static readonly ActivitySource Activities = new(Name);
    public static readonly Meter Meter = new(Name);

    public static readonly Counter<long> Commits = Meter.CreateCounter<long>("tosc.commits", description: "Transactions that stored a new version.");
    public static readonly Counter<long> Conflicts = Meter.CreateCounter<long>("tosc.conflicts", description: "Commits that lost the compare-and-swap.");
    public static readonly Counter<long> Rebases = Meter.CreateCounter<long>("tosc.rebases", description: "Commits replayed on a newer state after losing the compare-and-swap to commits that wrote nothing they read (the body was not run again).");
    public static readonly Counter<long> Leases = Meter.CreateCounter<long>("tosc.leases", description: "Turns taken by a Run that kept conflicting: a lease record asking other managers to let it commit next.");
    public static readonly Counter<long> LeaseWaits = Meter.CreateCounter<long>("tosc.lease.waits", description: "Times a manager waited for another manager's lease to end before running a body or appending.");
    public static readonly Counter<long> Retries = Meter.CreateCounter<long>("tosc.retries", description: "Transaction bodies run again after a conflict.");
    public static readonly Counter<long> RefreshFailures = Meter.CreateCounter<long>("tosc.refresh.failures", description: "Stored states a manager could not apply to its live objects.");
    public static readonly Counter<long> Refreshes = Meter.CreateCounter<long>("tosc.refreshes", description: "Remote states applied to live objects.");
    public static readonly Histogram<double> CommitDuration = Meter.CreateHistogram<double>("tosc.commit.duration", unit: "ms", description: "Time to encode and store a commit.");
    public static readonly Histogram<long> StateSize = Meter.CreateHistogram<long>("tosc.state.size", unit: "By", description: "Size of the encoded state written by a commit.");
}
