using Xunit;
using Xunit.Abstractions;

namespace Tosc.Tests.Fuzz;

/// <summary>
/// A seeded fuzzer over the decoder (issue 7): 100,000 hostile inputs, each of which must end in success or
/// <see cref="ToscDataException"/> within a time cap and without large allocations. The seed is random per run and
/// printed (set TOSC_FUZZ_SEED to replay one); a failure prints the seed, the case number and the bytes.
/// </summary>
public sealed class DecoderFuzzTests(ITestOutputHelper output) : IDisposable
{
    private readonly FuzzHarness _harness = new();

    /// <summary>TOSC_FUZZ_SCALE multiplies every case count, for longer campaigns than the suite's 100,000 cases.</summary>
    private static int Scale => Environment.GetEnvironmentVariable("TOSC_FUZZ_SCALE") is { Length: > 0 } scale
        ? int.Parse(scale, System.Globalization.CultureInfo.InvariantCulture)
        : 1;

    private static int Seed => Environment.GetEnvironmentVariable("TOSC_FUZZ_SEED") is { Length: > 0 } fixedSeed
        ? int.Parse(fixedSeed, System.Globalization.CultureInfo.InvariantCulture)
        : Random.Shared.Next();

    public void Dispose()
    {
        _harness.Report(output);
        _harness.Dispose();
    }

    [Fact]
    public void RandomBytes_EndInSuccessOrToscDataException() =>
        _harness.Run(output, nameof(RandomBytes_EndInSuccessOrToscDataException), Seed, 10_000 * Scale, (random, i) =>
            Case(random, Mutators.RandomBytes(random, withHeader: i % 4 != 0), Declared(random, random.Next(FuzzCorpus.Stores.Count)), "random bytes"));

    [Fact]
    public void BitFlipsAndByteChanges_OfValidStores_EndInSuccessOrToscDataException() =>
        _harness.Run(output, nameof(BitFlipsAndByteChanges_OfValidStores_EndInSuccessOrToscDataException), Seed, 30_000 * Scale, (random, i) =>
        {
            var (store, declared) = Pick(random);
            return i % 3 == 0
                ? Case(random, Mutators.SetByte(random, store), declared, "a byte set to a type code")
                : Case(random, Mutators.FlipBits(random, store), declared, "bit flips");
        });

    [Fact]
    public void InsertionsAndDeletions_InValidStores_EndInSuccessOrToscDataException() =>
        _harness.Run(output, nameof(InsertionsAndDeletions_InValidStores_EndInSuccessOrToscDataException), Seed, 20_000 * Scale, (random, i) =>
        {
            var (store, declared) = Pick(random);
            return i % 2 == 0
                ? Case(random, Mutators.Insert(random, store), declared, "inserted bytes")
                : Case(random, Mutators.Delete(random, store), declared, "deleted bytes");
        });

    [Fact]
    public void Truncations_OfValidStores_EndInToscDataException()
    {
        // Every prefix of the first stores, then random prefixes of the others.
        var exhaustive = FuzzCorpus.Stores.Take(3).SelectMany(s => Enumerable.Range(0, s.Length).Select(length => s[..length])).ToList();
        _harness.Run(output, nameof(Truncations_OfValidStores_EndInToscDataException), Seed, 10_000 * Scale, (random, i) =>
        {
            if (i < exhaustive.Count)
                return new FuzzCase(exhaustive[i], typeof(FuzzRoot), i % 2 == 0 ? DecodePath.RawLive : DecodePath.RawPlain, "a prefix");
            var (store, declared) = Pick(random);
            return Case(random, Mutators.Truncate(random, store), declared, "a random prefix");
        });
    }

    [Fact]
    public void Splices_OfValidStores_EndInSuccessOrToscDataException() =>
        _harness.Run(output, nameof(Splices_OfValidStores_EndInSuccessOrToscDataException), Seed, 10_000 * Scale, (random, _) =>
        {
            var (store, declared) = Pick(random);
            var donor = random.Next(2) == 0 ? store : FuzzCorpus.Stores[random.Next(FuzzCorpus.Stores.Count)];
            return Case(random, Mutators.Splice(random, store, donor), declared, "a spliced run of bytes");
        });

    [Fact]
    public void HugeDeclaredLengths_EndInToscDataExceptionWithoutAllocatingThem() =>
        _harness.Run(output, nameof(HugeDeclaredLengths_EndInToscDataExceptionWithoutAllocatingThem), Seed, 5_000 * Scale, (random, _) =>
        {
            var (store, declared) = Pick(random);
            return Case(random, Mutators.HugeLength(random, store), declared, "a huge declared length");
        });

