using System.Buffers;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Loggers;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Perfolizer.Horology;
using Tosc.Benchmarks.Harness;
using Tosc.Serialization;

namespace Tosc.Benchmarks.Scenarios;

/// <summary>
/// Scenario 1: Tosc's codec against System.Text.Json on the same plain graph (about 10 KB and 1 MB), with
/// BenchmarkDotNet in a full run and a short interleaved Stopwatch loop in a quick one.
/// </summary>
internal sealed class CodecScenario : IScenario
{
    public static readonly string[] Sizes = ["10KB", "1MB"];

    public string Name => "codec";

    public string Title => "Encode/decode of a representative graph (10 KB, 1 MB): Tosc codec vs System.Text.Json (BenchmarkDotNet)";

    public ScenarioResult Run(Bench bench)
    {
        var result = new ScenarioResult(Name, Title);
        var all = Sizes.ToDictionary(s => s, s => new CodecCases(s));
        try
        {
            Report(result, all, bench.Quick ? MeasureQuickly(all) : MeasureWithBenchmarkDotNet(bench));
        }
        finally
        {
            foreach (var cases in all.Values)
                cases.Dispose();
        }
        result.Notes.Add("tosc_per_json is time per operation, Tosc / System.Text.Json, on the same graph (> 1: Tosc slower). MB/s counts each format's own bytes.");
        result.Notes.Add("Both encoders reuse their output buffer (Tosc's EncodeContext with its ArrayBufferWriter, as the Manager does; System.Text.Json through a reused Utf8JsonWriter).");
        result.Notes.Add("Live decode builds DList/DDict and live subclasses owned by a manager (what Read does); plain decode builds List/Dictionary and plain instances (what Snapshot does).");
        result.Notes.Add(bench.Quick
            ? "Quick mode: interleaved Stopwatch loops and GC.GetAllocatedBytesForCurrentThread instead of BenchmarkDotNet."
            : "BenchmarkDotNet 0.14 in-process (InProcessEmitToolchain), MemoryDiagnoser; mean time per operation.");
        return result;
    }

    private static void Report(ScenarioResult result, Dictionary<string, CodecCases> all, Dictionary<(string Size, string Method), (double Micros, double Allocated)> measured)
    {
        foreach (var (size, cases) in all)
        {
            foreach (var (operation, tosc, json) in new[]
            {
                ("encode", "ToscEncode", "JsonEncode"),
                ("decode to plain objects", "ToscDecodePlain", "JsonDecode"),
                ("decode to live objects", "ToscDecodeLive", "JsonDecode"),
            })
            {
                var t = measured[(size, tosc)];
                var j = measured[(size, json)];
                result.Add(new Row()
                    .Add("graph", size)
                    .Add("operation", operation)
                    .Add("tosc_bytes", cases.ToscBytes.Length)
                    .Add("json_bytes", cases.JsonBytes.Length)
                    .Add("tosc_us", t.Micros)
                    .Add("json_us", j.Micros)
                    .Add("tosc_per_json", Measure.Ratio(t.Micros, j.Micros))
                    .Add("tosc_MB_per_s", cases.ToscBytes.Length / t.Micros)
                    .Add("json_MB_per_s", cases.JsonBytes.Length / j.Micros)
                    .Add("tosc_alloc_B", t.Allocated)
                    .Add("json_alloc_B", j.Allocated)
                    .Add("alloc_ratio", Measure.Ratio(t.Allocated, j.Allocated)));
            }
        }
    }

    private static Dictionary<(string Size, string Method), (double Micros, double Allocated)> MeasureQuickly(Dictionary<string, CodecCases> all)
    {
        var measured = new Dictionary<(string, string), (double, double)>();
        foreach (var (size, cases) in all)
        {
            var methods = cases.Methods();
            var times = Measure.Interleaved(2, TimeSpan.FromMilliseconds(size == "1MB" ? 150 : 60), methods);
            foreach (var (name, op) in methods)
                measured[(size, name)] = (times[name], Measure.AllocatedPerOp(size == "1MB" ? 2 : 50, op));
        }
        return measured;
    }

