namespace Tosc.Serialization;

/// <summary>
/// Values that nest deeper than a thread's stack comfortably holds: a linked chain of 10,000 objects, a tree,
/// 10,000 nested lists. Encoding and decoding recurse once per level; up to <see cref="WireFormat.MaxDepth"/> levels
/// they run where they are called. A deeper value is encoded or decoded again on a thread of its own with a stack
/// sized for <see cref="ManagerOptions.MaxDepth"/> levels, so depth is limited only by that documented cap (a cap is
/// still needed: decoding hostile bytes must not exhaust memory).
/// </summary>
internal static class DeepValues
{
    // Generous for every codec's frames per level (measured well under 1 KB on .NET 10).
    private const int StackBytesPerLevel = 2048;
    private const int MinimumStack = 16 * 1024 * 1024;

    // The depth allowed on this thread: WireFormat.MaxDepth on ordinary threads, the manager's cap on a deep one.
    [ThreadStatic]
    private static int t_limit;

    // The cap a deep thread may be started for, set by the entry point that may start one.
    [ThreadStatic]
    private static int t_cap;

    /// <summary>The depth allowed here.</summary>
    public static int Limit => t_limit != 0 ? t_limit : t_cap != 0 ? Math.Min(t_cap, WireFormat.MaxDepth) : WireFormat.MaxDepth;

    /// <summary>
    /// Called by a context going one level deeper than <see cref="Limit"/>: asks for a deep thread when the manager
    /// allows more, else names the real cause.
    /// </summary>
    public static Exception TooDeep(bool stored, int? offset = null)
    {
        if (t_limit == 0 && t_cap > WireFormat.MaxDepth)
            return new NeedsDeepStack();
        var where = offset is { } at ? $" (offset {at})" : "";
        return stored
            ? new ToscDataException($"The stored value nests deeper than {Limit} levels{where}, the limit ManagerOptions.MaxDepth sets.")
            : new ToscDataException($"The value nests deeper than {Limit} levels, the limit ManagerOptions.MaxDepth sets: raise it for deeper graphs, or look for an immutable value (a record) that contains itself.");
    }

    /// <inheritdoc cref="Run{T}(int, Func{T})"/>
    public static void Run(int cap, Action work) => Run(cap, () =>
    {
        work();
        return true;
    });

    /// <summary>Runs <paramref name="work"/> here, or again on a deep thread when the value nests deeper than an ordinary thread allows.</summary>
    public static T Run<T>(int cap, Func<T> work)
    {
        var outer = t_cap;
        t_cap = cap;
        try
        {
            return work();
        }
        catch (NeedsDeepStack)
        {
            return OnDeepThread(cap, work);
        }
        finally
        {
            t_cap = outer;
        }
    }

    private static T OnDeepThread<T>(int cap, Func<T> work)
    {
        T result = default!;
        System.Runtime.ExceptionServices.ExceptionDispatchInfo? failure = null;
        var stack = (int)Math.Min(int.MaxValue, Math.Max(MinimumStack, (long)cap * StackBytesPerLevel));
        var thread = new Thread(() =>
        {
            t_limit = cap;
            t_cap = cap;
            try
            {
                result = work();
            }
            catch (Exception e)
            {
                failure = System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e);
            }
        }, stack) { IsBackground = true, Name = "Tosc deep value" };
        thread.Start();
        thread.Join();
        failure?.Throw();
        return result;
    }

    /// <summary>
    /// The value is deeper than an ordinary thread allows: start over on a deep one. A ToscDataException, so the
    /// codecs' wrappers (which wrap anything else) let it through to <see cref="Run"/>.
    /// </summary>
    private sealed class NeedsDeepStack() : ToscDataException("The value nests deeper than an ordinary thread's stack holds.")
    {
    }
}
