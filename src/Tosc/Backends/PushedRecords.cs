namespace Tosc;

/// <summary>
/// The latest log records a store pushed with its change notifications (<see cref="ToscBackend.Pushed"/>), keyed by the
/// version each one follows, so a watcher that stands at a version can take what came after it without reading the
/// store. Bounded by count and bytes (a watcher far behind reads the log anyway): the oldest are dropped first; a watcher
/// that finds no chain from its version reads the log as before.
/// </summary>
internal sealed class PushedRecords
{
    private const int Capacity = 512;
    private const long ByteCapacity = 1024 * 1024;

    private readonly Lock _lock = new();
    private readonly Dictionary<long, LogRecord> _byPrevious = [];
    private readonly Queue<long> _arrival = new();
    private long _bytes;
    // The newest version any notification announced since the pushes were last complete.
    private long? _newest;

    public void Add(long previousVersion, LogRecord record)
    {
        lock (_lock)
        {
            if (!_byPrevious.TryAdd(previousVersion, record))
                return; // the same commit delivered twice
            _arrival.Enqueue(previousVersion);
            _bytes += record.Data.Length;
            while (_arrival.Count > Capacity || (_bytes > ByteCapacity && _arrival.Count > 1))
            {
                _byPrevious.Remove(_arrival.Dequeue(), out var dropped);
                _bytes -= dropped!.Data.Length;
            }
            Announce(record.Version);
        }
    }

    /// <summary>A change without a record (a whole-state write, a record too large to push); null: a change of unknown version.</summary>
    public void Gap(long? version)
    {
        if (version is not { } known)
        {
            Clear();
            return;
        }
        lock (_lock)
            Announce(known);
    }

    /// <summary>Forgets everything: a notification may have been lost, or the store was replaced whole.</summary>
    public void Clear()
    {
        lock (_lock)
        {
            _byPrevious.Clear();
            _arrival.Clear();
            _bytes = 0;
            _newest = null;
        }
    }

    /// <summary>
    /// What the pushes say of the store's version for a waiter at <paramref name="known"/>: the end of the records
    /// that follow it; or <paramref name="known"/> itself when no notification since the pushes were last complete
    /// (<see cref="Clear"/>) announced a later version, so any later commit is still to come and probing the store
    /// adds nothing; otherwise null (probe).
    /// </summary>
    public long? Tip(long? known)
    {
        if (known is not { } version)
            return null;
        lock (_lock)
        {
            if (!_byPrevious.TryGetValue(version, out var next))
                return _newest == version ? version : null;
            for (var steps = 0; steps < Capacity && _byPrevious.TryGetValue(next.Version, out var after); steps++)
                next = after;
            return next.Version;
        }
    }

    private void Announce(long version)
    {
        if (_newest is not { } newest || version > newest)
            _newest = version;
    }

    /// <summary>The records that follow <paramref name="version"/> one after another, oldest first; empty when none does.</summary>
    public LogRecord[] After(long version)
    {
        lock (_lock)
        {
            if (!_byPrevious.ContainsKey(version))
                return [];
            var chain = new List<LogRecord>();
            while (chain.Count < Capacity && _byPrevious.TryGetValue(version, out var record))
            {
                chain.Add(record);
                version = record.Version;
            }
            return [.. chain];
        }
    }
}