    [Fact]
    public void UnknownAndHostileTypeNames_EndInSuccessOrToscDataException() =>
        _harness.Run(output, nameof(UnknownAndHostileTypeNames_EndInSuccessOrToscDataException), Seed, 5_000 * Scale, (random, _) =>
        {
            var (store, declared) = Pick(random);
            return Case(random, Mutators.TypeName(random, store), declared, "a replaced type name");
        });

    [Fact]
    public void MixedMutations_ThroughTheManager_EndInSuccessOrToscDataException() =>
        _harness.Run(output, nameof(MixedMutations_ThroughTheManager_EndInSuccessOrToscDataException), Seed, 10_000 * Scale, (random, _) =>
        {
            var (store, declared) = Pick(random);
            var (data, what) = random.Next(7) switch
            {
                0 => (Mutators.FlipBits(random, store), "bit flips"),
                1 => (Mutators.SetByte(random, store), "a byte set to a type code"),
                2 => (Mutators.Insert(random, store), "inserted bytes"),
                3 => (Mutators.Delete(random, store), "deleted bytes"),
                4 => (Mutators.Splice(random, store, FuzzCorpus.Stores[random.Next(FuzzCorpus.Stores.Count)]), "a spliced run"),
                5 => (Mutators.TypeName(random, store), "a replaced type name"),
                _ => (Mutators.HugeLength(random, store), "a huge declared length"),
            };
            return new FuzzCase(data, declared, DecodePath.Manager, what);
        });

    [Fact]
    public void DeepNesting_OfEveryKind_EndsInToscDataExceptionWithoutExhaustingTheStack()
    {
        int[] depths = [100_000, 10_000, 513, 512, 511, 64];
        var cases = NestingInputs.Shapes.SelectMany(shape => depths.Select(depth => (shape, depth))).ToList();
        var paths = new[] { DecodePath.RawLive, DecodePath.RawPlain, DecodePath.Manager };
        _harness.Run(output, nameof(DeepNesting_OfEveryKind_EndsInToscDataExceptionWithoutExhaustingTheStack), 0, cases.Count * paths.Length, (_, i) =>
        {
            var (shape, depth) = cases[i / paths.Length];
            var (data, declared) = NestingInputs.Build(shape, depth);
            var path = paths[i % paths.Length];
            if (path == DecodePath.Manager && declared == typeof(object))
                declared = shape is "dicts" or "dict-keys" ? typeof(IDictionary<string, object?>) : typeof(IList<object?>);
            return new FuzzCase(data, declared, path, $"{shape} nested {depth} deep");
        });
    }

    [Fact]
    public void ValidStores_DecodeOnEveryPath()
    {
        // The control: the unmutated corpus decodes, so the cases above start from real stores.
        foreach (var store in FuzzCorpus.Stores.Select((data, i) => (data, i)))
        {
            var declared = RootType(store.i);
            foreach (var path in new[] { DecodePath.RawLive, DecodePath.RawPlain, DecodePath.Manager })
            {
                var fuzzCase = new FuzzCase(store.data, declared, path, "a valid store");
                var before = _harness.Successes;
                Assert.Null(_harness.Execute(fuzzCase));
                Assert.True(_harness.Successes == before + 1, $"store {store.i} ({TypeNames(declared)}) on the {path} path: {_harness.LastRejection}");
            }
        }
        Assert.Equal(FuzzCorpus.Stores.Count * 3, _harness.Successes);
    }

    private static string TypeNames(Type type) => Tosc.Serialization.TypeNames.Display(type);

    private static (byte[] Store, Type Declared) Pick(Random random)
    {
        var index = random.Next(FuzzCorpus.Stores.Count);
        return (FuzzCorpus.Stores[index], Declared(random, index));
    }

    /// <summary>The type a store is read as: its own root type, or now and then object (every value then names its type).</summary>
    private static Type Declared(Random random, int storeIndex)
    {
        return random.Next(100) < 15 ? typeof(object) : RootType(storeIndex);
    }

    private static Type RootType(int storeIndex)
    {
        return (FuzzCorpus.Stores.Count - storeIndex) switch
        {
            2 => typeof(IList<object?>),
            1 => typeof(IDictionary<string, object?>),
            _ => typeof(FuzzRoot),
        };
    }

    private static FuzzCase Case(Random random, byte[] data, Type declared, string what)
    {
        var roll = random.Next(100);
        var path = roll < 10 && declared != typeof(object) ? DecodePath.Manager : roll < 55 ? DecodePath.RawLive : DecodePath.RawPlain;
        return new FuzzCase(data, declared, path, what);
    }
}
