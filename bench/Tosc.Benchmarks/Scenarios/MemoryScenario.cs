using System.Diagnostics;
using System.Runtime.CompilerServices;
using Tosc.Benchmarks.Harness;

namespace Tosc.Benchmarks.Scenarios;

/// <summary>
/// Scenario 7: bytes allocated per small commit (Tosc vs the backend's TryWrite of the same bytes), and the memory
/// that a large graph takes when loaded live in two managers, against two plain copies of it.
/// </summary>
internal sealed class MemoryScenario : IScenario
{
    public string Name => "memory";

    public string Title => "Memory: bytes allocated per small commit; heap and working set with a 10 MB graph loaded in two managers";

    public ScenarioResult Run(Bench bench)
    {
        var result = new ScenarioResult(Name, Title);
        var bigSize = bench.Pick(10_000_000, 1_000_000);
        var products = ProductsFor(bigSize);
        var plainBytes = PlainGraphBytes(products);
        foreach (var kind in bench.Backends)
        {
            var commits = kind is BackendKind.Blob or BackendKind.File ? bench.Pick(300, 30) : bench.Pick(2000, 100);
            var (toscThread, toscProcess, writeThread, writeProcess, payload) = CommitAllocations(bench, kind, commits);
            var (heap, workingSet, stored) = TwoManagers(bench, kind, products);
            result.Add(new Row()
                .Add("backend", Bench.Name(kind))
                .Add("payload_B", payload)
                .Add("trywrite_alloc_B", writeThread)
                .Add("tosc_commit_alloc_B", toscThread)
                .Add("tosc_per_trywrite", Measure.Ratio(toscThread, writeThread))
                .Add("trywrite_process_alloc_B", writeProcess)
                .Add("tosc_process_alloc_B", toscProcess)
                .Add("big_graph_stored_MB", stored / 1e6)
                .Add("plain_graph_MB", plainBytes / 1e6)
                .Add("two_managers_heap_MB", heap / 1e6)
                .Add("heap_per_2_plain", Measure.Ratio(heap, 2.0 * plainBytes))
                .Add("working_set_delta_MB", workingSet / 1e6));
        }
        bench.NoteSkipped(result);
        result.Notes.Add("*_alloc_B: bytes allocated per small commit on the committing thread (GC.GetAllocatedBytesForCurrentThread); *_process_alloc_B: by the whole process (watcher, client I/O threads) per commit.");
        result.Notes.Add($"Big graph: about {ScenarioResult.Bytes(bigSize)} encoded. plain_graph_MB: managed heap held by one plain copy (List/Dictionary/objects). two_managers_heap_MB: heap held after two managers (own backend instances) read it live, " +
            "including their encode buffers and the backend's copy of the stored bytes (in-process store, blob cache). heap_per_2_plain compares it with two plain copies.");
        result.Notes.Add("working_set_delta_MB is the process working set growth for the same step (noisy: the GC keeps freed memory for reuse).");
        return result;
    }

    private static (double ToscThread, double ToscProcess, double WriteThread, double WriteProcess, int Payload) CommitAllocations(Bench bench, BackendKind kind, int commits)
    {
        using var store = bench.Environment.NewStore(kind, "memory");
        using var manager = new Manager(store.Open());
        var doc = manager.ReadOrInitialize(() => new Doc());
        var value = 0L;
        var toscThread = Measure.AllocatedPerOp(commits, () => doc.Hits = ++value);
        var toscProcess = Measure.ProcessAllocatedPerOp(commits, () => doc.Hits = ++value);

        var payload = store.Open().Read()!.Data.ToArray();
        using var rawStore = bench.Environment.NewStore(kind, "memory-raw");
        var backend = rawStore.Open();
        long? version = null;
        void Write() => version = backend.TryWrite(payload, version, Guid.NewGuid()) ?? throw new InvalidOperationException("conflict");
        var writeThread = Measure.AllocatedPerOp(commits, Write);
        var writeProcess = Measure.ProcessAllocatedPerOp(commits, Write);
        return (toscThread, toscProcess, writeThread, writeProcess, payload.Length);
    }

    private static int ProductsFor(int bytes)
    {
        var empty = Graphs.Encode(Graphs.Build(0)).Length;
        var probe = Graphs.Encode(Graphs.Build(100)).Length;
        return (int)((bytes - empty) / ((probe - empty) / 100.0));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static long PlainGraphBytes(int products)
    {
        var before = Heap();
        var graph = Graphs.Build(products);
        var after = Heap();
        GC.KeepAlive(graph);
        return after - before;
    }

    private static (long Heap, long WorkingSet, long Stored) TwoManagers(Bench bench, BackendKind kind, int products)
    {
        using var store = bench.Environment.NewStore(kind, "memory-big");
        var heapBefore = Heap();
        var workingBefore = WorkingSet();
        var (a, b) = LoadTwo(store, products);
        var heap = Heap() - heapBefore;
        var working = WorkingSet() - workingBefore;
        var stored = store.Open().Read()!.Data.Length;
        GC.KeepAlive(a.Read());
        GC.KeepAlive(b.Read());
        a.Dispose();
        b.Dispose();
        return (heap, working, stored);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static (Manager A, Manager B) LoadTwo(Store store, int products)
    {
        var a = new Manager(store.Open());
        a.Write(Graphs.Build(products));
        a.Read<Doc>();
        var b = new Manager(store.Open());
        b.Read<Doc>();
        return (a, b);
    }

    private static long Heap()
    {
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    private static long WorkingSet()
    {
        using var process = Process.GetCurrentProcess();
        return process.WorkingSet64;
    }
}
