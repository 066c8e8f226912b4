using System.Diagnostics;

namespace Tosc.Benchmarks.Harness;

/// <summary>Timing helpers. Methods compared in one table run interleaved, so machine noise hits all of them alike.</summary>
internal static class Measure
{
    /// <summary>Runs <paramref name="op"/> until <paramref name="duration"/> passed (at least <paramref name="minOps"/> times); returns microseconds per op.</summary>
    public static double MicrosPerOp(TimeSpan duration, Action op, int minOps = 3)
    {
        var clock = Stopwatch.StartNew();
        var ops = 0;
        while (ops < minOps || clock.Elapsed < duration)
        {
            op();
            ops++;
        }
        return clock.Elapsed.TotalMicroseconds / ops;
    }

    /// <summary>
    /// Measures several ways of doing the same thing in alternating rounds and returns, per name, the median of
    /// the rounds' microseconds per op. Each method first runs untimed for a quarter of a round (warm-up: tiered JIT,
    /// connections, caches).
    /// </summary>
    public static Dictionary<string, double> Interleaved(int rounds, TimeSpan roundDuration, params (string Name, Action Op)[] methods)
    {
        foreach (var (_, op) in methods)
            MicrosPerOp(roundDuration / 4, op);
        var samples = methods.ToDictionary(m => m.Name, _ => new List<double>());
        for (var round = 0; round < rounds; round++)
        {
            foreach (var (name, op) in methods)
                samples[name].Add(MicrosPerOp(roundDuration, op));
        }
        return samples.ToDictionary(s => s.Key, s => Median(s.Value));
    }

    public static double Median(IReadOnlyList<double> values) => Percentile(values, 50);

    /// <summary>The nearest-rank percentile (0..100) of <paramref name="values"/>; NaN when empty.</summary>
    public static double Percentile(IReadOnlyList<double> values, double percent)
    {
        if (values.Count == 0)
            return double.NaN;
        var sorted = values.OrderBy(v => v).ToArray();
        var rank = (int)Math.Ceiling(percent / 100 * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }

    public static double MillisSince(long startTimestamp) => Stopwatch.GetElapsedTime(startTimestamp).TotalMilliseconds;

    public static double MillisBetween(long start, long end) => Stopwatch.GetElapsedTime(start, end).TotalMilliseconds;

    /// <summary>Time ratio; NaN when the base is missing.</summary>
    public static double Ratio(double value, double baseline) => baseline > 0 && !double.IsNaN(value) ? value / baseline : double.NaN;

    /// <summary>Bytes allocated on this thread while <paramref name="op"/> ran <paramref name="count"/> times, per run.</summary>
    public static double AllocatedPerOp(int count, Action op)
    {
        op();
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < count; i++)
            op();
        return (GC.GetAllocatedBytesForCurrentThread() - before) / (double)count;
    }

    /// <summary>Bytes allocated by the whole process (every thread: the watcher, client I/O threads) per run.</summary>
    public static double ProcessAllocatedPerOp(int count, Action op)
    {
        op();
        var before = GC.GetTotalAllocatedBytes(precise: true);
        for (var i = 0; i < count; i++)
            op();
        return (GC.GetTotalAllocatedBytes(precise: true) - before) / (double)count;
    }

    /// <summary>Waits until <paramref name="condition"/> holds; false on timeout.</summary>
    public static bool SpinUntil(Func<bool> condition, TimeSpan timeout) => SpinWait.SpinUntil(condition, timeout);
}
