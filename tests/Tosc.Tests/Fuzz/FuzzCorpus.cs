using System.Text;

namespace Tosc.Tests.Fuzz;

/// <summary>Valid stores, written by a real manager, that the mutators start from.</summary>
internal static class FuzzCorpus
{
    private static readonly Lazy<IReadOnlyList<byte[]>> s_stores = new(Build);

    public static IReadOnlyList<byte[]> Stores => s_stores.Value;

    /// <summary>The options every fuzz manager uses: the subclass stored in a base-typed member is registered.</summary>
    public static ManagerOptions Options() => new() { WatchForChanges = false, KnownTypes = { typeof(FuzzDerived), typeof(FuzzColor), typeof(FuzzChild), typeof(FuzzPoint) } };

    /// <summary>The stored type names of the model, which the type-name mutator replaces.</summary>
    public static readonly string[] TypeNames =
    [
        "Tosc.Tests.Fuzz.FuzzRoot", "Tosc.Tests.Fuzz.FuzzChild", "Tosc.Tests.Fuzz.FuzzPoint", "Tosc.Tests.Fuzz.FuzzDerived",
        "Tosc.Tests.Fuzz.FuzzBase", "Tosc.Tests.Fuzz.FuzzColor",
    ];

    private static IReadOnlyList<byte[]> Build()
    {
        var stores = new List<byte[]>();
        for (var seed = 0; seed < 24; seed++)
            stores.Add(Write(Root(new Random(seed), seed)));
        // Untyped roots: every value carries its own type.
        stores.Add(Write(new List<object?> { 1, "two", 3.5, null, new List<object?> { true, (byte)7, 'c' }, new Dictionary<object, object?> { ["k"] = 1L << 40 } }));
        stores.Add(Write(new Dictionary<string, object?> { ["a"] = new FuzzChild { Label = "x" }, ["b"] = new HashSet<object?> { 1, 2 }, ["c"] = FuzzColor.Blue }));
        return stores;
    }

    private static byte[] Write(object value)
    {
        using var backend = new InprocBackend();
        using var manager = new Manager(backend, Options());
        manager.Write(value);
        return CanonicalIds(backend.Read()!.Data.ToArray());
    }

    /// <summary>Node ids are random; renumber them in order of appearance so a seed replays the same bytes.</summary>
    private static byte[] CanonicalIds(byte[] data)
    {
        var ids = new Dictionary<long, long>();
        for (var i = 0; i + 10 <= data.Length; i++)
        {
            if (data[i] != 0xd7 || data[i + 1] is < 1 or > 6)
                continue;
            var span = data.AsSpan(i + 2, 8);
            var id = System.Buffers.Binary.BinaryPrimitives.ReadInt64BigEndian(span);
            if (!ids.TryGetValue(id, out var canonical))
                ids.Add(id, canonical = 0x1000 + ids.Count);
            System.Buffers.Binary.BinaryPrimitives.WriteInt64BigEndian(span, canonical);
            i += 9;
        }
        return data;
    }

    private static FuzzRoot Root(Random random, int seed)
    {
        var size = 1 + (seed % 6) * 3;
        var children = Enumerable.Range(0, size).Select(i => new FuzzChild
        {
            Label = Text(random, i),
            Values = Enumerable.Range(0, random.Next(4)).Select(_ => random.Next(-1000, 1000)).ToList(),
        }).ToList();
        for (var i = 1; i < children.Count; i++)
        {
            if (random.Next(3) == 0)
                children[i].Next = children[random.Next(i)]; // shared: written as a reference
        }
        var root = new FuzzRoot
        {
            Name = seed % 5 == 0 ? null : Text(random, seed),
            Count = random.Next(),
            Big = random.NextInt64(long.MinValue, long.MaxValue),
            Unsigned = (ulong)random.NextInt64() * 2,
            Small = (short)random.Next(short.MinValue, short.MaxValue),
            Letter = (char)random.Next(32, 0x3000),
            Flag = random.Next(2) == 0,
            Ratio = random.NextDouble() * 1e6,
            Single = (float)random.NextDouble(),
            Price = new decimal(random.Next(), random.Next(), random.Next(), random.Next(2) == 0, (byte)random.Next(29)),
            When = new DateTime(random.NextInt64(DateTime.MinValue.Ticks, DateTime.MaxValue.Ticks), (DateTimeKind)random.Next(3)),
            At = new DateTimeOffset(2020, 1, 1, 0, 0, 0, TimeSpan.FromHours(random.Next(-12, 13))),
            Span = TimeSpan.FromTicks(random.NextInt64()),
            Id = new Guid(Bytes(random, 16)),
            Color = (FuzzColor)random.Next(3),
            MaybeColor = random.Next(2) == 0 ? null : FuzzColor.Green,
            MaybeCount = random.Next(2) == 0 ? null : random.Next(),
            Blob = random.Next(4) == 0 ? null : Bytes(random, random.Next(40)),
            LiveBytes = Bytes(random, random.Next(20)).ToList(),
            Children = children,
            ByName = children.Take(3).ToDictionary(c => c.Label + "#", c => c),
            Nested = Enumerable.Range(0, size % 4).ToDictionary(i => i * 7, i => (IList<string>)Enumerable.Range(0, i).Select(j => Text(random, j)).ToList()),
            Prices = Enumerable.Range(0, size % 3).ToDictionary(_ => new Guid(Bytes(random, 16)), _ => (decimal)random.NextDouble()),
            Tags = Enumerable.Range(0, size % 5).Select(i => "tag" + i).ToHashSet(),
            Numbers = Enumerable.Range(0, size % 4).Select(_ => random.NextInt64()).ToHashSet(),
            Point = random.Next(3) == 0 ? null : new FuzzPoint(random.Next(), random.Next(), random.Next(2) == 0 ? null : "p"),
            Points = random.Next(3) == 0 ? null : [new FuzzPoint(1, 2, "a"), new FuzzPoint(3, 4, null)],
            Ints = random.Next(3) == 0 ? null : Enumerable.Range(0, random.Next(6)).ToArray(),
            Poly = (seed % 3) switch { 0 => null, 1 => new FuzzBase(), _ => new FuzzDerived { Weight = random.NextDouble() } },
            Anything = (seed % 4) switch
            {
                0 => null,
                1 => Text(random, 3),
                2 => new List<object?> { 1, 2L << 40, (short)3, 4.5f, "five", FuzzColor.Red, new FuzzPoint(6, 7, null) },
                _ => new Dictionary<object, object?> { ["x"] = new Guid(Bytes(random, 16)), [5] = DateTime.UnixEpoch, ["when"] = TimeSpan.FromDays(1), ["m"] = 1.5m },
            },
            Mixed = [null, true, (sbyte)-3, (ushort)60000, uint.MaxValue, ulong.MaxValue, 'z', Bytes(random, 5), new List<object?> { "deep", new List<object?> { 1 } }],
        };
        root.Shared = children[random.Next(children.Count)]; // the same child twice in the graph
        return root;
    }

    private static string Text(Random random, int i)
    {
        var builder = new StringBuilder();
        var length = random.Next(0, i % 3 == 0 ? 40 : 8);
        for (var j = 0; j < length; j++)
            builder.Append((char)(random.Next(6) == 0 ? random.Next(0x80, 0x2000) : random.Next('a', 'z' + 1)));
        return builder.ToString();
    }

    private static byte[] Bytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }
}
