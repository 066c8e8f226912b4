using System.Diagnostics;

namespace Tosc.Testing;

/// <summary>Waits on a condition with a deadline: the only way tests wait (never a bare sleep).</summary>
public static class Eventually
{
    /// <summary>The deadline tests use unless they say otherwise: generous, because CI machines are slow and shared.</summary>
    public static readonly TimeSpan DefaultDeadline = TimeSpan.FromSeconds(30);

    /// <summary>Polls <paramref name="condition"/> until it holds; fails the test with <paramref name="what"/> when the deadline passes.</summary>
    public static void True(Func<bool> condition, string what, TimeSpan? deadline = null)
    {
        var limit = deadline ?? DefaultDeadline;
        var clock = Stopwatch.StartNew();
        var pause = 1;
        while (!condition())
        {
            if (clock.Elapsed > limit)
                throw new TimeoutException($"Still waiting after {limit.TotalSeconds:0} s for: {what}");
            Thread.Sleep(pause); // polling interval of a deadline wait, not synchronization by sleeping
            pause = Math.Min(pause * 2, 50);
        }
    }

    /// <inheritdoc cref="True"/>
    public static async Task TrueAsync(Func<bool> condition, string what, TimeSpan? deadline = null)
    {
        var limit = deadline ?? DefaultDeadline;
        var clock = Stopwatch.StartNew();
        var pause = 1;
        while (!condition())
        {
            if (clock.Elapsed > limit)
                throw new TimeoutException($"Still waiting after {limit.TotalSeconds:0} s for: {what}");
            await Task.Delay(pause);
            pause = Math.Min(pause * 2, 50);
        }
    }

    /// <summary>Awaits <paramref name="task"/>, failing the test with <paramref name="what"/> when the deadline passes.</summary>
    public static async Task<T> Within<T>(Task<T> task, string what, TimeSpan? deadline = null)
    {
        var limit = deadline ?? DefaultDeadline;
        try
        {
            return await task.WaitAsync(limit);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"Still waiting after {limit.TotalSeconds:0} s for: {what}");
        }
    }
}