    private static Dictionary<(string Size, string Method), (double Micros, double Allocated)> MeasureWithBenchmarkDotNet(Bench bench)
    {
        var job = Job.Default
            .WithToolchain(InProcessEmitToolchain.Instance)
            .WithWarmupCount(3)
            .WithIterationCount(10)
            .WithIterationTime(TimeInterval.FromMilliseconds(250));
        var config = ManualConfig.CreateEmpty()
            .AddJob(job)
            .AddDiagnoser(MemoryDiagnoser.Default)
            .AddColumnProvider(DefaultColumnProviders.Instance)
            .AddLogger(ConsoleLogger.Default)
            .WithArtifactsPath(Path.Combine(bench.Environment.WorkDirectory, "BenchmarkDotNet"))
            .WithOptions(ConfigOptions.DisableLogFile);
        var summary = BenchmarkRunner.Run<CodecBenchmarks>(config);
        var measured = new Dictionary<(string, string), (double, double)>();
        foreach (var report in summary.Reports)
        {
            var size = (string)report.BenchmarkCase.Parameters["Size"];
            var method = report.BenchmarkCase.Descriptor.WorkloadMethod.Name;
            var micros = (report.ResultStatistics?.Mean ?? double.NaN) / 1000;
            var allocated = report.GcStats.GetBytesAllocatedPerOperation(report.BenchmarkCase) is { } bytes ? (double)bytes : double.NaN;
            measured[(size, method)] = (micros, allocated);
        }
        return measured;
    }
}

/// <summary>The five operations of the codec scenario on one graph, shared by BenchmarkDotNet and the quick loop.</summary>
internal sealed class CodecCases : IDisposable
{
    private readonly Doc _graph;
    private readonly EncodeContext _writer = Graphs.NewWriter();
    private readonly TypeRegistry _registry = Graphs.Registry();
    private readonly InprocBackend _backend = new();
    private readonly Manager _owner;
    private readonly ArrayBufferWriter<byte> _jsonBuffer = new(1 << 16);
    private readonly Utf8JsonWriter _json;

    public CodecCases(string size)
    {
        _graph = Graphs.OfSize(size == "1MB" ? 1_000_000 : 10_000);
        ToscBytes = Graphs.Encode(_graph);
        JsonBytes = JsonSerializer.SerializeToUtf8Bytes(_graph, Graphs.Json);
        _json = new Utf8JsonWriter(_jsonBuffer);
        _owner = new Manager(_backend, new ManagerOptions { WatchForChanges = false });
    }

    public byte[] ToscBytes { get; }

    public byte[] JsonBytes { get; }

    public int ToscEncode() => Graphs.Encode(_writer, _graph).Length;

    public Doc ToscDecodePlain() => Graphs.Decode(ToscBytes, _registry, owner: null);

    public Doc ToscDecodeLive() => Graphs.Decode(ToscBytes, _registry, _owner);

    public int JsonEncode()
    {
        _jsonBuffer.ResetWrittenCount();
        _json.Reset(_jsonBuffer);
        JsonSerializer.Serialize(_json, _graph, Graphs.Json);
        _json.Flush();
        return _jsonBuffer.WrittenCount;
    }

    public Doc JsonDecode() => JsonSerializer.Deserialize<Doc>(JsonBytes, Graphs.Json)!;

    public (string Name, Action Op)[] Methods() =>
    [
        ("ToscEncode", () => ToscEncode()),
        ("JsonEncode", () => JsonEncode()),
        ("ToscDecodePlain", () => ToscDecodePlain()),
        ("ToscDecodeLive", () => ToscDecodeLive()),
        ("JsonDecode", () => JsonDecode()),
    ];

    public void Dispose()
    {
        _owner.Dispose();
        _backend.Dispose();
        _json.Dispose();
    }
}

/// <summary>The BenchmarkDotNet face of <see cref="CodecCases"/> (public, as BenchmarkDotNet requires).</summary>
public class CodecBenchmarks
{
    private CodecCases? _cases;

    [Params("10KB", "1MB")]
    public string Size { get; set; } = "10KB";

    [GlobalSetup]
    public void Setup() => _cases = new CodecCases(Size);

    [GlobalCleanup]
    public void Cleanup() => _cases?.Dispose();

    [Benchmark]
    public int ToscEncode() => _cases!.ToscEncode();

    [Benchmark]
    public int JsonEncode() => _cases!.JsonEncode();

    [Benchmark]
    public object ToscDecodePlain() => _cases!.ToscDecodePlain();

    [Benchmark]
    public object ToscDecodeLive() => _cases!.ToscDecodeLive();

    [Benchmark]
    public object JsonDecode() => _cases!.JsonDecode();
}
