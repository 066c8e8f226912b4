using System.Diagnostics.Metrics;

namespace Tosc.Chaos;

/// <summary>Listens to Tosc's own meter ("Tosc") in this process: conflicts and retried transaction bodies.</summary>
internal sealed class ToscMeters : IDisposable
{
    private readonly MeterListener _listener = new();
    private long _conflicts;
    private long _retries;

    public ToscMeters()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == "Tosc" && instrument.Name is "tosc.conflicts" or "tosc.retries")
                listener.EnableMeasurementEvents(instrument);
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, _, _) =>
        {
            if (instrument.Name == "tosc.conflicts")
                Interlocked.Add(ref _conflicts, value);
            else
                Interlocked.Add(ref _retries, value);
        });
        _listener.Start();
    }

    public long Conflicts => Interlocked.Read(ref _conflicts);

    public long Retries => Interlocked.Read(ref _retries);

    public void Dispose() => _listener.Dispose();
}
