using System.Diagnostics;
using System.Text;
using Tosc.Serialization;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace Tosc.Tests.Fuzz;

/// <summary>How one input is decoded.</summary>
internal enum DecodePath
{
    /// <summary>The decoder itself, building live objects, without the manager's safety net: raw exceptions surface.</summary>
    RawLive,

    /// <summary>The decoder itself, building plain objects (the snapshot path), without the safety net.</summary>
    RawPlain,

    /// <summary>The public path: the bytes are written to an InprocBackend and a second manager refreshes from it, then snapshots.</summary>
    Manager,
}

internal sealed record FuzzCase(byte[] Data, Type Declared, DecodePath Path, string What);

/// <summary>
/// Decodes hostile inputs and classifies the outcome. Every case must end in success or <see cref="ToscDataException"/>
/// within a time cap and a memory cap; anything else fails the test with the seed, the case number and the bytes.
/// Exceptions of other types thrown inside the decoder are reported separately ("masked"): the manager's safety net
/// turns them into ToscDataException, so users are protected, but each one is a check the decoder is missing.
/// </summary>
internal sealed class FuzzHarness : IDisposable
{
    private const string SafetyNetPrefix = "The stored value cannot be decoded as";
    private readonly Manager _owner;
    private readonly InprocBackend _store = new();
    private readonly Dictionary<Type, Manager> _readers = [];

    public FuzzHarness()
    {
        _owner = new Manager(new InprocBackend(), FuzzCorpus.Options());
        foreach (var type in new[] { typeof(FuzzRoot), typeof(FuzzChild), typeof(IList<object?>), typeof(IDictionary<string, object?>) })
            _owner.Registry.Register(type);
    }

    public int Cases { get; private set; }

    public int Successes { get; private set; }

    public int Rejections { get; private set; }

    /// <summary>The last ToscDataException a case ended in.</summary>
    public ToscDataException? LastRejection { get; private set; }

    /// <summary>Non-Tosc exceptions inside the decoder, by type and throwing method, with the smallest input seen for each.</summary>
    public Dictionary<string, (int Count, FuzzCase Smallest, Exception Error)> Masked { get; } = new(StringComparer.Ordinal);

    public void Dispose()
    {
        _owner.Dispose();
        foreach (var reader in _readers.Values)
            reader.Dispose();
        _store.Dispose();
    }

    /// <summary>Runs <paramref name="count"/> generated cases on a worker thread watched by the calling thread.</summary>
    public void Run(ITestOutputHelper output, string name, int seed, int count, Func<Random, int, FuzzCase> generate, TimeSpan? caseCap = null)
    {
        // A hang detector, not a speed test: a 100,000-deep case decodes in about a second, but the suite runs beside every
        // other test project and their servers, and on a 2-core machine at a load of 40 one took over 30 s of wall time.
        var cap = caseCap ?? TimeSpan.FromSeconds(120);
        var random = new Random(seed);
        var currentIndex = -1;
        FuzzCase? current = null;
        long startedAt = 0;
        string? failure = null;
        var clock = Stopwatch.StartNew();
        var worker = new Thread(() =>
        {
            try
            {
                for (var i = 0; i < count && failure is null; i++)
                {
                    var fuzzCase = generate(random, i);
                    Volatile.Write(ref current, fuzzCase);
                    Volatile.Write(ref startedAt, Stopwatch.GetTimestamp());
                    Volatile.Write(ref currentIndex, i);
                    var allocated = GC.GetAllocatedBytesForCurrentThread();
                    var problem = Execute(fuzzCase);
                    allocated = GC.GetAllocatedBytesForCurrentThread() - allocated;
                    var allowed = (64L << 20) + (64L * fuzzCase.Data.Length);
                    if (problem is null && allocated > allowed)
                        problem = $"decoding a {fuzzCase.Data.Length}-byte input allocated {allocated >> 20} MB (cap {allowed >> 20} MB)";
                    if (problem is not null)
                        failure = Describe(name, seed, i, fuzzCase, problem);
                }
            }
            catch (Exception e)
            {
                failure = $"{name}: the generator failed at case {Volatile.Read(ref currentIndex)} (seed {seed}): {e}";
            }
            finally
            {
                Volatile.Write(ref currentIndex, int.MaxValue);
            }
        }, maxStackSize: 1 << 20)
        { IsBackground = true, Name = "fuzz " + name };
        worker.Start();
        while (!worker.Join(50))
        {
            var index = Volatile.Read(ref currentIndex);
            var elapsed = Stopwatch.GetElapsedTime(Volatile.Read(ref startedAt));
            if (index >= 0 && index != int.MaxValue && elapsed > cap && Volatile.Read(ref currentIndex) == index)
            {
                // A hang: the worker cannot be stopped, but the test reports the case that hangs.
                throw new XunitException(Describe(name, seed, index, Volatile.Read(ref current)!, $"still decoding after {elapsed.TotalSeconds:0.0} s (cap {cap.TotalSeconds:0} s)"));
            }
        }
        output.WriteLine($"{name}: {count} cases in {clock.Elapsed.TotalSeconds:0.0} s (seed {seed}; replay with TOSC_FUZZ_SEED={seed})");
        if (failure is not null)
            throw new XunitException(failure);
    }

    public void Report(ITestOutputHelper output)
    {
        output.WriteLine($"{Cases} cases: {Successes} decoded, {Rejections} rejected with ToscDataException.");
        foreach (var (key, (count, smallest, error)) in Masked.OrderByDescending(m => m.Value.Count))
        {
            output.WriteLine($"masked by the safety net ({count}x): {key}: {error.Message}");
            output.WriteLine($"  smallest input ({smallest.Data.Length} bytes, {TypeNames.Display(smallest.Declared)}, {smallest.What}): {Hex(smallest.Data, 512)}");
        }
    }

