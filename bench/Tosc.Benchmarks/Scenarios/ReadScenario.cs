using System.Diagnostics;
using Tosc.Benchmarks.Harness;

namespace Tosc.Benchmarks.Scenarios;

/// <summary>
/// Scenario 8: reads of live objects next to the same reads of plain .NET objects, in one run: a property read in a
/// loop, a foreach over a list reading one property of each item, indexed reads, and the memory a live graph takes per
/// item (issue 16's targets: reads and enumeration <= 3x plain, memory <= 2x).
/// </summary>
internal sealed class ReadScenario : IScenario
{
    public string Name => "reads";

    public string Title => "Reads: property reads, enumeration and indexed reads of live objects vs plain ones; memory per item";

    public ScenarioResult Run(Bench bench)
    {
        var result = new ScenarioResult(Name, Title);
        var items = bench.Pick(100_000, 10_000);
        var rounds = bench.Pick(15, 3);
        using var store = new InprocBackend();
        using var manager = new Manager(store, new ManagerOptions { WatchForChanges = false });
        var plain = Build(items);
        var (live, liveBytes, plainBytes) = Measured(manager, items);
        var storeBytes = store.Read()!.Data.Length;
        var one = live[0];
        var plainOne = plain[0];

        Add(result, "property read x1,000,000", rounds, () => SumProperty<PlainSite>(plainOne), () => SumProperty<LiveSite>(one));
        Add(result, $"foreach over {items:N0} items, one property each", rounds, () => SumAll<PlainSite>(plain), () => SumAll<LiveSite>(live));
        Add(result, $"indexed reads of {items:N0} items, one property each", rounds, () => SumIndexed<PlainSite>(plain), () => SumIndexed<LiveSite>(live));
        result.Add(new Row()
            .Add("read", "memory per item (bytes)")
            .Add("plain", plainBytes / (double)items)
            .Add("live", (liveBytes - storeBytes) / (double)items)
            .Add("live_per_plain", Measure.Ratio(liveBytes - storeBytes, plainBytes)));
        result.Add(new Row()
            .Add("read", "memory per item with the in-process store's bytes (bytes)")
            .Add("plain", plainBytes / (double)items)
            .Add("live", liveBytes / (double)items)
            .Add("live_per_plain", Measure.Ratio(liveBytes, plainBytes)));
        result.Notes.Add("Times are ms per pass, median of interleaved rounds; live_per_plain is a time ratio (> 1: live slower). Reads outside transactions; the live list is a DList of proxies of `Product` read from an in-process store.");
        result.Notes.Add($"Each pass is first called {WarmUpCalls} times, so the JIT has optimized it (tier 1) as it would a hot loop of an app, and plain and live passes are separate copies of the same loop, so each call site is profiled on its own list type as in an app (one shared loop gets a mixed profile that favours whichever type it saw first).");
        result.Notes.Add("Memory: managed heap growth after full collections, per item: plain = a List<Product>; live = the manager holding the live graph, without the stored bytes (which a Redis, file or Blob store keeps outside the process); the second row adds the in-process store's copy of them.");
        return result;
    }

    // .NET optimizes a method fully (tier 1, with its call sites' profile) after 30 calls; timed before that, a pass
    // measures the unoptimized code both kinds of list run through.
    private const int WarmUpCalls = 40;

    private static void Add(ScenarioResult result, string read, int rounds, Func<double> plain, Func<double> live)
    {
        for (var i = 0; i < WarmUpCalls; i++)
        {
            plain();
            live();
        }
        var (plainTimes, liveTimes) = (new List<double>(), new List<double>());
        for (var i = 0; i < rounds; i++)
        {
            plainTimes.Add(Time(plain));
            liveTimes.Add(Time(live));
        }
        var (p, l) = (Measure.Median(plainTimes), Measure.Median(liveTimes));
        result.Add(new Row().Add("read", read).Add("plain", p).Add("live", l).Add("live_per_plain", Measure.Ratio(l, p)));
    }

    private static double Time(Func<double> pass)
    {
        var start = Stopwatch.GetTimestamp();
        GC.KeepAlive(pass());
        return Measure.MillisSince(start);
    }

    // The loops below take a site type so that plain and live passes are separate methods (one per value-type
    // instantiation): each call site then sees one list type, as a loop of an app does.
    private struct PlainSite;

    private struct LiveSite;

    private static double SumProperty<TSite>(Product product) where TSite : struct
    {
        var sum = 0.0;
        for (var i = 0; i < 1_000_000; i++)
            sum += product.Price;
        return sum;
    }

    private static double SumAll<TSite>(IList<Product> products) where TSite : struct
    {
        var sum = 0.0;
        foreach (var product in products)
            sum += product.Price;
        return sum;
    }

    private static double SumIndexed<TSite>(IList<Product> products) where TSite : struct
    {
        var sum = 0.0;
        for (var i = 0; i < products.Count; i++)
            sum += products[i].Price;
        return sum;
    }

    private static List<Product> Build(int items) =>
        [.. Enumerable.Range(0, items).Select(i => new Product { Sku = $"sku-{i}", Title = "item", Price = i, Stock = i % 7 })];

    /// <summary>The live list and the heap bytes of the plain graph and of the live one (with the manager's buffers).</summary>
    private static (IList<Product> Live, long LiveBytes, long PlainBytes) Measured(Manager manager, int items)
    {
        var baseline = Heap();
        var plainBytes = Heap(Build(items)) - baseline;
        WriteCatalog(manager, items);
        var live = manager.Read<Catalog>().Products;
        var liveBytes = Heap() - baseline;
        return (live, liveBytes, plainBytes);
    }

    // A method of its own, so no stack slot of the measuring method keeps the plain graph that was written alive.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static void WriteCatalog(Manager manager, int items) => manager.Write(new Catalog { Products = Build(items) });

    private static long Heap(object alive)
    {
        var bytes = Heap();
        GC.KeepAlive(alive);
        return bytes;
    }

    private static long Heap()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return GC.GetTotalMemory(forceFullCollection: true);
    }
}
