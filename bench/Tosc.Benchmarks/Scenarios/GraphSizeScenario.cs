using System.Collections.Concurrent;
using System.Diagnostics;
using Tosc.Benchmarks.Harness;

namespace Tosc.Benchmarks.Scenarios;

/// <summary>
/// Scenario 4: commit time of a one-key change into graphs of 1 KB to 10 MB, the time until another manager
/// (on its own backend instance) shows it, and the backend's TryWrite of the same bytes; draws commit-vs-size.svg.
/// Backends with an operation log run twice: delta commits (the default) and whole-state commits (the previous release's way).
/// </summary>
internal sealed class GraphSizeScenario : IScenario
{
    public string Name => "graphsize";

    public string Title => "Graph size (1 KB .. 10 MB): commit time of a one-key change and time until another manager sees it";

    public ScenarioResult Run(Bench bench)
    {
        var result = new ScenarioResult(Name, Title);
        var sizes = bench.Pick(new[] { 1_000, 100_000, 1_000_000, 10_000_000 }, [1_000, 100_000, 1_000_000]);
        var graphs = sizes.ToDictionary(s => s, Graphs.OfSize);
        var chart = new List<(string, bool, IReadOnlyList<(double, double)>)>();
        foreach (var kind in bench.BackendsWithCluster)
        {
            bool[] modes = SupportsLog(bench, kind) ? [true, false] : [false];
            foreach (var delta in modes)
            {
                var tosc = new List<(double, double)>();
                var raw = new List<(double, double)>();
                double? smallest = null;
                foreach (var size in sizes)
                {
                    var iterations = bench.Quick ? (size >= 1_000_000 ? 2 : 4) : size switch { <= 1_000 => 40, <= 100_000 => 20, <= 1_000_000 => 8, _ => 4 };
                    var row = MeasureOne(bench, kind, ScenarioResult.Bytes(size), graphs[size], iterations, delta);
                    var commitMs = (double)row["tosc_commit_ms"]!;
                    smallest ??= commitMs;
                    row.Add("commit_vs_smallest_graph", Measure.Ratio(commitMs, smallest.Value));
                    result.Add(row);
                    tosc.Add(((double)(int)row["stored_B"]!, commitMs));
                    raw.Add(((double)(int)row["stored_B"]!, (double)row["trywrite_ms"]!));
                }
                chart.Add(($"{Bench.Name(kind)} Tosc {(delta ? "delta" : "whole-state")} commit", false, tosc));
                if (!delta)
                    chart.Add(($"{Bench.Name(kind)} TryWrite", true, raw));
            }
        }
        bench.NoteSkipped(result, ranOnCluster: true);
        result.Notes.Add("tosc_commit_ms: `doc.Counters[\"c0\"] = i` on the live graph, median; commit delta: one log record appended (ManagerOptions.DeltaCommits, the default where the backend keeps a log), whole: the whole graph encoded + TryWrite. trywrite_ms: the backend's TryWrite of bytes of the snapshot's size, median. commit_vs_smallest_graph: this commit time over the smallest graph's, same backend and mode.");
        result.Notes.Add("visible_ms: from the start of the commit until the Changed event of a second manager on its own backend instance (read + decode + in-place apply), median.");
        result.Notes.Add($"The blob backend polls every {Store.BlobPollInterval.TotalMilliseconds:0} ms in this harness (its default is 2 s), which bounds its visible_ms from below.");
        Directory.CreateDirectory(bench.ResultsDirectory);
        File.WriteAllText(Path.Combine(bench.ResultsDirectory, "commit-vs-size.svg"), Svg.LogLogChart(
            "Commit time of a one-key change vs graph size", "encoded graph size", "milliseconds per commit (median)", chart, x => ScenarioResult.Bytes((long)x)));
        result.Notes.Add("Plot: commit-vs-size.svg (solid: Tosc commit; dashed: the backend's TryWrite of the same bytes).");
        return result;
    }

    private static bool SupportsLog(Bench bench, BackendKind kind)
    {
        using var store = bench.Environment.NewStore(kind, "probe");
        return store.Open() is ToscBackend { SupportsLog: true };
    }

    private static Row MeasureOne(Bench bench, BackendKind kind, string target, Doc graph, int iterations, bool delta)
    {
        using var store = bench.Environment.NewStore(kind, "size");
        var options = new ManagerOptions { DeltaCommits = delta };
        using var writer = new Manager(store.Open(), options);
        writer.Write(graph);
        var doc = writer.Read<Doc>();
        using var reader = new Manager(store.Open(), options);
        reader.Read<Doc>();
        var seen = new ConcurrentDictionary<long, long>();
        using var signal = new SemaphoreSlim(0);
        reader.Changed += (_, e) =>
        {
            if (e.NewVersion is { } version)
                seen[version] = Stopwatch.GetTimestamp();
            signal.Release();
        };
        var commits = new List<double>();
        var visible = new List<double>();
        for (var i = 0; i < iterations; i++)
        {
            var start = Stopwatch.GetTimestamp();
            doc.Counters["c0"] = i + 1000;
            commits.Add(Measure.MillisSince(start));
            var version = writer.Version!.Value;
            var deadline = Stopwatch.StartNew();
            while (!seen.ContainsKey(version) && deadline.Elapsed < TimeSpan.FromSeconds(30))
                signal.Wait(TimeSpan.FromMilliseconds(50));
            visible.Add(seen.TryGetValue(version, out var at) ? Measure.MillisBetween(start, at) : double.NaN);
        }

        var stored = store.Open().Read()!.Data;
        using var rawStore = bench.Environment.NewStore(kind, "size-raw");
        var backend = rawStore.Open();
        long? rawVersion = backend.TryWrite(stored, null, Guid.NewGuid());
        var writes = new List<double>();
        for (var i = 0; i < iterations; i++)
        {
            var start = Stopwatch.GetTimestamp();
            rawVersion = backend.TryWrite(stored, rawVersion, Guid.NewGuid()) ?? throw new InvalidOperationException("conflict");
            writes.Add(Measure.MillisSince(start));
        }

        var commitMs = Measure.Median(commits);
        var writeMs = Measure.Median(writes);
        return new Row()
            .Add("backend", Bench.Name(kind))
            .Add("commit", delta ? "delta" : "whole")
            .Add("graph", target)
            .Add("stored_B", stored.Length)
            .Add("iterations", iterations)
            .Add("trywrite_ms", writeMs)
            .Add("tosc_commit_ms", commitMs)
            .Add("tosc_per_trywrite", Measure.Ratio(commitMs, writeMs))
            .Add("visible_ms", Measure.Median(visible.Where(v => !double.IsNaN(v)).ToList()))
            .Add("not_seen", visible.Count(double.IsNaN));
    }
}