    /// <summary>Decodes one case; returns null when it ended well (success or ToscDataException), else what went wrong.</summary>
    public string? Execute(FuzzCase fuzzCase)
    {
        Cases++;
        try
        {
            switch (fuzzCase.Path)
            {
                case DecodePath.Manager:
                    DecodeThroughManager(fuzzCase);
                    break;
                default:
                    var context = new DecodeContext(_owner.Registry, fuzzCase.Path == DecodePath.RawLive ? _owner : null, live: fuzzCase.Path == DecodePath.RawLive);
                    DecodeRaw(fuzzCase.Data, fuzzCase.Declared, context);
                    break;
            }
            Successes++;
            return null;
        }
        catch (ToscDataException e)
        {
            Rejections++;
            LastRejection = e;
            if (fuzzCase.Path == DecodePath.Manager && e.Message.StartsWith(SafetyNetPrefix, StringComparison.Ordinal) && e.InnerException is { } inner and not ToscDataException)
                RecordMasked(fuzzCase, inner);
            return null;
        }
        catch (Exception e) when (fuzzCase.Path != DecodePath.Manager && e is not (OutOfMemoryException or OperationCanceledException or InsufficientExecutionStackException))
        {
            // The manager's Decode would wrap this one in a ToscDataException.
            Rejections++;
            RecordMasked(fuzzCase, e);
            return null;
        }
        catch (Exception e)
        {
            return $"{e.GetType().FullName} escaped: {e}";
        }
    }

    /// <summary>The same steps as Manager.Decode, minus its catch-all.</summary>
    public static object? DecodeRaw(ReadOnlyMemory<byte> data, Type declared, DecodeContext context)
    {
        var reader = new GraphReader(WireFormat.OpenValue(data), context);
        var value = Codecs.For(declared).ReadBoxed(ref reader);
        if (!reader.Msg.End)
            throw new ToscDataException($"{reader.Msg.Remaining} bytes after the end.");
        return value;
    }

    public static string Hex(byte[] data, int max) =>
        data.Length <= max ? Convert.ToHexStringLower(data) : Convert.ToHexStringLower(data.AsSpan(0, max)) + $"... ({data.Length} bytes)";

    private void DecodeThroughManager(FuzzCase fuzzCase)
    {
        if (!_readers.TryGetValue(fuzzCase.Declared, out var reader))
            _readers.Add(fuzzCase.Declared, reader = new Manager(_store, FuzzCorpus.Options()));
        _store.Write(fuzzCase.Data, Guid.NewGuid());
        if (fuzzCase.Declared == typeof(object))
        {
            reader.Refresh();
            reader.Snapshot();
        }
        else
        {
            Refresh(reader, fuzzCase.Declared);
        }
    }

    private static void Refresh(Manager reader, Type declared)
    {
        if (declared == typeof(FuzzRoot))
            RefreshTyped<FuzzRoot>(reader);
        else if (declared == typeof(FuzzChild))
            RefreshTyped<FuzzChild>(reader);
        else if (declared == typeof(IList<object?>))
            RefreshTyped<IList<object?>>(reader);
        else if (declared == typeof(IDictionary<string, object?>))
            RefreshTyped<IDictionary<string, object?>>(reader);
        else
            throw new InvalidOperationException($"No typed refresh for {declared}.");
    }

    /// <summary>Read&lt;T&gt; (the first time) or Refresh&lt;T&gt;, then Snapshot&lt;T&gt;: what an application calls.</summary>
    private static void RefreshTyped<T>(Manager reader)
    {
        if (reader.Version is null)
            reader.Read<T>();
        else
            reader.Refresh<T>();
        reader.Snapshot<T>();
    }

    private void RecordMasked(FuzzCase fuzzCase, Exception error)
    {
        var frame = new StackTrace(error).GetFrames().FirstOrDefault(f => f.GetMethod()?.DeclaringType?.Namespace?.StartsWith("Tosc", StringComparison.Ordinal) == true)?.GetMethod();
        var key = $"{error.GetType().Name} in {frame?.DeclaringType?.Name}.{frame?.Name}";
        if (!Masked.TryGetValue(key, out var seen))
            Masked[key] = (1, fuzzCase, error);
        else
            Masked[key] = (seen.Count + 1, fuzzCase.Data.Length < seen.Smallest.Data.Length ? fuzzCase : seen.Smallest, fuzzCase.Data.Length < seen.Smallest.Data.Length ? error : seen.Error);
    }

    private static string Describe(string name, int seed, int index, FuzzCase fuzzCase, string problem)
    {
        var text = new StringBuilder()
            .AppendLine($"{name}: case {index} (seed {seed}; replay with TOSC_FUZZ_SEED={seed}): {problem}")
            .AppendLine($"  declared {TypeNames.Display(fuzzCase.Declared)}, path {fuzzCase.Path}, input {fuzzCase.What}, {fuzzCase.Data.Length} bytes");
        if (fuzzCase.Data.Length <= 4096)
        {
            text.AppendLine("  hex: " + Convert.ToHexStringLower(fuzzCase.Data));
        }
        else
        {
            var path = Path.Combine(Path.GetTempPath(), $"tosc-fuzz-{name}-{seed}-{index}.bin");
            File.WriteAllBytes(path, fuzzCase.Data);
            text.AppendLine($"  hex (start): {Hex(fuzzCase.Data, 256)}; the whole input is in {path}");
        }
        return text.ToString();
    }
}
