using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Tosc.Testing;

/// <summary>
/// Counts what Tosc's own meter ("Tosc") reports in this process: <c>tosc.conflicts</c>, <c>tosc.retries</c>,
/// <c>tosc.rebases</c>, <c>tosc.leases</c> and the other counters, by instrument name.
/// </summary>
public sealed class ToscMeters : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<string, long> _counts = new(StringComparer.Ordinal);

    /// <summary>Starts listening.</summary>
    public ToscMeters()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == "Tosc" && instrument is Counter<long>)
                listener.EnableMeasurementEvents(instrument);
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, _, _) => _counts.AddOrUpdate(instrument.Name, value, (_, count) => count + value));
        _listener.Start();
    }

    /// <summary>Commits that lost the compare-and-swap to one that wrote what they read.</summary>
    public long Conflicts => this["tosc.conflicts"];

    /// <summary>Transaction bodies run again.</summary>
    public long Retries => this["tosc.retries"];

    /// <summary>Commits replayed on a newer state without running their body again.</summary>
    public long Rebases => this["tosc.rebases"];

    /// <summary>Leases taken after repeated conflicts.</summary>
    public long Leases => this["tosc.leases"];

    /// <summary>The count of the counter named <paramref name="instrument"/> since the start (or the last <see cref="Reset"/>).</summary>
    public long this[string instrument] => _counts.GetValueOrDefault(instrument);

    /// <summary>Starts counting from zero again.</summary>
    public void Reset() => _counts.Clear();

    /// <summary>Stops listening.</summary>
    public void Dispose() => _listener.Dispose();
}
